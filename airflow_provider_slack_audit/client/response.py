"""The answer to one API call, shaped like slack_sdk's ``AuditLogsResponse``."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from typing import Any
from urllib.parse import urlsplit

from requests.structures import CaseInsensitiveDict

from airflow_provider_slack_audit.client.errors import error_for_response
from airflow_provider_slack_audit.client.jsonio import loads
from airflow_provider_slack_audit.client.models import LogsResponse
from airflow_provider_slack_audit.client.raw_page import RawPage, RawPageError, read_raw_page


def decode_body(raw_body: str | None) -> dict[str, Any] | None:
    """The JSON object in ``raw_body``, or None when it is empty, cut short, not JSON or not an object."""
    if not raw_body:
        return None
    try:
        value = loads(raw_body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


_UNREAD: Any = object()


class AuditLogsResponse:
    """One answer of the Audit Logs API.

    Attributes:
        url: the URL that was called (never holds the token).
        status_code: the HTTP status.
        headers: the response headers, case-insensitive (``headers["retry-after"]`` works).
        raw_body: the body as text.
        body: the body decoded as a JSON object, or None if it is not one (cut short, HTML, empty).
        typed_body: a typed view of ``body`` (see :mod:`.models`), or None when ``body`` is None.
        raw_page: for an answer asked for with ``raw_entries=True``: the page read entry by entry
            (each entry's bytes as Slack sent them, see :mod:`.raw_page`) when it is a good 2xx page;
            ``body`` is then decoded only if someone reads it. None otherwise.
    """

    def __init__(
        self,
        *,
        url: str,
        status_code: int,
        raw_body: str | bytes | None,
        headers: Mapping[str, Any],
        method: str = "GET",
        raw_entries: bool = False,
    ) -> None:
        self.url = url
        self.status_code = status_code
        self.headers: CaseInsensitiveDict[Any] = CaseInsensitiveDict(headers)
        self.method = method
        self._text = raw_body  # bytes are decoded to text when first read
        self.raw_page: RawPage | None = None
        if raw_entries and raw_body and 200 <= status_code < 300:
            # Not a good page (RawPageError): decoded as a whole below, so the usual checks say what it is.
            with suppress(RawPageError):
                self.raw_page = read_raw_page(raw_body)
        self._body = _UNREAD if self.raw_page is not None else decode_body(self.raw_body)

    @property
    def raw_body(self) -> str | None:
        """The body as text."""
        if isinstance(self._text, bytes):
            self._text = self._text.decode("utf-8", errors="replace")
        return self._text

    @property
    def body(self) -> dict[str, Any] | None:
        """The body decoded as a JSON object, or None if it is not one."""
        if self._body is _UNREAD:
            self._body = decode_body(self.raw_body)
        return self._body

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
