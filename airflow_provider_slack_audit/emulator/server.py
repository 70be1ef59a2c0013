"""The emulator: Slack's Audit Logs API on loopback, with faults and a rate limit on request.

:class:`Emulator` is both the server and the handle tests hold (``slack_audit_emulator``): it holds
the configuration and the state, starts and stops the server, and answers a test's questions. The
work is done in internal modules: :mod:`.routing` (what a call is answered with), :mod:`.http_server`
(sockets and threads), :mod:`.request_log` (the calls received and the counters),
:mod:`.late_events` (late arrivals) and :mod:`.page_cache`. :class:`RequestRecord`,
:class:`EmulatorStats`, :data:`DEFAULT_TOKEN` and :data:`ERROR_TOKENS` are imported from here.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from urllib.parse import quote, urlencode

from airflow_provider_slack_audit.emulator.cursor import CursorCodec
from airflow_provider_slack_audit.emulator.dataset import (
    DEFAULT_END,
    DEFAULT_EVENTS_PER_HOUR,
    DEFAULT_START,
    Dataset,
    DatasetConfig,
)
from airflow_provider_slack_audit.emulator.faults import FaultController, FaultSpec, RateLimiter
from airflow_provider_slack_audit.emulator.http_server import EmulatorHTTPServer
from airflow_provider_slack_audit.emulator.late_events import LateWindows
from airflow_provider_slack_audit.emulator.page_cache import PageCache
from airflow_provider_slack_audit.emulator.request_log import EmulatorStats, RequestLog, RequestRecord
from airflow_provider_slack_audit.emulator.routing import (
    BASE_PATH,
    DEFAULT_TOKEN,
    ERROR_TOKENS,
    MAX_ACTIONS,
    MAX_LIMIT,
    AuditLogsApi,
)

__all__ = [
    "DEFAULT_TOKEN",
    "ERROR_TOKENS",
    "MAX_ACTIONS",
    "MAX_LIMIT",
    "Emulator",
    "EmulatorStats",
    "PageCache",
    "RequestRecord",
    "to_epoch",
]


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
        self._initial_rate = (rate_limit, rate_limit_burst)
        if page_cache_mb < 0:
            raise ValueError(f"page_cache_mb={page_cache_mb} must be >= 0 (0 turns the page cache off)")
        self._page_cache = PageCache(int(page_cache_mb * 1e6))
        self._initial_faults = list(faults)
        self.faults = FaultController(seed)
        self.rate_limiter = RateLimiter(rate_limit, rate_limit_burst)
        self._late = LateWindows()
        self._log = RequestLog()
        self._api = AuditLogsApi(
            dataset=self.dataset,
            token=token,
            cursors=CursorCodec(f"{seed}:{token}".encode()),
            faults=self.faults,
            rate_limiter=self.rate_limiter,
            rate_limit_error=rate_limit_error,
            default_limit=default_limit,
            page_time_budget=page_time_budget,
            page_cache=self._page_cache,
            late=self._late,
            request_log=self._log,
        )
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._rearm_faults()

    def __repr__(self) -> str:  # never shows the token
        state = f"{self.base_url}" if self._server else "not started"
        return f"<Emulator {state} seed={self.dataset.config.seed}>"

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> Emulator:
        """Bind and serve in a background thread; returns ``self``."""
        if self._server is not None:
            return self
        self._server = EmulatorHTTPServer((self.host, self._port), self._api.serve)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="slack-audit-emulator", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Bind (if needed) and serve in the calling thread until :meth:`stop` or KeyboardInterrupt."""
        if self._server is None:
            self._server = EmulatorHTTPServer((self.host, self._port), self._api.serve)
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
        return f"http://{host}:{self._port}{BASE_PATH}"

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
            visible=None if include_late else self._late.visible_hook(),
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
        return self._late.add(oldest, latest, delay=delay)

    def set_rate_limit(self, calls_per_minute: float | None, *, burst: int | None = None) -> None:
        """Turn the org-wide rate limit on (calls per minute, optional burst size) or off (0/None)."""
        self.rate_limiter.configure(calls_per_minute, burst)

    @property
    def stats(self) -> EmulatorStats:
        """Counters since the last :meth:`reset`."""
        return self._log.stats(self.faults.fired)

    @property
    def requests(self) -> list[RequestRecord]:
        """Every ``logs`` call since the last :meth:`reset`, oldest first, with its query params."""
        return self._log.records("logs")

    @property
    def all_requests(self) -> list[RequestRecord]:
        """Every call (any endpoint) since the last :meth:`reset`."""
        return self._log.records()

    def reset(self) -> None:
        """Back to the configured state: faults, late windows, rate limit, counters and records."""
        self.faults.clear()
        self._rearm_faults()
        self.rate_limiter.configure(*self._initial_rate)
        self._late.clear()
        self._log.clear()

    def _rearm_faults(self) -> None:
        for spec in self._initial_faults:
            self.faults.add(spec.kind, **spec.options())

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
