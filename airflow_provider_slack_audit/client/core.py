"""What the sync and the async client share: the constructor and the methods.

:class:`ClientCore` holds everything but the I/O. A transport subclass adds three things: how one
attempt is sent (``_attempt``), how the retries are run around it (``_send``: tenacity's
``Retrying`` or ``AsyncRetrying``, with the arguments this class builds), and how pages are walked
(``_walk_pages``, driving :class:`~.walk.PageWalk`). The public methods are written once, here: on
the async client they return awaitables (``await client.logs(...)``) and async iterators. What is
done around each call's attempts (retry arguments, logs, decoding, the final error) is in its base
class :class:`~.attempts.ClientAttempts`; :class:`Request` and :class:`BodyLimit` in :mod:`.request`.
"""

from __future__ import annotations

import logging
import random
import ssl as ssl_module
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from airflow_provider_slack_audit.client.attempts import ClientAttempts
from airflow_provider_slack_audit.client.budget.store import budget_key, check_shared_budget, check_storage_uri
from airflow_provider_slack_audit.client.config import (
    DEFAULT_BASE_URL,
    bypasses_proxy,
    check_base_url,
    check_proxy,
    check_ssl,
    check_timeout,
    check_token,
    user_agent,
    whole_number,
)
from airflow_provider_slack_audit.client.pacing import RequestPacer
from airflow_provider_slack_audit.client.query import LogsQuery, check_actions, known_actions
from airflow_provider_slack_audit.client.request import MAX_BODY_BYTES, BodyLimit, Request
from airflow_provider_slack_audit.client.retry_rules import RetrySettings
from airflow_provider_slack_audit.client.stats import ClientStats
from airflow_provider_slack_audit.client.walk import PageWalk

__all__ = ["MAX_BODY_BYTES", "BodyLimit", "CallT", "ClientCore", "EntriesT", "PagesT", "Request"]


#: What the public methods return: an answer (sync) or an awaitable of one (async).
CallT = TypeVar("CallT")
#: What the walks return: iterators (sync) or async iterators (async).
PagesT = TypeVar("PagesT")
EntriesT = TypeVar("EntriesT")


