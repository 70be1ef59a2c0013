"""What the sync and the async client share: the constructor, the methods, requests, retries, errors.

:class:`ClientCore` holds everything but the I/O. A transport subclass adds three things: how one
attempt is sent (``_attempt``), how the retries are run around it (``_send``: tenacity's
``Retrying`` or ``AsyncRetrying``, with the arguments this class builds), and how pages are walked
(``_walk_pages``, driving :class:`~.walk.PageWalk`). The public methods are written once, here: on
the async client they return awaitables (``await client.logs(...)``) and async iterators.
"""

from __future__ import annotations

import logging
import random
import ssl as ssl_module
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar
from urllib.parse import urlsplit

from airflow_provider_slack_audit.client.config import (
    DEFAULT_BASE_URL,
    check_base_url,
    check_proxy,
    check_ssl,
    check_timeout,
    check_token,
    redact_url,
    redacted_headers,
    user_agent,
    whole_number,
)
from airflow_provider_slack_audit.client.errors import (
    SlackAuditLogsConnectionError,
    SlackAuditLogsError,
    SlackAuditLogsServerError,
)
from airflow_provider_slack_audit.client.pacing import RequestPacer
from airflow_provider_slack_audit.client.query import LogsQuery
from airflow_provider_slack_audit.client.response import AuditLogsResponse
from airflow_provider_slack_audit.client.retry_handlers import HandlerBridge, HandlerHttpRequest
from airflow_provider_slack_audit.client.retry_rules import RetrySettings, TransportFailure, is_rate_limited
from airflow_provider_slack_audit.client.stats import ClientStats
from airflow_provider_slack_audit.client.walk import PageWalk

#: The largest body read: far above a full page (9999 events are about 6.5 MB of JSON).
MAX_BODY_BYTES = 128 * 1024 * 1024
_LOG_BODY_CHARS = 2000

#: What the public methods return: an answer (sync) or an awaitable of one (async).
CallT = TypeVar("CallT")
#: What the walks return: iterators (sync) or async iterators (async).
PagesT = TypeVar("PagesT")
EntriesT = TypeVar("EntriesT")


@dataclass
class Request:
    """One API call, as the transports send it (the token is added by the transport, never here).

    ``attempts`` counts the attempts made so far (the transports add one per attempt).
    """

    method: str
    url: str
    params: dict[str, Any]
    headers: dict[str, str]
    body: dict[str, Any] | None = None
    #: Keep a ``logs`` answer's bytes and read a good page entry by entry (``response.raw_page``).
    raw_entries: bool = False
    path: str = field(init=False)
    attempts: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.path = urlsplit(self.url).path


class BodyLimit:
    """Counts the bytes of one body as they arrive; a body over the bound is a retryable failure."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.chunks: list[bytes] = []
        self.size = 0
        self.started = False  # the headers came: a failure from now on cuts the body

    def expect(self, size: int) -> None:
        """The server announced ``size`` bytes (Content-Length): refuse a body over the bound before reading it."""
        if size > self.max_bytes:
            raise TransportFailure(f"a body larger than max_body_bytes={self.max_bytes}")

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise TransportFailure(f"a body larger than max_body_bytes={self.max_bytes}")
        self.chunks.append(chunk)

    def content(self) -> bytes:
        """The body's bytes, as they came; the pieces are let go, and a body read in one piece is not copied."""
        chunks, self.chunks = self.chunks, []
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def text(self) -> str:
        """The body as text; a body that is not UTF-8 is a retryable failure (it cannot be JSON)."""
        data = self.content()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            failed = True
        if failed:
            raise TransportFailure("a body that is not UTF-8")
        return ""


