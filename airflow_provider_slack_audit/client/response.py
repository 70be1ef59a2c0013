"""The answer to one API call, shaped like slack_sdk's ``AuditLogsResponse``, and the error it stands for."""

from __future__ import annotations

import mmap
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_slack_audit.client.entry_rules import UnreadableEntryError, describe, offset_of
from airflow_provider_slack_audit.client.errors import (
    ACCESS_NEEDED,
    AUTH_ERRORS,
    AUTH_HINTS,
    BAD_REQUEST_ERRORS,
    BAD_REQUEST_HINTS,
    RATE_LIMIT_ERRORS,
    SlackAuditLogsAuthError,
    SlackAuditLogsBadRequestError,
    SlackAuditLogsEntryError,
    SlackAuditLogsError,
    SlackAuditLogsRateLimitError,
    SlackAuditLogsServerError,
)
from airflow_provider_slack_audit.client.jsonio import loads
from airflow_provider_slack_audit.client.models import LogsResponse
from airflow_provider_slack_audit.client.page_spans import split_page
from airflow_provider_slack_audit.client.raw_page import RawPage, RawPageError, read_raw_page


class Headers(MutableMapping[str, Any]):
    """Response headers looked up without regard to case (``headers["retry-after"]`` works)."""

    def __init__(self, headers: Mapping[str, Any] | None = None) -> None:
        self._items: dict[str, tuple[str, Any]] = {}
        for key, value in (headers or {}).items():
            self[key] = value

    def __getitem__(self, key: str) -> Any:
        return self._items[key.lower()][1]

    def __setitem__(self, key: str, value: Any) -> None:
        self._items[key.lower()] = (key, value)

    def __delitem__(self, key: str) -> None:
        del self._items[key.lower()]

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return repr(dict(self.items()))


