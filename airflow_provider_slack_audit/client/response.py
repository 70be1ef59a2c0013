"""The answer to one API call, shaped like slack_sdk's ``AuditLogsResponse``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from requests.structures import CaseInsensitiveDict

from airflow_provider_slack_audit.client.errors import error_for_response
from airflow_provider_slack_audit.client.jsonio import loads
from airflow_provider_slack_audit.client.models import LogsResponse


def decode_body(raw_body: str | None) -> dict[str, Any] | None:
    """The JSON object in ``raw_body``, or None when it is empty, cut short, not JSON or not an object."""
    if not raw_body:
        return None
    try:
        value = loads(raw_body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class AuditLogsResponse:
    """One answer of the Audit Logs API.

    Attributes:
        url: the URL that was called (never holds the token).
        status_code: the HTTP status.
        headers: the response headers, case-insensitive (``headers["retry-after"]`` works).
        raw_body: the body as text.
        body: the body decoded as a JSON object, or None if it is not one (cut short, HTML, empty).
        typed_body: a typed view of ``body`` (see :mod:`.models`), or None when ``body`` is None.
    """

    def __init__(
        self,
        *,
        url: str,
        status_code: int,
        raw_body: str | None,
        headers: Mapping[str, Any],
        method: str = "GET",
    ) -> None:
        self.url = url
        self.status_code = status_code
        self.headers: CaseInsensitiveDict[Any] = CaseInsensitiveDict(headers)
        self.raw_body = raw_body
        self.body = decode_body(raw_body)
        self.method = method

    @property
    def typed_body(self) -> LogsResponse | None:
        """The body as :class:`LogsResponse`; never raises, keeps unknown fields."""
        return LogsResponse(self.body) if self.body is not None else None

    @property
    def path(self) -> str:
        """The path of :attr:`url`, without the query."""
        return urlsplit(self.url).path

    @property
    def ok(self) -> bool:
        """True for a 2xx answer whose body is a JSON object without ``"ok": false``."""
        return error_for_response(self) is None

    def validate(self) -> AuditLogsResponse:
        """Return self if the answer is good, else raise the matching ``SlackAuditLogsError`` subclass."""
        error = error_for_response(self)
        if error is not None:
            raise error
        return self

    def __repr__(self) -> str:
        return f"<AuditLogsResponse {self.method} {self.path} status_code={self.status_code}>"