class ClientCore(Generic[CallT, PagesT, EntriesT]):
    """A client for Slack's Audit Logs API (https://api.slack.com/audit/v1/); see the transports.

    Code written for slack_sdk's ``AuditLogsClient`` / ``AsyncAuditLogsClient`` runs unchanged but
    for the import. Beyond them: retries on by default, typed errors, ``iter_pages``/``iter_logs``
    over a whole range, optional pacing, live ``stats``, a deadline per call, and a token that never
    shows in logs, errors (nor their causes), reprs or URLs.

    Args:
        token: the user token (``xoxp-...``) of an Enterprise Grid organization owner with the
            ``auditlogs:read`` scope, from an app installed on the organization. ``schemas`` and
            ``actions`` need none (pass None or "").
        timeout: seconds one attempt of a call may take, all of it: connect, headers and body.
        ssl: an ``ssl.SSLContext`` (as slack_sdk takes), or True (default CAs), False (no
            verification, never in production) or the path of a CA bundle file or directory.
        proxy: proxy URL for all requests; if unset, the first of HTTPS_PROXY, https_proxy,
            HTTP_PROXY, http_proxy (respecting NO_PROXY).
        base_url: the API root; https, or http to a loopback host (local emulator) only.
        default_headers: headers for every request (copied, never modified).
        user_agent_prefix: text before this package's User-Agent.
        user_agent_suffix: text after it.
        logger: where to log retries (WARNING) and requests (DEBUG, Authorization redacted).
        retry_handlers: slack_sdk-style handlers (``can_retry`` / ``prepare_for_next_attempt``, or
            their ``_async`` forms); if given (or appended to ``client.retry_handlers``), they replace
            the default retries entirely; ``[]`` turns retrying off.
        max_retries: retries after the first attempt of one call (0 disables retrying).
        max_retry_wait: the longest single wait in seconds, ``Retry-After`` included.
        max_total_wait: the longest sum of the retry waits of one call, in seconds.
        requests_per_minute: if set, calls are spaced ``60 / requests_per_minute`` seconds apart
            (Slack allows about 50 a minute for the whole organization).
        max_cursor_restarts: how often a walk may restart after a rejected cursor.
        max_body_bytes: the largest body read; a larger one is a failure (retried, then raised).
        sleep: how to wait between retries (tests inject a fake one); the transport's own by default.
        clock: a monotonic clock in seconds, for pacing (tests inject a fake one).
        wall_clock: unix time in seconds, for ``Retry-After`` dates (tests inject a fake one).
        rng: the random source of the backoff jitter.
    """

    BASE_URL = DEFAULT_BASE_URL  # the class attribute slack_sdk's clients have
    #: ``<library>/<version>`` of the transport, for the User-Agent.
    http_library: ClassVar[str] = ""

    def __init__(
        self,
        token: str | None,
        timeout: float = 30,
        ssl: ssl_module.SSLContext | bool | str | None = None,
        proxy: str | None = None,
        base_url: str = BASE_URL,
        default_headers: Mapping[str, str] | None = None,
        user_agent_prefix: str | None = None,
        user_agent_suffix: str | None = None,
        logger: logging.Logger | None = None,
        retry_handlers: Sequence[Any] | None = None,
        *,
        max_retries: int = 8,
        max_retry_wait: float = 60.0,
        max_total_wait: float = 600.0,
        requests_per_minute: float | None = None,
        max_cursor_restarts: int = 5,
        max_body_bytes: int = MAX_BODY_BYTES,
        sleep: Callable[[float], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.token = check_token(token)
        self.timeout = check_timeout(timeout)
        self.ssl = check_ssl(ssl)
        self.proxy, self._proxy_from_env = check_proxy(proxy)
        self.base_url = check_base_url(base_url)
        self.logger = logger if logger is not None else logging.getLogger(__name__.rsplit(".", 1)[0])
        self.default_headers: dict[str, str] = dict(default_headers or {})
        if not any(k.lower() == "user-agent" for k in self.default_headers):
            self.default_headers["User-Agent"] = user_agent(self.http_library, user_agent_prefix, user_agent_suffix)
        # A list, as in slack_sdk (code that appends a handler to it keeps working). Left empty and
        # not given, the default retries apply; given, or appended to, the handlers decide.
        self.retry_handlers: list[Any] = list(retry_handlers) if retry_handlers is not None else []
        self._handlers_given = retry_handlers is not None
        self.retry_settings = RetrySettings(
            max_retries=max_retries, max_retry_wait=max_retry_wait, max_total_wait=max_total_wait
        )
        self.max_cursor_restarts = whole_number(max_cursor_restarts, "max_cursor_restarts")
        self.max_body_bytes = whole_number(max_body_bytes, "max_body_bytes")
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._rng = rng
        self.pacer = (
            RequestPacer(requests_per_minute, clock=clock, sleep=sleep or time.sleep)
            if requests_per_minute is not None
            else None
        )
        self.stats = ClientStats()
        self._open()

    def _open(self) -> None:
        """Set up the transport (its connection pool); the settings are checked and stored."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, timeout={self.timeout!r}, "
            f"token={'***' if self.token else None})"
        )

    # --- slack_sdk's methods -------------------------------------------------------------------

    def schemas(self, *, query_params: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> CallT:
        """The object types the API returns (no token needed)."""
        return self.api_call(path="schemas", query_params=query_params, headers=headers)

    def actions(self, *, query_params: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> CallT:
        """The action names the API knows, by category (no token needed)."""
        return self.api_call(path="actions", query_params=query_params, headers=headers)

    def logs(
        self,
        *,
        latest: int | float | str | None = None,
        oldest: int | float | str | None = None,
        limit: int | None = None,
        action: str | Sequence[str] | None = None,
        actor: str | None = None,
        entity: str | None = None,
        cursor: str | None = None,
        additional_query_params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> CallT:
        """One page of audit events, newest first.

        Args:
            latest: newest ``date_create`` to include, unix seconds (inclusive).
            oldest: oldest ``date_create`` to include, unix seconds (inclusive).
            limit: page size, 1..9999 ("optimistic": a page may hold more when events share a second).
            action: one action name, a comma-separated string or a list of at most 30 names.
            actor: id of the user who acted.
            entity: id of the target (user, channel, file, workspace, ...).
            cursor: ``response_metadata.next_cursor`` of the previous page; the bounds and filters
                must be sent again with it (the cursor does not remember them).
            additional_query_params: more query parameters, sent as given.
            headers: more request headers for this call.

        Raises:
            SlackAuditLogsArgumentError: a bad argument (before any call).
            SlackAuditLogsConnectionError: no answer after the retries (also a ``URLError``).
        """
        query = LogsQuery(oldest=oldest, latest=latest, action=action, actor=actor, entity=entity, limit=limit)
        params = query.params()
        if cursor is not None:
            params["cursor"] = cursor
        params.update(additional_query_params or {})
        return self.api_call(path="logs", query_params=params, headers=headers)

    def api_call(
        self,
        *,
        http_verb: str = "GET",
        path: str,
        query_params: dict[str, Any] | None = None,
        body_params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> CallT:
        """Call ``base_url + path`` with retries; the last answer, whatever its status.

        A non-2xx answer that is not retried (or outlasted the retries) is returned, as slack_sdk
        does: call ``.validate()`` to raise the matching :class:`SlackAuditLogsError`. When no answer
        came at all, a :class:`SlackAuditLogsConnectionError` (a ``URLError``) is raised.
        """
        return self._send(self._request(http_verb, path, query_params, body_params, headers))

    def _request(
        self,
        http_verb: str,
        path: str,
        query_params: dict[str, Any] | None,
        body_params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        *,
        raw_entries: bool = False,
    ) -> Request:
        return Request(
            method=http_verb.upper(),
            url=self.base_url + path.lstrip("/"),
            params={k: v for k, v in (query_params or {}).items() if v is not None},
            headers={**self.default_headers, **(headers or {})},
            body=body_params,
            raw_entries=raw_entries,
        )

    # --- beyond slack_sdk ----------------------------------------------------------------------

    def iter_pages(
        self,
        query: LogsQuery | None = None,
        *,
        oldest: int | float | str | None = None,
        latest: int | float | str | None = None,
        action: str | Sequence[str] | None = None,
        actor: str | None = None,
        entity: str | None = None,
        limit: int | None = None,
        raw_entries: bool = False,
    ) -> PagesT:
        """Every page of the range ``[oldest, latest]`` (inclusive unix seconds), newest first.

        Give a :class:`LogsQuery`, or its fields as arguments (checked before any call). The bounds
        and filters go with every cursor; an id is yielded once even when Slack repeats it; a cursor
        Slack rejects mid-walk restarts the walk at the oldest second yielded so far, without loss or
        repeats; the page size defaults to 9999 (fewest calls). A walk always ends: a repeated cursor
        or too many pages without a new id raise. Any failure raises a :class:`SlackAuditLogsError`.

        With ``raw_entries`` each page's ``entries`` is a :class:`~.raw_page.RawPage`: each event's
        JSON as Slack sent it (one line), its id and date_create, nothing else decoded. That is what
        copying events to a file needs, at a fraction of the cost of building dicts.
        """
        if query is None:
            query = LogsQuery(oldest=oldest, latest=latest, action=action, actor=actor, entity=entity, limit=limit)
        elif not isinstance(query, LogsQuery):
            raise TypeError(f"query must be a LogsQuery, not {type(query).__name__}.")
        elif any(v is not None for v in (oldest, latest, action, actor, entity, limit)):
            raise TypeError("pass either a LogsQuery or its fields as arguments, not both.")
        return self._walk_pages(
            PageWalk(
                query, self.max_cursor_restarts, logger=self.logger, stats=self.stats, raw_entries=raw_entries
            )
        )

    def iter_logs(self, query: LogsQuery | None = None, **fields: Any) -> EntriesT:
        """Every entry of the range, newest first, each id once (raw dicts); see :meth:`iter_pages`."""
        return self._walk_entries(self.iter_pages(query, **fields))

    def redact(self, text: str) -> str:
        """``text`` with the token replaced by ``***`` (a last line of defence for messages)."""
        return text.replace(self.token, "***") if self.token else text

    # --- for the transports --------------------------------------------------------------------

    def _send(self, request: Request) -> CallT:
        raise NotImplementedError

    def _walk_pages(self, walk: PageWalk) -> PagesT:
        raise NotImplementedError

    def _walk_entries(self, pages: PagesT) -> EntriesT:
        raise NotImplementedError

    def _uses_handlers(self) -> bool:
        return self._handlers_given or bool(self.retry_handlers)

    def _retrying_arguments(self, request: Request, *, asynchronous: bool) -> dict[str, Any]:
        """tenacity arguments for one call: the default rules, or the slack_sdk handlers'."""

        def on_retry(reason: str, number: int, wait: float) -> None:
            self.stats.retries += 1
            self.stats.waited_seconds += wait
            plan = (
                "asked by a retry handler"
                if self._uses_handlers()
                else f"of {self.retry_settings.max_retries} in {wait:.1f}s"
            )
            self.logger.warning(
                "Slack Audit Logs API %s %s: %s; retry %d %s",
                request.method,
                request.path,
                self.redact(reason),
                number,
                plan,
            )

        if self._uses_handlers():
            headers = {**request.headers, **({"Authorization": "***"} if self.token else {})}
            bridge = HandlerBridge(
                self.retry_handlers,
                HandlerHttpRequest(method=request.method, url=request.url, headers=headers),
                on_retry,
            )
            return bridge.async_arguments() if asynchronous else bridge.sync_arguments()
        return self.retry_settings.tenacity_arguments(
            sleep=self._sleep or self._default_sleep(),
            wall_clock=self._wall_clock,
            rng=self._rng,
            on_retry=on_retry,
        )

    @staticmethod
    def _default_sleep() -> Callable[[float], Any]:
        raise NotImplementedError

    def _log_request(self, request: Request) -> None:
        if self.logger.isEnabledFor(logging.DEBUG):
            self.logger.debug(
                "Sending %s %s params=%s headers=%s%s",
                request.method,
                request.url,
                request.params,
                redacted_headers({**request.headers, **({"Authorization": "***"} if self.token else {})}),
                f" proxy={redact_url(self.proxy)}" if self.proxy else "",
            )

    def _response(self, request: Request, status_code: int, headers: Mapping[str, Any], url: str, body: BodyLimit):
        """The answer of one attempt, decoded, counted and logged."""
        return self._received(request, self._decoded(request, status_code, headers, url, body))

    @staticmethod
    def _decoded(
        request: Request, status_code: int, headers: Mapping[str, Any], url: str, body: BodyLimit
    ) -> AuditLogsResponse:
        """The answer of one attempt with its body decoded: no I/O, no shared state (a thread may run it)."""
        # Entries read raw keep the bytes (msgspec checks they are UTF-8 as it reads them).
        raw: str | bytes = body.content() if request.raw_entries else body.text()
        response = AuditLogsResponse(
            url=url,
            status_code=status_code,
            raw_body=raw,
            headers=headers,
            method=request.method,
            raw_entries=request.raw_entries,
        )
        response.attempts = request.attempts
        return response

    def _received(self, request: Request, response: AuditLogsResponse) -> AuditLogsResponse:
        """Count and log a decoded answer."""
        if self.logger.isEnabledFor(logging.DEBUG):
            raw = response._text or ""  # as it came: bytes for a page read raw (not decoded to log it)
            self.logger.debug(
                "Received HTTP %s for %s %s headers=%s body=%s",
                response.status_code,
                request.method,
                request.path,
                dict(response.headers),
                self.redact(
                    raw[:_LOG_BODY_CHARS].decode("utf-8", "replace")
                    if isinstance(raw, bytes)
                    else raw[:_LOG_BODY_CHARS]
                )
                + ("..." if len(raw) > _LOG_BODY_CHARS else ""),
            )
        if is_rate_limited(response):
            self.stats.rate_limited += 1
        return response

    def _failed(self, request: Request, failure: TransportFailure) -> SlackAuditLogsError:
        """The typed error for a call whose attempts ended without an answer (raise it outside any ``except``)."""
        attempts = request.attempts
        where = f"{request.method} {urlsplit(request.url).hostname}{request.path}"
        what = self.redact(failure.what)
        if not failure.retryable:
            return SlackAuditLogsError(f"{where} could not be completed: {what}.")
        message = (
            f"{where} got no usable answer after {attempts} attempt{'s' if attempts != 1 else ''}: {what}. "
            "This is usually temporary: run again later; if it persists, check the network, the proxy "
            "settings and https://slack-status.com."
        )
        if failure.reason is None:
            return SlackAuditLogsServerError(message)
        return SlackAuditLogsConnectionError(message, reason=failure.reason, attempts=attempts)