class ClientCore(ClientAttempts, Generic[CallT, PagesT, EntriesT]):
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
            (Slack allows about 50 a minute for the whole organization): this process's calls, or
            with ``rate_limit_storage_uri`` the calls of every process sharing the budget.
        rate_limit_storage_uri: a Redis URI (``redis://[:password@]host:6379/0``, ``rediss://``,
            ``unix://``) where the budget of ``requests_per_minute`` is kept for every process that
            uses the same ``rate_limit_key`` (needs the ``redis`` extra). A store that fails, after a
            few retries, fails the call with ``SlackAuditLogsBudgetStoreError``: never unpaced.
        rate_limit_key: the name of the shared budget (e.g. the org's id, to share it between
            connections with different tokens); default: a digest of ``base_url`` and the token.
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
        rate_limit_storage_uri: str | None = None,
        rate_limit_key: str | None = None,
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
        #: The pacer (None: no pacing): :class:`RequestPacer` in this process, or a shared budget's.
        self.pacer = self._pacer(requests_per_minute, rate_limit_storage_uri, rate_limit_key)
        self.stats = ClientStats()
        #: The names of the ``actions`` method, read once per client before the first ``logs`` call with an
        #: action filter (``_actions_read``); None when they could not be read.
        self._known_actions: frozenset[str] | None = None
        self._actions_read = False
        self._open()

    def _open(self) -> None:
        """Set up the transport (its connection pool); the settings are checked and stored."""
        raise NotImplementedError

    def _pacer(self, requests_per_minute: float | None, storage_uri: str | None, key: str | None) -> Any:
        """The pacer of these settings: none, one of this process, or the shared budget's."""
        check_shared_budget(requests_per_minute, storage_uri, key)
        if requests_per_minute is None:
            return None
        if storage_uri is None:
            return RequestPacer(requests_per_minute, clock=self._clock, sleep=self._sleep or time.sleep)
        uri = check_storage_uri(storage_uri)
        return self._shared_pacer(uri, budget_key(key, self.base_url, self.token), requests_per_minute)

    def _shared_pacer(self, storage_uri: str, key: str, requests_per_minute: float) -> Any:
        """The transport's pacer on the shared budget ``key`` kept at ``storage_uri``."""
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
        return self._logs_call(query, self._request("GET", "logs", params, headers=headers))

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
        keep_unidentified: bool = False,
    ) -> PagesT:
        """Every page of the range ``[oldest, latest]`` (inclusive unix seconds), newest first.

        Give a :class:`LogsQuery`, or its fields as arguments (checked before any call). The bounds
        and filters go with every cursor; an id is yielded once even when Slack repeats it; a cursor
        Slack rejects mid-walk restarts the walk at the oldest second yielded so far, without loss or
        repeats; the page size defaults to 9999 (fewest calls). A walk always ends: a repeated cursor
        or too many pages without a new id raise. Any failure raises a :class:`SlackAuditLogsError`.

        With ``raw_entries`` each page's ``entries`` is a :class:`~.raw_page.RawPage`: each event's
        JSON as Slack sent it (one line), its id and date_create, nothing else decoded. That is what
        copying events to a file needs, at a fraction of the cost of building dicts. Each line is a
        view (a buffer: ``bytes(line)`` copies it) of the page's body, which the client holds in a
        memory mapping of its own, given back to the system when the last view of it goes: copy the
        lines you keep past the page.

        With ``keep_unidentified`` an entry without a usable id is yielded (and logged) instead of
        raising :class:`SlackAuditLogsEntryError`, for readers that key events themselves.
        """
        if query is None:
            query = LogsQuery(oldest=oldest, latest=latest, action=action, actor=actor, entity=entity, limit=limit)
        elif not isinstance(query, LogsQuery):
            raise TypeError(f"query must be a LogsQuery, not {type(query).__name__}.")
        elif any(v is not None for v in (oldest, latest, action, actor, entity, limit)):
            raise TypeError("pass either a LogsQuery or its fields as arguments, not both.")
        return self._walk_pages(
            PageWalk(
                query,
                self.max_cursor_restarts,
                logger=self.logger,
                stats=self.stats,
                raw_entries=raw_entries,
                keep_unidentified=keep_unidentified,
            )
        )

    def iter_logs(self, query: LogsQuery | None = None, **fields: Any) -> EntriesT:
        """Every entry of the range, newest first, each id once (raw dicts); see :meth:`iter_pages`."""
        return self._walk_entries(self.iter_pages(query, **fields))

    def _proxy_for(self, url: str) -> str | None:
        """The proxy for ``url``: ``proxy`` if given; else the environment's, unless NO_PROXY exempts ``url``."""
        if self.proxy is None or (self._proxy_from_env and bypasses_proxy(url)):
            return None
        return self.proxy

    def redact(self, text: str) -> str:
        """``text`` with the token replaced by ``***`` (a last line of defence for messages)."""
        return text.replace(self.token, "***") if self.token else text

    # --- for the transports --------------------------------------------------------------------

    def _must_read_actions(self, query: LogsQuery, response: Any) -> bool:
        """Whether Slack refused ``query``'s action names and the ``actions`` list is still to be read (once a
        client): the list names the unknown ones and their nearest valid names."""
        if not query.action or self._actions_read or response.raw_page is not None:
            return False
        body = response.body
        return isinstance(body, dict) and body.get("error") == "invalid_action"

    def _actions_request(self) -> Request:
        return self._request("GET", "actions", None)

    def _take_actions(self, response: Any) -> None:
        """Keep the names of an ``actions`` answer (None: no answer); a failed read is not tried again."""
        self._actions_read = True
        if response is not None and 200 <= response.status_code < 300:
            self._known_actions = known_actions(response.body)

    def _check_actions(self, query: LogsQuery) -> None:
        """Refuse unknown action names before a ``logs`` call once the list is known (else nothing is checked,
        and Slack's ``invalid_action`` answer reads the list: see ``_must_read_actions``)."""
        check_actions(query.action, self._known_actions)

    def _logs_call(self, query: LogsQuery, request: Request) -> CallT:
        """A ``logs`` call with the action names checked before it and, when Slack refuses them, after it."""
        raise NotImplementedError

    def _send(self, request: Request) -> CallT:
        raise NotImplementedError

    def _walk_pages(self, walk: PageWalk) -> PagesT:
        raise NotImplementedError

    def _walk_entries(self, pages: PagesT) -> EntriesT:
        raise NotImplementedError

    @staticmethod
    def _default_sleep() -> Callable[[float], Any]:
        raise NotImplementedError
