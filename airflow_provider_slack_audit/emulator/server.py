"""The HTTP server: Slack's Audit Logs API on loopback, with faults and a rate limit on request.

:class:`Emulator` is both the server and the handle tests hold (``slack_audit_emulator``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import struct
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from airflow_provider_slack_audit.emulator import catalog
from airflow_provider_slack_audit.emulator.cursor import CursorCodec, InvalidCursor
from airflow_provider_slack_audit.emulator.dataset import (
    AUDIT_LOGS_EPOCH,
    DEFAULT_END,
    DEFAULT_EVENTS_PER_HOUR,
    DEFAULT_START,
    Dataset,
    DatasetConfig,
    Filters,
    action_indexes,
)
from airflow_provider_slack_audit.emulator.faults import FaultController, FaultSpec, RateLimiter

log = logging.getLogger("airflow_provider_slack_audit.emulator")

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
_BASE_PATH = "/audit/v1/"
_ENDPOINTS = ("logs", "schemas", "actions")


class _Abort(Exception):
    """The handler dropped the connection on purpose (fault injection)."""


def to_epoch(value: int | float | str | datetime) -> int:
    """Unix seconds from an int, a datetime, or an ISO-8601 string (naive = UTC)."""
    if isinstance(value, bool):
        raise TypeError("a time must be unix seconds, an ISO-8601 string or a datetime, not a bool")
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(f"{text!r} is not unix seconds or an ISO-8601 date/time (e.g. 2024-01-01)") from exc
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return int(value.timestamp())
    raise TypeError(f"cannot read a time from {type(value).__name__}")


@dataclass(frozen=True)
class RequestRecord:
    """One call the emulator received.

    Attributes:
        endpoint: ``logs``, ``schemas``, ``actions`` or the unknown path asked for.
        params: The query parameters as received (strings; the last value of a repeated one).
        status: HTTP status sent (0 for a connection reset).
        fault: Kind of the fault injected into this call, if any.
        entries: Entries in the page served (with duplicates), for ``logs``.
        time: Wall-clock time the call arrived.
    """

    endpoint: str
    params: dict[str, str]
    status: int
    fault: str | None = None
    entries: int = 0
    time: float = 0.0

    @property
    def cursor(self) -> str | None:
        """The cursor sent, if any."""
        return self.params.get("cursor")

    def __getitem__(self, key: str) -> str:
        return self.params[key]

    def get(self, key: str, default: str | None = None) -> str | None:
        """A query parameter, or ``default``."""
        return self.params.get(key, default)


@dataclass(frozen=True)
class EmulatorStats:
    """Counters since the last reset. ``stats["logs"]`` is the number of ``logs`` calls.

    Attributes:
        calls: Calls per endpoint.
        responses: Responses per HTTP status (0 = connection reset).
        rate_limited: 429s served (by the rate limiter or a ``rate_limit_burst`` fault).
        faults: Faults injected, per kind.
        entries_served: Entries sent in ``logs`` pages (duplicates included).
    """

    calls: dict[str, int] = field(default_factory=dict)
    responses: dict[int, int] = field(default_factory=dict)
    rate_limited: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    entries_served: int = 0

    def __getitem__(self, endpoint: str) -> int:
        return self.calls.get(endpoint, 0)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        self.emulator = emulator
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request, client_address):  # type: ignore[no-untyped-def]
        with self.conn_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):  # type: ignore[no-untyped-def]
        with self.conn_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):  # type: ignore[no-untyped-def]
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, _Abort | ConnectionError | TimeoutError | ValueError | OSError):
            return
        log.exception("emulator: error while serving a request")

    def close_connections(self) -> None:
        with self.conn_lock:
            conns = list(self.connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SlackAuditLogsEmulator/1"
    sys_version = ""
    timeout = 120  # idle keep-alive connections close after this
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    server: _Server

    def do_GET(self) -> None:
        self.server.emulator._serve(self, "GET")

    def _other(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.emulator._serve(self, self.command)

    do_POST = do_PUT = do_DELETE = do_PATCH = _other

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The request line holds the path and query only, never the Authorization header.
        log.debug('"%s" %s', self.requestline, code)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("emulator: " + format, *args)


class PageCache:
    """Rendered ``logs`` answers by query, least recently used first out, bounded in bytes."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._size = 0
        self._pages: OrderedDict[Hashable, tuple[bytes, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[bytes, int] | None:
        with self._lock:
            hit = self._pages.get(key)
            if hit is not None:
                self._pages.move_to_end(key)
            return hit

    def put(self, key: Hashable, body: bytes, entries: int) -> None:
        if len(body) > self.capacity:
            return
        with self._lock:
            old = self._pages.pop(key, None)
            if old is not None:
                self._size -= len(old[0])
            self._pages[key] = (body, entries)
            self._size += len(body)
            while self._size > self.capacity:
                _, (dropped, _) = self._pages.popitem(last=False)
                self._size -= len(dropped)


class Emulator:
    """A running (or startable) Slack Audit Logs API emulator, and the handle tests use.

    Args:
        host: Interface to listen on.
        port: TCP port; 0 picks a free one (see :attr:`port` once started).
        token: The one token ``logs`` accepts (``Authorization: Bearer <token>``).
        seed: Seed of the generated data.
        start, end: Span of the data (unix seconds, ISO-8601 or datetime; inclusive). ``end=None``
            or ``"now"`` makes an open-ended, live stream: events keep arriving in real time.
        events_per_hour, events_per_day: Average volume (give at most one).
        bursts_per_hour: Average number of seconds per hour that hold hundreds of events.
        ingest_lag: Up to this many seconds between an event and its appearance in the API.
        rate_limit: Calls per minute across all endpoints (0 = no limit).
        rate_limit_burst: Calls allowed at once before the limit bites (default: a minute's worth).
        rate_limit_error: Error code of a 429 body: ``ratelimited`` (seen in the wild) or
            ``rate_limited`` (the documented spelling).
        default_limit: Page size when a ``logs`` call sends no ``limit`` (Slack documents none).
        page_cache_mb: Keep up to this many MB of rendered ``logs`` pages and answer a repeated
            query from memory (0 = off). Only answers that cannot change are kept: no fault, no
            late window, a dataset whose ``end`` (plus ``ingest_lag``) is past. For benchmarks, so
            that reading a window again costs the emulator a copy, not a render.
        page_time_budget: Seconds a ``logs`` call may spend scanning before it returns a short
            page with a cursor (filters that match rarely over long windows).
        faults: Faults armed for the emulator's whole life (re-armed by :meth:`reset`).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = DEFAULT_TOKEN,
        seed: int = 0,
        start: int | str | datetime = DEFAULT_START,
        end: int | str | datetime | None = DEFAULT_END,
        events_per_hour: float | None = None,
        events_per_day: float | None = None,
        bursts_per_hour: float = 0.25,
        ingest_lag: int = 0,
        rate_limit: float = 0,
        rate_limit_burst: int | None = None,
        rate_limit_error: str = "ratelimited",
        default_limit: int = 100,
        page_time_budget: float = 2.0,
        faults: Iterable[FaultSpec] = (),
        page_cache_mb: float = 0,
    ) -> None:
        if not token or not token.strip() or any(c.isspace() for c in token):
            raise ValueError("token must be a non-empty string without spaces, e.g. 'xoxp-...'")
        if token in ERROR_TOKENS:
            raise ValueError(f"token {token[:14]}... is reserved for emulating the error {ERROR_TOKENS[token][0]}")
        if events_per_hour is not None and events_per_day is not None:
            raise ValueError("give events_per_hour or events_per_day, not both")
        if rate_limit_error not in ("ratelimited", "rate_limited"):
            raise ValueError("rate_limit_error must be 'ratelimited' or 'rate_limited'")
        if not 1 <= default_limit <= MAX_LIMIT:
            raise ValueError(f"default_limit={default_limit} must be between 1 and {MAX_LIMIT}")
        if events_per_day is not None:
            events_per_hour = events_per_day / 24.0
        end_s = None if end is None or (isinstance(end, str) and end.strip().lower() == "now") else to_epoch(end)
        self.dataset = Dataset(
            DatasetConfig(
                seed=seed,
                start=to_epoch(start),
                end=end_s,
                events_per_hour=DEFAULT_EVENTS_PER_HOUR if events_per_hour is None else float(events_per_hour),
                bursts_per_hour=bursts_per_hour,
                ingest_lag=ingest_lag,
            )
        )
        self.host = host
        self._port = port
        self._token = token
        self._cursors = CursorCodec(f"{seed}:{token}".encode())
        self._initial_rate = (rate_limit, rate_limit_burst)
        self._rate_limit_error = rate_limit_error
        self._default_limit = default_limit
        self._page_budget = page_time_budget
        if page_cache_mb < 0:
            raise ValueError(f"page_cache_mb={page_cache_mb} must be >= 0 (0 turns the page cache off)")
        self._page_cache = PageCache(int(page_cache_mb * 1e6))
        self._initial_faults = list(faults)
        self.faults = FaultController(seed)
        self.rate_limiter = RateLimiter(rate_limit, rate_limit_burst)
        self._lock = threading.Lock()
        self._records: deque[RequestRecord] = deque(maxlen=100_000)
        self._calls: Counter[str] = Counter()
        self._responses: Counter[int] = Counter()
        self._rate_limited = 0
        self._entries_served = 0
        self._late: list[tuple[int, int, float]] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._schemas = json.dumps(catalog.schemas_body(), separators=(",", ":")).encode()
        self._actions = json.dumps(catalog.actions_body(), separators=(",", ":")).encode()
        self._rearm_faults()

    def __repr__(self) -> str:  # never shows the token
        state = f"{self.base_url}" if self._server else "not started"
        return f"<Emulator {state} seed={self.dataset.config.seed}>"

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> Emulator:
        """Bind and serve in a background thread; returns ``self``."""
        if self._server is not None:
            return self
        self._server = _Server((self.host, self._port), self)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="slack-audit-emulator", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Bind (if needed) and serve in the calling thread until :meth:`stop` or KeyboardInterrupt."""
        if self._server is None:
            self._server = _Server((self.host, self._port), self)
            self._port = self._server.server_address[1]
        self._server.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        """Stop serving, close every connection and the listening socket."""
        server, self._server = self._server, None
        if server is None:
            return
        if self._thread is not None:
            server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        server.close_connections()
        server.server_close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -------------------------------------------------------------- the handle
    @property
    def port(self) -> int:
        """The TCP port (the real one once started with ``port=0``)."""
        return self._port

    @property
    def base_url(self) -> str:
        """``http://host:port/audit/v1/``: what a client takes as its ``base_url``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}{_BASE_PATH}"

    @property
    def token(self) -> str:
        """The token ``logs`` accepts."""
        return self._token

    @property
    def error_tokens(self) -> dict[str, str]:
        """Error code -> a token that makes ``logs`` answer with it (e.g. ``feature_not_enabled``)."""
        return {code: tok for tok, (code, _) in ERROR_TOKENS.items()}

    def events(
        self,
        oldest: int,
        latest: int,
        *,
        action: str | Sequence[str] | None = None,
        actor: str | None = None,
        entity: str | None = None,
        include_late: bool = True,
    ) -> list[dict]:
        """Exactly the entries a correct client must collect for this inclusive window and these
        filters, newest first, each id once, from the same generator the server uses.

        Args:
            include_late: Also the events of :meth:`late_events` windows that are not visible yet
                (what a client that waits long enough gets); ``False``: only what is visible now.
        """
        if not isinstance(oldest, int) or not isinstance(latest, int):
            raise TypeError("oldest and latest must be int unix seconds (inclusive)")
        return self.dataset.events(
            oldest,
            latest,
            action=action,
            actor=actor,
            entity=entity,
            visible=None if include_late else self._visible_hook(),
        )

    def jsonl(self, oldest: int, latest: int) -> bytes:
        """The entries of the inclusive window as this server renders them, one per line, newest first.

        Slack's bytes as an export that copies them writes them (the object storage operator, a late file),
        without filters and late events included.
        """
        entries = self.dataset.page(oldest=oldest, latest=latest, limit=None).entries
        return "".join(entry + "\n" for entry in entries).encode()

    def count(self, oldest: int, latest: int) -> int:
        """How many events the inclusive window holds without filters (cheap: no rendering)."""
        return self.dataset.count(oldest, latest)

    def late_events(self, oldest: int, latest: int, *, delay: float) -> float:
        """Hide the events of ``[oldest, latest]`` for ``delay`` seconds from now (late arrivals).

        Returns the wall-clock time at which they appear.
        """
        if oldest > latest:
            raise ValueError(f"oldest={oldest} is after latest={latest}")
        if delay < 0:
            raise ValueError(f"delay={delay} must be >= 0 seconds")
        visible_at = time.time() + delay
        with self._lock:
            self._late.append((oldest, latest, visible_at))
        return visible_at

    def set_rate_limit(self, calls_per_minute: float | None, *, burst: int | None = None) -> None:
        """Turn the org-wide rate limit on (calls per minute, optional burst size) or off (0/None)."""
        self.rate_limiter.configure(calls_per_minute, burst)

    @property
    def stats(self) -> EmulatorStats:
        """Counters since the last :meth:`reset`."""
        with self._lock:
            return EmulatorStats(
                calls=dict(self._calls),
                responses=dict(self._responses),
                rate_limited=self._rate_limited,
                faults=dict(self.faults.fired),
                entries_served=self._entries_served,
            )

    @property
    def requests(self) -> list[RequestRecord]:
        """Every ``logs`` call since the last :meth:`reset`, oldest first, with its query params."""
        with self._lock:
            return [r for r in self._records if r.endpoint == "logs"]

    @property
    def all_requests(self) -> list[RequestRecord]:
        """Every call (any endpoint) since the last :meth:`reset`."""
        with self._lock:
            return list(self._records)

    def reset(self) -> None:
        """Back to the configured state: faults, late windows, rate limit, counters and records."""
        self.faults.clear()
        self._rearm_faults()
        self.rate_limiter.configure(*self._initial_rate)
        with self._lock:
            self._late.clear()
            self._records.clear()
            self._calls.clear()
            self._responses.clear()
            self._rate_limited = 0
            self._entries_served = 0

    def _rearm_faults(self) -> None:
        for spec in self._initial_faults:
            self.faults.add(
                spec.kind,
                count=spec.count,
                skip=spec.skip,
                endpoint=spec.endpoint,
                cursor_only=spec.cursor_only,
                probability=spec.probability,
                delay=spec.delay,
                retry_after=spec.retry_after,
                duplicates=spec.duplicates,
                error=spec.error,
            )

    def airflow_conn_json(self, extra: dict | None = None) -> str:
        """A value for ``AIRFLOW_CONN_<ID>`` (JSON form) that points a hook at this emulator."""
        return json.dumps(
            {"conn_type": "slack_audit", "password": self._token, "extra": {"base_url": self.base_url, **(extra or {})}}
        )

    def airflow_conn_uri(self, extra: dict | None = None) -> str:
        """The same connection in Airflow's URI form: ``slack-audit://:<token>@/?base_url=...``.

        Airflow turns the ``-`` of the scheme into ``_``, so the conn_type is ``slack_audit``.
        """
        query = urlencode({"base_url": self.base_url, **{k: str(v) for k, v in (extra or {}).items()}})
        return f"slack-audit://:{quote(self._token, safe='')}@/?{query}"

    # ------------------------------------------------------------------ serving
    def _visible_hook(self):  # type: ignore[no-untyped-def]
        with self._lock:
            windows = list(self._late)
        if not windows:
            return None

        def visible(second: int) -> float | None:
            at = None
            for lo, hi, visible_at in windows:
                if lo <= second <= hi and (at is None or visible_at > at):
                    at = visible_at
            return at

        return visible

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)
            self._calls[record.endpoint] += 1
            self._responses[record.status] += 1
            if record.status == 429:
                self._rate_limited += 1
            self._entries_served += record.entries

    def _serve(self, handler: _Handler, method: str) -> None:
        url = urlsplit(handler.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        path = url.path
        endpoint = path[len(_BASE_PATH) :].strip("/") if path.startswith(_BASE_PATH) else path
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
                self._record(RequestRecord(endpoint, params, 0, kind, 0, now))
                self._reset_connection(handler)
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
            body = json.dumps({"ok": False, "error": self._rate_limit_error}).encode()
            self._send(handler, 429, body, endpoint, params, now, kind, headers={"Retry-After": str(retry_after)})
            return
        if endpoint == "schemas":
            self._send(handler, 200, self._schemas, endpoint, params, now, kind, cut=kind == "cut_body")
            return
        if endpoint == "actions":
            self._send(handler, 200, self._actions, endpoint, params, now, kind, cut=kind == "cut_body")
            return
        self._serve_logs(handler, params, now, fault)

    def _serve_logs(self, handler: _Handler, params: dict[str, str], now: float, fault: FaultSpec | None) -> None:
        kind = fault.kind if fault else None
        error = self._check_auth(handler.headers.get("Authorization"))
        if error is not None:
            self._send_error(handler, error[1], error[0], "logs", params, now, kind)
            return
        try:
            oldest, latest, limit, filters, start = self._parse_logs_params(params, now)
        except _ApiError as exc:
            self._send_error(handler, 400, exc.code, "logs", params, now, kind, message=exc.message)
            return
        visible = self._visible_hook()
        cfg = self.dataset.config
        key = (oldest, min(latest, start), limit, filters)
        cacheable = (
            self._page_cache.capacity > 0
            and kind is None
            and visible is None
            and cfg.end is not None
            and cfg.end + cfg.ingest_lag < now
        )
        cached = self._page_cache.get(key) if cacheable else None
        if cached is not None:
            body, count = cached
            self._send(handler, 200, body, "logs", params, now, kind, entries=count)
            return
        deadline = time.perf_counter() + self._page_budget if self._page_budget else None
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
        cursor = "" if page.next_second is None else self._cursors.encode(page.next_second)
        body = f'{{"entries":[{",".join(entries)}],"response_metadata":{{"next_cursor":"{cursor}"}}}}'.encode()
        if cacheable:
            self._page_cache.put(key, body, len(entries))
        self._send(handler, 200, body, "logs", params, now, kind, entries=len(entries), cut=kind == "cut_body")

    def _check_auth(self, header: str | None) -> tuple[str, int] | None:
        if not header:
            return ("missing_authentication", 401)
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return ("missing_authentication", 401)
        if token == self._token:
            return None
        return ERROR_TOKENS.get(token, ("invalid_authentication", 401))

    def _parse_logs_params(self, params: dict[str, str], now: float) -> tuple[int, int, int, Filters, int]:
        def integer(name: str, default: int) -> int:
            raw = params.get(name)
            if raw is None or raw == "":
                return default
            if not raw.isdigit():
                raise _ApiError(
                    "invalid_arguments",
                    f"{name} must be whole unix seconds (digits only), got {raw!r}; do not send floats or "
                    "scientific notation",
                )
            return int(raw)

        oldest = integer("oldest", AUDIT_LOGS_EPOCH)
        latest = integer("latest", int(now))
        raw_limit = params.get("limit")
        if raw_limit is None or raw_limit == "":
            limit = self._default_limit
        elif not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise _ApiError("invalid_arguments", f"limit must be an integer from 1 to {MAX_LIMIT}, got {raw_limit!r}")
        else:
            limit = int(raw_limit)
        if oldest > latest:
            raise _ApiError("invalid_range", f"oldest={oldest} is after latest={latest}")
        if latest < AUDIT_LOGS_EPOCH:
            raise _ApiError("invalid_range", "the range ends before 2018-03-15, when audit logs begin")
        if oldest > now:
            raise _ApiError("invalid_range", "the range starts in the future")
        action = params.get("action")
        actions = None
        if action is not None and action != "":
            names = action.split(",")
            if len(names) > MAX_ACTIONS:
                raise _ApiError("invalid_arguments", f"at most {MAX_ACTIONS} actions per call, got {len(names)}")
            if any(name not in catalog.KNOWN_ACTIONS for name in names):
                raise _ApiError("invalid_action", "unknown action; see GET actions")
            actions = action_indexes(names)
        filters = Filters(actions, params.get("actor") or None, params.get("entity") or None)
        start = latest
        cursor = params.get("cursor")
        if cursor:
            try:
                start = self._cursors.decode(cursor)
            except InvalidCursor as exc:
                raise _ApiError("invalid_cursor", str(exc)) from exc
        return oldest, latest, limit, filters, start

    # ------------------------------------------------------------------ sending
    def _send_error(
        self,
        handler: _Handler,
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
        handler: _Handler,
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
        self._record(RequestRecord(endpoint, params, status, fault, entries, now))
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("X-Slack-Req-Id", f"emu-{int(now * 1000):x}")
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        if cut:
            handler.wfile.write(body[: max(1, len(body) // 2)])
            handler.wfile.flush()
            handler.close_connection = True
            self._reset_connection(handler, hard=False)
        handler.wfile.write(body)

    @staticmethod
    def _reset_connection(handler: _Handler, hard: bool = True) -> None:
        handler.close_connection = True
        conn = handler.connection
        try:
            if hard:  # RST instead of FIN
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        except OSError:
            pass
        raise _Abort()


def _outside_entry(second: int) -> str:
    """An event dated ``second``, outside the bounds asked for (the ``outside_window`` fault)."""
    user = '{"type":"user","user":{"id":"W0OUTSIDE","name":"outside","email":"outside@example.com"}}'
    return (
        f'{{"id":"outside-{second}","date_create":{second},"action":"user_login","actor":{user},"entity":{user},'
        '"context":{"location":{"type":"enterprise","id":"E0OUTSIDE","name":"outside","domain":"outside"},'
        '"ua":"emulator","ip_address":"127.0.0.1"}}'
    )


class _ApiError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