def decode_body(raw_body: str | None) -> dict[str, Any] | None:
    """The JSON object in ``raw_body``, or None when it is empty, cut short, not JSON or not an object."""
    if not raw_body:
        return None
    try:
        value = loads(raw_body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than a parser can follow
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
        raw_page: for an answer asked for with ``raw_entries=True`` (its body given as bytes): the
            page read entry by entry (each entry's bytes as Slack sent them, see :mod:`.raw_page`)
            when it is a good 2xx page; ``body`` and ``raw_body`` are then decoded only if someone
            reads them. None otherwise.
        unreadable_entry: for a 2xx answer whose body is whole but holds an entry that cannot be
            carried (not JSON, not an object, not UTF-8): which one and why; such an answer is not
            retried and ``validate()`` raises :class:`SlackAuditLogsEntryError`. None otherwise.
    """

    def __init__(
        self,
        *,
        url: str,
        status_code: int,
        raw_body: str | bytes | mmap.mmap | None,
        headers: Mapping[str, Any],
        method: str = "GET",
        raw_entries: bool = False,
    ) -> None:
        self.url = url
        self.status_code = status_code
        self.headers = Headers(headers)
        self._text = raw_body  # bytes are decoded to text when first read
        self.method = method
        #: How many attempts the call made to get this answer (set by the client).
        self.attempts = 1
        self.raw_page: RawPage | None = None
        self.unreadable_entry: UnreadableEntryError | None = None
        good = bool(raw_body) and 200 <= status_code < 300
        if raw_entries and good:
            # Not a good page (RawPageError): decoded as a whole below, so the usual checks say what it is.
            try:
                self.raw_page = read_raw_page(raw_body)  # type: ignore[arg-type]
            except UnreadableEntryError as err:
                self.unreadable_entry = err
            except RawPageError:
                pass
        self._body = _UNREAD if self.raw_page is not None else decode_body(self.raw_body)
        if good and not raw_entries and self._body is None:
            # Not JSON as a whole: a whole body with an entry that is not is named (not retried); a cut one is retried.
            try:
                split_page(self.raw_body or "")
            except UnreadableEntryError as err:
                self.unreadable_entry = err
            except RawPageError:
                pass

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (and deep-copied) with a mapped body as bytes: a memory mapping cannot be pickled."""
        state = dict(self.__dict__)
        if state["_text"] is not None and not isinstance(state["_text"], (str, bytes)):
            state["_text"] = bytes(state["_text"])
        return state

    @property
    def raw_body(self) -> str | None:
        """The body as text."""
        if self._text is not None and not isinstance(self._text, str):  # bytes, or the mapping they came in
            self._text = str(self._text, "utf-8", errors="replace")
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

    def offset_of(self, data: Any) -> int | None:
        """Where ``data`` (bytes, e.g. an entry of :attr:`raw_page`) first occurs in the body as received, or None."""
        return offset_of(self._text, data)

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


def _where(response: AuditLogsResponse) -> str:
    return f"{response.method} {response.path}" if response.path else response.url


def error_for_response(response: AuditLogsResponse, *, attempts: int | None = None) -> SlackAuditLogsError | None:
    """The typed error a response stands for, or None when it is a good answer.

    Args:
        response: the answer to classify.
        attempts: how many attempts led to it (said in the message of retryable failures);
            ``response.attempts`` by default.
    """
    attempts = response.attempts if attempts is None else attempts
    status = response.status_code
    if response.unreadable_entry is not None:
        return entry_error(response, response.unreadable_entry)
    if response.raw_page is not None:
        return None  # a 2xx body already read as a page of entries (and not as an error)
    body = response.body
    code = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), str) else None
    ok = 200 <= status < 300
    if ok and isinstance(body, dict) and body.get("ok") is not False:
        return None
    where = _where(response)
    tried = f" after {attempts} attempts" if attempts > 1 else ""
    kwargs: dict[str, Any] = {"status_code": status, "error": code, "response": response}
    if code in AUTH_ERRORS or status in (401, 403):
        hint = AUTH_HINTS.get(code or "", "Slack refused the token.")
        if code == "missing_scope" and isinstance(body, dict):
            needed, provided = body.get("needed"), body.get("provided")
            if isinstance(needed, str) and isinstance(provided, str):
                hint += f" Needed: {needed}; the token has: {provided}."
        return SlackAuditLogsAuthError(
            f"{where} was refused (HTTP {status}, {code or 'no error code'}). {hint} {ACCESS_NEEDED}", **kwargs
        )
    if code in RATE_LIMIT_ERRORS or status == 429:
        retry_after = response.headers.get("Retry-After")
        return SlackAuditLogsRateLimitError(
            f"{where} was still rate limited by Slack (HTTP {status}, {code or 'no error code'}){tried}"
            f"{f'; Slack asked to wait {retry_after}s' if retry_after else ''}. The limit (about 50 calls "
            "a minute) is shared by every app reading this organization's audit logs: set the connection's "
            "requests_per_minute extra lower, raise its max_retries, or its max_retry_wait if that is below "
            "Retry-After (each wait is cut to it), or run again later.",
            **kwargs,
        )
    if code in BAD_REQUEST_ERRORS or status in (400, 404, 405, 422):
        hint = BAD_REQUEST_HINTS.get(code or "", "Check the query arguments and the path.")
        return SlackAuditLogsBadRequestError(
            f"{where} was rejected (HTTP {status}, {code or 'no error code'}). {hint}", **kwargs
        )
    if status >= 500 or ok:
        what = (
            f"HTTP {status}" + (f", {code}" if code else "")
            if not ok
            else f"HTTP {status} with a body that is {'cut short or not JSON' if body is None else 'an error'}"
        )
        return SlackAuditLogsServerError(
            f"{where} failed on Slack's side ({what}){tried}. This is usually temporary: run again later; "
            "if it persists, check https://slack-status.com.",
            **kwargs,
        )
    return SlackAuditLogsError(
        f"{where} failed (HTTP {status}, {code or 'no error code'}){tried}.",
        **kwargs,
    )


def entry_error(
    response: AuditLogsResponse, unreadable: UnreadableEntryError, *, page: int | None = None
) -> SlackAuditLogsEntryError:
    """The typed error for an entry of ``response`` that cannot be carried (see :mod:`.entry_rules`).

    Args:
        response: the answer the entry came in.
        unreadable: which entry, where it starts, what is wrong with it and how it starts.
        page: the page of the walk the answer is (1 for the first), when known.
    """
    which = describe(unreadable.index, unreadable.problem, unreadable.offset, unreadable.excerpt)
    return SlackAuditLogsEntryError(
        f"{_where(response)} answered HTTP {response.status_code} with an event that cannot be exported once as it "
        f"came: {f'page {page}, ' if page is not None else ''}{which}. Every event must be a JSON object in UTF-8 "
        "with a non-empty string id (it is written once by that id). Retrying cannot help: Slack sends the same "
        "event again. Report it to Slack with this message; the events before and after it can be exported by "
        "narrowing the window (oldest/latest).",
        status_code=response.status_code,
        response=response,
        page=page,
        index=unreadable.index,
        offset=unreadable.offset,
        problem=unreadable.problem,
        excerpt=unreadable.excerpt,
    )
