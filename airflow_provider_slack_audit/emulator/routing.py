"""What the emulated API answers: routing, authentication, parameters, faults, rate limit and pages.

:meta private:

Import :data:`DEFAULT_TOKEN` and :data:`ERROR_TOKENS` from :mod:`airflow_provider_slack_audit.emulator`
(or its ``server`` module). :class:`AuditLogsApi` answers each request the HTTP server hands it
(``GET /audit/v1/schemas``, ``actions`` and ``logs``, in Slack's formats and with its errors) and
records each call in the :class:`~.request_log.RequestLog`; the state it reads (data, faults, rate
limit, late windows, page cache) belongs to the ``Emulator`` that builds it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from airflow_provider_slack_audit.emulator import catalog
from airflow_provider_slack_audit.emulator.cursor import CursorCodec, InvalidCursor
from airflow_provider_slack_audit.emulator.dataset import AUDIT_LOGS_EPOCH, Dataset, Filters, action_indexes
from airflow_provider_slack_audit.emulator.faults import (
    FaultController,
    FaultSpec,
    RateLimiter,
    with_lone_surrogate,
    without_id,
)
from airflow_provider_slack_audit.emulator.http_server import EmulatorRequestHandler, reset_connection, write_response
from airflow_provider_slack_audit.emulator.late_events import LateWindows
from airflow_provider_slack_audit.emulator.page_cache import PageCache
from airflow_provider_slack_audit.emulator.request_log import RequestLog, RequestRecord

#: The token the emulator accepts unless told otherwise: fake, and distinctive so a test can
#: grep logs and files for it to prove it never leaks.
DEFAULT_TOKEN = "xoxp-4242424242-0000000000-emulator-fake-token-not-for-real-use"  # noqa: S105 - fake
#: Tokens that stand for an org the real API refuses, and the error each one gets.
ERROR_TOKENS: dict[str, tuple[str, int]] = {
    "xoxp-emulator-feature-not-enabled": ("feature_not_enabled", 403),  # not an Enterprise org
    "xoxp-emulator-missing-scope": ("missing_scope", 403),  # token lacks auditlogs:read
    "xoxp-emulator-not-an-owner": ("invalid_authentication", 401),  # token of an admin, not an owner
    "xoxp-emulator-user-not-authorized": ("user_not_authorized", 403),  # installer is not an org owner
    "xoxp-emulator-team-not-authorized": ("team_not_authorized", 403),  # installed on a workspace
    "xoxp-emulator-invalid-workspace": ("invalid_workspace", 403),
    "xoxp-emulator-method-not-allowed": ("method_not_allowed", 403),
}
MAX_ACTIONS = 30
MAX_LIMIT = 9999
#: Where the API's endpoints are: ``http://host:port`` + this + the endpoint.
BASE_PATH = "/audit/v1/"
_ENDPOINTS = ("logs", "schemas", "actions")


@dataclass(kw_only=True, repr=False, eq=False)  # no repr: it would show the token
class AuditLogsApi:
    """Answers the calls of one emulator; one instance serves every request thread.

    Args:
        dataset: The events ``logs`` pages are cut from.
        token: The one token ``logs`` accepts.
        cursors: Makes and reads ``next_cursor`` values.
        faults: The faults armed (it picks the one, if any, that fires on a call).
        rate_limiter: The org-wide rate limit.
        rate_limit_error: Error code of a rate limiter's 429 body.
        default_limit: Page size when a ``logs`` call sends no ``limit``.
        page_time_budget: Seconds a ``logs`` call may spend scanning before a short page (0: no bound).
        page_cache: Rendered answers to repeated queries (capacity 0: off).
        late: The late windows.
        request_log: Where every call is recorded.
    """

    dataset: Dataset
    token: str
    cursors: CursorCodec
    faults: FaultController
    rate_limiter: RateLimiter
    rate_limit_error: str
    default_limit: int
    page_time_budget: float
    page_cache: PageCache
    late: LateWindows
    request_log: RequestLog

    def __post_init__(self) -> None:
        self._schemas = json.dumps(catalog.schemas_body(), separators=(",", ":")).encode()
        self._actions = json.dumps(catalog.actions_body(), separators=(",", ":")).encode()

    def serve(self, handler: EmulatorRequestHandler, method: str) -> None:
        """Answer one request (the HTTP server's ``route``)."""
        url = urlsplit(handler.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        path = url.path
        endpoint = path[len(BASE_PATH) :].strip("/") if path.startswith(BASE_PATH) else path
        now = time.time()
        if endpoint not in _ENDPOINTS:
            self._send_error(handler, 404, "bad_endpoint", endpoint, params, now)
            return
        if method != "GET":
            self._send_error(handler, 405, "method_not_allowed", endpoint, params, now)
            return
        fault = self.faults.pick(endpoint, bool(params.get("cursor")))
        kind = fault.kind if fault else None
        if fault is not None:
            if kind == "slow":
                time.sleep(fault.delay)
            elif kind == "reset":
                self.request_log.add(RequestRecord(endpoint, params, 0, kind, 0, now))
                reset_connection(handler)
            elif kind.startswith("http_5"):  # type: ignore[union-attr]
                body = {"ok": False, "error": "internal_error" if fault.status == 500 else "service_unavailable"}
                self._send(handler, fault.status, json.dumps(body).encode(), endpoint, params, now, kind)
                return
            elif kind == "rate_limit_burst":
                body = json.dumps({"ok": False, "error": fault.error}).encode()
                headers = {"Retry-After": str(fault.retry_after)}
                self._send(handler, 429, body, endpoint, params, now, kind, headers=headers)
                return
            elif kind == "reject_cursor":
                self._send_error(handler, 400, "invalid_cursor", endpoint, params, now, kind)
                return
            elif kind == "not_json":
                body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
                self._send(handler, 200, body, endpoint, params, now, kind, content_type="text/html")
                return
        retry_after = self.rate_limiter.acquire()
        if retry_after is not None:
            body = json.dumps({"ok": False, "error": self.rate_limit_error}).encode()
            self._send(handler, 429, body, endpoint, params, now, kind, headers={"Retry-After": str(retry_after)})
            return
        if endpoint == "schemas":
            self._send(handler, 200, self._schemas, endpoint, params, now, kind, cut=kind == "cut_body")
            return
        if endpoint == "actions":
            self._send(handler, 200, self._actions, endpoint, params, now, kind, cut=kind == "cut_body")
            return
        self._serve_logs(handler, params, now, fault)

    def _serve_logs(
        self, handler: EmulatorRequestHandler, params: dict[str, str], now: float, fault: FaultSpec | None
    ) -> None:
        kind = fault.kind if fault else None
        error = self._check_auth(handler.headers.get("Authorization"))
        if error is not None:
            self._send_error(handler, error[1], error[0], "logs", params, now, kind)
            return
        try:
            oldest, latest, limit, filters, start = self._parse_logs_params(params, now)
        except ApiError as exc:
            self._send_error(handler, 400, exc.code, "logs", params, now, kind, message=exc.message)
            return
        visible = self.late.visible_hook()
        cfg = self.dataset.config
        key = (oldest, min(latest, start), limit, filters)
        cacheable = (
            self.page_cache.capacity > 0
            and kind is None
            and visible is None
            and cfg.end is not None
            and cfg.end + cfg.ingest_lag < now
        )
        cached = self.page_cache.get(key) if cacheable else None
        if cached is not None:
            body, count = cached
            self._send(handler, 200, body, "logs", params, now, kind, entries=count)
            return
        deadline = time.perf_counter() + self.page_time_budget if self.page_time_budget else None
        page = self.dataset.page(
            oldest=oldest,
            latest=min(latest, start),
            limit=limit,
            filters=filters,
            visible=visible,
            now=now,
            deadline=deadline,
        )
        entries = page.entries
        if kind == "duplicate_entries" and entries:
            entries = list(entries)
            n = len(entries)
            for k in range(min(fault.duplicates, n)):  # type: ignore[union-attr]
                src = (k * 7919) % n
                entries.insert(src + 1, entries[src])  # right after itself: order stays newest first
        if kind == "outside_window":
            entries = [_outside_entry(latest + 1), *entries, _outside_entry(oldest - 1)]
        if kind == "lone_surrogate":
            entries = [with_lone_surrogate(entry) for entry in entries]
        if kind == "entry_without_id" and entries:
            entries = [without_id(entries[0]), *entries[1:]]
        cursor = "" if page.next_second is None else self.cursors.encode(page.next_second)
        body = f'{{"entries":[{",".join(entries)}],"response_metadata":{{"next_cursor":"{cursor}"}}}}'.encode()
        if cacheable:
            self.page_cache.put(key, body, len(entries))
        self._send(handler, 200, body, "logs", params, now, kind, entries=len(entries), cut=kind == "cut_body")

    def _check_auth(self, header: str | None) -> tuple[str, int] | None:
        if not header:
            return ("missing_authentication", 401)
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return ("missing_authentication", 401)
        if token == self.token:
            return None
        return ERROR_TOKENS.get(token, ("invalid_authentication", 401))

    def _parse_logs_params(self, params: dict[str, str], now: float) -> tuple[int, int, int, Filters, int]:
        def integer(name: str, default: int) -> int:
            raw = params.get(name)
            if raw is None or raw == "":
                return default
            if not raw.isdigit():
                raise ApiError(
                    "invalid_arguments",
                    f"{name} must be whole unix seconds (digits only), got {raw!r}; do not send floats or "
                    "scientific notation",
                )
            return int(raw)

        oldest = integer("oldest", AUDIT_LOGS_EPOCH)
        latest = integer("latest", int(now))
        raw_limit = params.get("limit")
        if raw_limit is None or raw_limit == "":
            limit = self.default_limit
        elif not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise ApiError("invalid_arguments", f"limit must be an integer from 1 to {MAX_LIMIT}, got {raw_limit!r}")
        else:
            limit = int(raw_limit)
        if oldest > latest:
            raise ApiError("invalid_range", f"oldest={oldest} is after latest={latest}")
        if latest < AUDIT_LOGS_EPOCH:
            raise ApiError("invalid_range", "the range ends before 2018-03-15, when audit logs begin")
        if oldest > now:
            raise ApiError("invalid_range", "the range starts in the future")
        action = params.get("action")
        actions = None
        if action is not None and action != "":
            names = action.split(",")
            if len(names) > MAX_ACTIONS:
                raise ApiError("invalid_arguments", f"at most {MAX_ACTIONS} actions per call, got {len(names)}")
            if any(name not in catalog.KNOWN_ACTIONS for name in names):
                raise ApiError("invalid_action", "unknown action; see GET actions")
            actions = action_indexes(names)
        filters = Filters(actions, params.get("actor") or None, params.get("entity") or None)
        start = latest
        cursor = params.get("cursor")
        if cursor:
            try:
                start = self.cursors.decode(cursor)
            except InvalidCursor as exc:
                raise ApiError("invalid_cursor", str(exc)) from exc
        return oldest, latest, limit, filters, start

    # ------------------------------------------------------------------ sending
    def _send_error(
        self,
        handler: EmulatorRequestHandler,
        status: int,
        code: str,
        endpoint: str,
        params: dict[str, str],
        now: float,
        fault: str | None = None,
        message: str | None = None,
    ) -> None:
        body: dict = {"ok": False, "error": code}
        if message and code == "invalid_arguments":
            body["response_metadata"] = {"messages": [f"[ERROR] {message}"]}
        self._send(handler, status, json.dumps(body).encode(), endpoint, params, now, fault)

    def _send(
        self,
        handler: EmulatorRequestHandler,
        status: int,
        body: bytes,
        endpoint: str,
        params: dict[str, str],
        now: float,
        fault: str | None,
        *,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json; charset=utf-8",
        entries: int = 0,
        cut: bool = False,
    ) -> None:
        self.request_log.add(RequestRecord(endpoint, params, status, fault, entries, now))
        write_response(handler, status, body, now, headers=headers, content_type=content_type, cut=cut)


def _outside_entry(second: int) -> str:
    """An event dated ``second``, outside the bounds asked for (the ``outside_window`` fault)."""
    user = '{"type":"user","user":{"id":"W0OUTSIDE","name":"outside","email":"outside@example.com"}}'
    return (
        f'{{"id":"outside-{second}","date_create":{second},"action":"user_login","actor":{user},"entity":{user},'
        '"context":{"location":{"type":"enterprise","id":"E0OUTSIDE","name":"outside","domain":"outside"},'
        '"ua":"emulator","ip_address":"127.0.0.1"}}'
    )


class ApiError(Exception):
    """A call the API refuses with ``400`` and this error ``code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
