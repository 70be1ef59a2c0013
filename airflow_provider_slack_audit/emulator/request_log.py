"""The emulator's record of the calls it received, and the counters drawn from it.

:meta private:

Import :class:`RequestRecord` and :class:`EmulatorStats` from
:mod:`airflow_provider_slack_audit.emulator` (or its ``server`` module). :class:`RequestLog` is
what the server writes each answered call to, from its request threads, and what
``Emulator.requests``, ``all_requests`` and ``stats`` read.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field

#: How many calls the log keeps (the oldest go first).
MAX_RECORDS = 100_000


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


class RequestLog:
    """The calls received (the last :data:`MAX_RECORDS`) and counters over all of them; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: deque[RequestRecord] = deque(maxlen=MAX_RECORDS)
        self._calls: Counter[str] = Counter()
        self._responses: Counter[int] = Counter()
        self._rate_limited = 0
        self._entries_served = 0

    def add(self, record: RequestRecord) -> None:
        """Record one answered (or reset) call and count it."""
        with self._lock:
            self._records.append(record)
            self._calls[record.endpoint] += 1
            self._responses[record.status] += 1
            if record.status == 429:
                self._rate_limited += 1
            self._entries_served += record.entries

    def stats(self, faults: Mapping[str, int]) -> EmulatorStats:
        """The counters, with ``faults`` (the faults fired, per kind) copied alongside them."""
        with self._lock:
            return EmulatorStats(
                calls=dict(self._calls),
                responses=dict(self._responses),
                rate_limited=self._rate_limited,
                faults=dict(faults),
                entries_served=self._entries_served,
            )

    def records(self, endpoint: str | None = None) -> list[RequestRecord]:
        """The calls kept, oldest first: all of them, or those to ``endpoint``."""
        with self._lock:
            if endpoint is None:
                return list(self._records)
            return [r for r in self._records if r.endpoint == endpoint]

    def clear(self) -> None:
        """Forget every call and zero the counters."""
        with self._lock:
            self._records.clear()
            self._calls.clear()
            self._responses.clear()
            self._rate_limited = 0
            self._entries_served = 0
