"""``SlackAuditLogsClient``: a drop-in for slack_sdk's ``AuditLogsClient`` on requests, with retries."""

from __future__ import annotations

import logging
import math
import random
import ssl as ssl_module
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests

from airflow_provider_slack_audit.client.errors import SlackAuditLogsError, SlackAuditLogsServerError
from airflow_provider_slack_audit.client.pacing import RequestPacer
from airflow_provider_slack_audit.client.pagination import AuditLogsPage, iter_pages
from airflow_provider_slack_audit.client.params import logs_query
from airflow_provider_slack_audit.client.response import AuditLogsResponse
from airflow_provider_slack_audit.client.retry import (
    HandlerHttpRequest,
    HandlerHttpResponse,
    HandlerRetryState,
    RetryPolicy,
    handler_error,
    http_error,
    is_rate_limited,
)
from airflow_provider_slack_audit.client.session import (
    build_session,
    check_base_url,
    check_token,
    proxy_from_env,
    redact_url,
    redacted_headers,
    user_agent,
)
from airflow_provider_slack_audit.client.stats import ClientStats

#: Safety net when custom retry handlers decide (slack_sdk uses the same number).
_HANDLER_ATTEMPTS_LIMIT = 100
_LOG_BODY_CHARS = 2000


class SlackAuditLogsClient:
    """A client for Slack's Audit Logs API (https://api.slack.com/audit/v1/).

    Code written for slack_sdk's ``AuditLogsClient`` runs unchanged but for the import. Beyond it:
    retries on by default, typed errors, ``iter_pages``/``iter_logs`` over a whole range, optional
    pacing, live ``stats``, and a token that never shows in logs, errors, reprs or URLs.

    Args:
        token: the user token (``xoxp-...``) of an Enterprise Grid organization owner with the
            ``auditlogs:read`` scope, from an app installed on the organization. ``schemas`` and
            ``actions`` need none (pass None or "").
        timeout: seconds to wait for the connection and for each read of the answer.
        ssl: an ``ssl.SSLContext`` (as slack_sdk takes), or what requests takes for ``verify``:
            True (default CAs), False (no verification, never in production) or a CA bundle path.
        proxy: proxy URL for all requests; if unset, the first of HTTPS_PROXY, https_proxy,
            HTTP_PROXY, http_proxy (respecting NO_PROXY).
        base_url: the API root; https, or http to a loopback host (local emulator) only.
        default_headers: headers for every request (copied, never modified).
        user_agent_prefix: text before this package's User-Agent.
        user_agent_suffix: text after it.
        logger: where to log retries (WARNING) and requests (DEBUG, Authorization redacted).
        retry_handlers: slack_sdk-style handlers (``can_retry`` / ``prepare_for_next_attempt``);
            if given (or appended to ``client.retry_handlers``), they replace the default retry
            policy entirely; ``[]`` turns retrying off (``max_retries`` and the
            wait bounds then do not apply; the handlers bound themselves).
        max_retries: retries after the first attempt of one call (0 disables retrying).
        max_retry_wait: the longest single wait in seconds, ``Retry-After`` included.
        max_total_wait: the longest sum of the retry waits of one call, in seconds.
        requests_per_minute: if set, calls are spaced ``60 / requests_per_minute`` seconds apart
            (Slack allows about 50 a minute for the whole organization).
        max_cursor_restarts: how often ``iter_pages`` may restart a walk after a rejected cursor.
        sleep: the sleep function (tests inject a fake one).
        clock: a monotonic clock in seconds, for pacing (tests inject a fake one).
        wall_clock: unix time in seconds, for ``Retry-After`` dates (tests inject a fake one).
        rng: the random source of the backoff jitter.
    """

    BASE_URL = "https://api.slack.com/audit/v1/"

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
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < math.inf:
            raise ValueError(f"timeout must be a number of seconds > 0, not {timeout!r}.")
        if proxy is not None and not isinstance(proxy, str):
            raise TypeError(f"proxy must be a URL string like http://proxy:3128, not {type(proxy).__name__}.")
        self.token = check_token(token)
        self.timeout = timeout
        self.ssl = ssl
        self.base_url = check_base_url(base_url)
        self.logger = logger if logger is not None else logging.getLogger(__name__.rsplit(".", 1)[0])
        # An explicit proxy is used for every request; one from the environment honours NO_PROXY.
        self._proxy_from_env = not (proxy and proxy.strip())
        self.proxy = proxy_from_env() if self._proxy_from_env else proxy.strip()  # type: ignore[union-attr]
        self.default_headers: dict[str, str] = dict(default_headers or {})
        if not any(k.lower() == "user-agent" for k in self.default_headers):
            self.default_headers["User-Agent"] = user_agent(user_agent_prefix, user_agent_suffix)
        # A list, as in slack_sdk (code that appends a handler to it keeps working). Left empty
        # and not given, the default RetryPolicy decides; given, or appended to, the handlers do.
        self.retry_handlers: list[Any] = list(retry_handlers) if retry_handlers is not None else []
        self._handlers_given = retry_handlers is not None
        self.retry_policy = RetryPolicy(
            max_retries=max_retries, max_retry_wait=max_retry_wait, max_total_wait=max_total_wait
        )
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._rng = rng
        self.pacer = (
            RequestPacer(requests_per_minute, clock=clock, sleep=sleep) if requests_per_minute is not None else None
        )
        if isinstance(max_cursor_restarts, bool) or not isinstance(max_cursor_restarts, int) or max_cursor_restarts < 0:
            raise ValueError(f"max_cursor_restarts must be a whole number >= 0, not {max_cursor_restarts!r}.")
        self.max_cursor_restarts = max_cursor_restarts
        self.stats = ClientStats()
        self._session = build_session(ssl=ssl, headers={"Accept": "application/json"}, token=self.token)

    # --- slack_sdk's methods -------------------------------------------------------------------

    def schemas(
        self, *, query_params: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> AuditLogsResponse:
        """The object types the API returns (no token needed)."""
        return self.api_call(path="schemas", query_params=query_params, headers=headers)

    def actions(
        self, *, query_params: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> AuditLogsResponse:
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
    ) -> AuditLogsResponse:
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
            SlackAuditLogsServerError: no answer after the retries (connection error, timeout).
        """
        query: dict[str, Any] = logs_query(
            oldest=oldest, latest=latest, limit=limit, action=action, actor=actor, entity=entity
        )
        if cursor is not None:
            query["cursor"] = cursor
        if additional_query_params:
            query.update(additional_query_params)
        return self.api_call(path="logs", query_params=query, headers=headers)

    def api_call(
        self,
        *,
        http_verb: str = "GET",
        path: str,
        query_params: dict[str, Any] | None = None,
        body_params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> AuditLogsResponse:
        """Call ``base_url + path`` with retries; return the last answer, whatever its status.

        A non-2xx answer that is not retried (or outlasted the retries) is returned, as slack_sdk
        does: call ``.validate()`` to raise the matching :class:`SlackAuditLogsError`. When no answer
        came at all (connection errors, timeouts) a :class:`SlackAuditLogsServerError` is raised.
        """
        return self._call(http_verb, path, query_params, body_params, headers)

    def _call(
        self,
        http_verb: str,
        path: str,
        query_params: dict[str, Any] | None,
        body_params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        *,
        raw_entries: bool = False,
    ) -> AuditLogsResponse:
        """:meth:`api_call`; with ``raw_entries`` a good ``logs`` page is read entry by entry (``raw_page``)."""
        url = self.base_url + path.lstrip("/")
        params = {k: v for k, v in (query_params or {}).items() if v is not None}
        request_headers = {**self.default_headers, **(headers or {})}
        return self._send(http_verb.upper(), url, params, body_params, request_headers, raw_entries)

    # --- beyond slack_sdk ----------------------------------------------------------------------

    def iter_pages(
        self,
        *,
        oldest: int | float | str | None = None,
        latest: int | float | str | None = None,
        action: str | Sequence[str] | None = None,
        actor: str | None = None,
        entity: str | None = None,
        limit: int | None = None,
        raw_entries: bool = False,
    ) -> Iterator[AuditLogsPage]:
        """Every page of the range ``[oldest, latest]`` (inclusive unix seconds), newest first.

        The bounds and filters go with every cursor; an id is yielded once even when Slack repeats
        it within or across pages; a cursor Slack rejects mid-walk restarts the walk at the oldest
        second yielded so far, without loss or repeats. Arguments are checked before any call
        (``limit`` defaults to 9999: fewest calls). Any failure raises a :class:`SlackAuditLogsError`.

        With ``raw_entries`` each page's ``entries`` are :class:`~.raw_page.RawEntry` values: each
        event's JSON as Slack sent it (one line), its id and date_create, nothing else decoded. That
        is what copying events to a file needs, at a fraction of the cost of building dicts.
        """
        return iter_pages(
            self,
            oldest=oldest,
            latest=latest,
            action=action,
            actor=actor,
            entity=entity,
            limit=limit,
            max_cursor_restarts=self.max_cursor_restarts,
            raw_entries=raw_entries,
        )

    def iter_logs(
        self,
        *,
        oldest: int | float | str | None = None,
        latest: int | float | str | None = None,
        action: str | Sequence[str] | None = None,
        actor: str | None = None,
        entity: str | None = None,
        limit: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every entry of the range, newest first, each id once (see :meth:`iter_pages`)."""
        pages = self.iter_pages(oldest=oldest, latest=latest, action=action, actor=actor, entity=entity, limit=limit)
        return (entry for page in pages for entry in page.entries)

    def close(self) -> None:
        """Close the keep-alive connections."""
        self._session.close()

    def __enter__(self) -> SlackAuditLogsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, timeout={self.timeout!r}, "
            f"token={'***' if self.token else None})"
        )

    # --- the HTTP loop -------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        """``text`` with the token replaced by ``***`` (a last line of defence for messages)."""
        return text.replace(self.token, "***") if self.token else text

    def _proxies(self, url: str) -> dict[str, str] | None:
        if self.proxy is None:
            return None
        if self._proxy_from_env and requests.utils.should_bypass_proxies(url, no_proxy=None):
            return None
        return {"http": self.proxy, "https": self.proxy}

    def _attempt(self, prepared: requests.PreparedRequest, raw_entries: bool = False) -> AuditLogsResponse:
        if self.pacer is not None:
            self.stats.waited_seconds += self.pacer.acquire()
        self.stats.calls += 1
        url = prepared.url or ""
        method = prepared.method or "GET"
        proxies = self._proxies(url)
        if self.logger.isEnabledFor(logging.DEBUG):
            self.logger.debug(
                "Sending %s %s headers=%s%s",
                method,
                url,
                redacted_headers(prepared.headers),
                f" proxy={redact_url(self.proxy)}" if proxies and self.proxy else "",
            )
        settings = self._session.merge_environment_settings(url, proxies or {}, None, None, None)
        settings["stream"] = True
        answer = self._session.send(prepared.copy(), timeout=self.timeout, allow_redirects=True, **settings)
        # The body in one read (requests' .content reads 10 kB pieces and joins them: two copies of
        # a ~6.5 MB page at once); iter_content still maps transport errors to requests' exceptions.
        content = b"".join(answer.iter_content(chunk_size=None))
        # Entries read raw keep the bytes (JSON is UTF-8); else the text, and the bytes need not
        # outlive it while the body is parsed.
        raw: str | bytes = content if raw_entries else content.decode(answer.encoding or "utf-8", errors="replace")
        del content
        answer_url, status_code, headers = answer.url, answer.status_code, answer.headers
        del answer
        response = AuditLogsResponse(
            url=answer_url,
            status_code=status_code,
            raw_body=raw,
            headers=headers,
            method=method,
            raw_entries=raw_entries,
        )
        if self.logger.isEnabledFor(logging.DEBUG):
            self.logger.debug(
                "Received HTTP %s for %s %s headers=%s body=%s",
                response.status_code,
                method,
                response.path,
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

    def _send(
        self,
        method: str,
        url: str,
        params: dict[str, Any],
        body: dict[str, Any] | None,
        headers: dict[str, str],
        raw_entries: bool = False,
    ) -> AuditLogsResponse:
        path = urlsplit(url).path
        try:
            prepared = self._session.prepare_request(
                requests.Request(method, url, params=params, json=body, headers=headers)
            )
        except (requests.RequestException, ValueError) as exc:
            raise SlackAuditLogsError(f"{method} {path} could not be sent: {self.redact(str(exc))}") from None
        retries = 0
        waited = 0.0
        use_handlers = self._handlers_given or bool(self.retry_handlers)
        state = HandlerRetryState() if use_handlers else None
        while True:
            response: AuditLogsResponse | None = None
            error: requests.RequestException | None = None
            try:
                response = self._attempt(prepared, raw_entries)
            except (requests.exceptions.InvalidURL, requests.exceptions.InvalidHeader) as exc:
                raise SlackAuditLogsError(f"{method} {path} could not be sent: {self.redact(str(exc))}") from None
            except requests.RequestException as exc:
                error = exc
            if state is not None:
                wait = self._ask_handlers(state, prepared, response, error)
                if wait is None:
                    return self._final(method, path, response, error, retries + 1)
                reason = self._describe(response, error)
            else:
                decision = self.retry_policy.decide(
                    retries_done=retries,
                    waited=waited,
                    response=response,
                    error=error,
                    now=self._wall_clock(),
                    rng=self._rng,
                )
                if decision is None:
                    return self._final(method, path, response, error, retries + 1)
                reason, wait = decision.reason, decision.wait
            retries += 1
            self.stats.retries += 1
            self.logger.warning(
                "Slack Audit Logs API %s %s: %s; retry %d%s %s",
                method,
                path,
                self.redact(reason),
                retries,
                f" of {self.retry_policy.max_retries}" if state is None else "",
                f"in {wait:.1f}s" if state is None else f"after {wait:.1f}s (retry handler)",
            )
            if state is None:
                self._sleep(wait)
            waited += wait
            self.stats.waited_seconds += wait

    def _describe(self, response: AuditLogsResponse | None, error: BaseException | None) -> str:
        if error is not None:
            return f"{type(error).__name__}: {error}"
        assert response is not None
        code = response.body.get("error") if response.body else None
        return f"HTTP {response.status_code}" + (f" ({code})" if code else "")

    def _ask_handlers(
        self,
        state: HandlerRetryState,
        prepared: requests.PreparedRequest,
        response: AuditLogsResponse | None,
        error: BaseException | None,
    ) -> float | None:
        """Let slack_sdk-style handlers decide as slack_sdk's client does; the seconds they waited or None."""
        if response is not None and 200 <= response.status_code < 300:
            return None  # slack_sdk returns every 2xx as it is
        if state.current_attempt + 1 >= _HANDLER_ATTEMPTS_LIMIT:
            return None
        state.next_attempt_requested = False
        request = HandlerHttpRequest(
            method=prepared.method or "GET",
            url=prepared.url or "",
            headers=prepared.headers,
            data=prepared.body if isinstance(prepared.body, bytes) else None,
        )
        handler_response = HandlerHttpResponse(response) if response is not None else None
        handler_exc = handler_error(error) if error is not None else http_error(response)  # type: ignore[arg-type]
        for handler in self.retry_handlers:
            if handler.can_retry(state=state, request=request, response=handler_response, error=handler_exc):
                started = self._clock()
                handler.prepare_for_next_attempt(
                    state=state, request=request, response=handler_response, error=handler_exc
                )
                if state.next_attempt_requested:
                    return max(0.0, self._clock() - started)
                break
        return None

    def _final(
        self,
        method: str,
        path: str,
        response: AuditLogsResponse | None,
        error: requests.RequestException | None,
        attempts: int,
    ) -> AuditLogsResponse:
        if response is not None:
            return response
        assert error is not None
        if isinstance(error, requests.exceptions.ReadTimeout):
            kind = "a read timeout"
        elif isinstance(error, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
            kind = f"a body cut short, {type(error).__name__}"
        else:
            kind = type(error).__name__
        if isinstance(error, requests.exceptions.SSLError):
            raise SlackAuditLogsError(
                f"{method} {path}: TLS verification failed ({self.redact(str(error))}). Pass ssl= an "
                "ssl.SSLContext or the path of the CA bundle that signs the server's certificate."
            ) from error
        raise SlackAuditLogsServerError(
            f"{method} {path} got no usable answer after {attempts} attempt{'s' if attempts > 1 else ''}: "
            f"{kind} ({self.redact(str(error))}). This is usually temporary: run again later; if it "
            "persists, check the network, the proxy settings and https://slack-status.com."
        ) from error
