"""Failures on request, and the organisation-wide rate limit.

A fault is armed with :meth:`FaultController.add` and fires on the calls it targets:

==================== =====================================================================
kind                 what the client sees
==================== =====================================================================
``http_500`` (and    that HTTP status with ``{"ok": false, "error": "internal_error"}``-style
``http_502``,        body (the 5xx a retrying client must survive)
``http_503``,
``http_504``)
``reset``            the TCP connection is reset before any response byte
``slow``             the response starts only after ``delay`` seconds (read timeouts)
``cut_body``         a 200 whose body stops half-way, then the connection closes
``not_json``         a 200 with an HTML body (a proxy or load balancer page)
``duplicate_entries`` a normal page in which ``duplicates`` entries appear twice
``reject_cursor``    a request that carries a cursor gets ``400 invalid_cursor``
``rate_limit_burst`` ``429`` with ``Retry-After: retry_after`` (no rate limiter needed)
``outside_window``   a normal page with two more events, dated one second after ``latest`` (first)
                     and one second before ``oldest`` (last): a server that overshoots the bounds
``lone_surrogate``   a normal page in which every user agent ends with half an emoji, a lone
                     surrogate escape (``\\ud83d``): :func:`with_lone_surrogate` of each entry
``entry_without_id`` a normal page whose first entry has no ``id``
==================== =====================================================================

Targeting: ``endpoint`` (``"logs"`` by default, or ``"schemas"``, ``"actions"``, ``"any"``),
``cursor_only`` (only requests with a cursor: page 2 onwards), ``skip`` (let this many matching
calls through first) or ``on_call=N`` (only the N-th matching call after the fault was added),
``count`` (how many times it fires; ``None`` = for ever), ``probability`` (fire on that share of
the matching calls, decided by a seeded PRNG so runs repeat).
"""

from __future__ import annotations

import math
import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, fields

FAULT_KINDS = frozenset(
    {
        "http_500",
        "http_502",
        "http_503",
        "http_504",
        "reset",
        "slow",
        "cut_body",
        "not_json",
        "duplicate_entries",
        "reject_cursor",
        "rate_limit_burst",
        "outside_window",
        "lone_surrogate",
        "entry_without_id",
    }
)
ENDPOINTS = frozenset({"logs", "schemas", "actions", "any"})
#: Faults that change the entries of a ``logs`` page (they never fire on another endpoint).
_PAGE_FAULTS = frozenset({"duplicate_entries", "lone_surrogate", "entry_without_id"})
_USER_AGENT = re.compile(r'("ua":"(?:[^"\\]|\\.)*)"')
_ID = re.compile(r'"id":"(?:[^"\\]|\\.)*",')


def with_lone_surrogate(entry: str) -> str:
    """``entry`` (an event's JSON text) with its user agent ending in half an emoji (``\\ud83d``).

    What a producer that cuts a string inside a surrogate pair sends; an entry without ``"ua"`` is unchanged.
    """
    return _USER_AGENT.sub(lambda m: m.group(1) + '\\ud83d"', entry, count=1)


def without_id(entry: str) -> str:
    """``entry`` without its (first) ``"id"`` member."""
    return _ID.sub("", entry, count=1)


@dataclass
class FaultSpec:
    """One armed fault. See the module docstring for the kinds and the targeting fields."""

    kind: str
    count: int | None = 1
    skip: int = 0
    endpoint: str = "logs"
    cursor_only: bool = False
    probability: float = 1.0
    delay: float = 2.0
    retry_after: int = 1
    duplicates: int = 3
    error: str = "ratelimited"
    seen: int = field(default=0, init=False)
    fired: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; choose one of {sorted(FAULT_KINDS)}")
        if self.endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {self.endpoint!r}; choose one of {sorted(ENDPOINTS)}")
        if self.count is not None and self.count < 1:
            raise ValueError(f"count={self.count} must be >= 1, or None for a fault that never runs out")
        if self.skip < 0:
            raise ValueError(f"skip={self.skip} must be >= 0")
        if not 0.0 < self.probability <= 1.0:
            raise ValueError(f"probability={self.probability} must be in (0, 1]")
        if self.delay < 0 or self.retry_after < 0 or self.duplicates < 1:
            raise ValueError("delay and retry_after must be >= 0 and duplicates >= 1")
        if self.error not in ("ratelimited", "rate_limited"):
            raise ValueError(f"error={self.error!r} must be 'ratelimited' or 'rate_limited'")

    def options(self) -> dict[str, object]:
        """The targeting fields as :meth:`FaultController.add` takes them (arms a fresh copy, nothing fired)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.init and f.name != "kind"}

    @property
    def exhausted(self) -> bool:
        """True once the fault has fired ``count`` times."""
        return self.count is not None and self.fired >= self.count

    @property
    def status(self) -> int:
        """The HTTP status of an ``http_5xx`` fault."""
        return int(self.kind.removeprefix("http_"))


class FaultController:
    """The faults armed on one emulator; thread-safe. ``emu.faults`` in tests."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._faults: list[FaultSpec] = []
        self._rng = random.Random(seed)
        self.fired: Counter[str] = Counter()

    def add(self, kind: str, *, on_call: int | None = None, **options: object) -> FaultSpec:
        """Arm a fault; returns it (its ``fired`` attribute counts how often it hit).

        Args:
            kind: One of :data:`FAULT_KINDS`.
            on_call: Only the N-th matching call (1-based) after this one; shorthand for
                ``skip=N-1, count=1``.
            options: Any :class:`FaultSpec` field: ``count``, ``skip``, ``endpoint``,
                ``cursor_only``, ``probability``, ``delay``, ``retry_after``, ``duplicates``,
                ``error``.
        """
        if on_call is not None:
            if on_call < 1:
                raise ValueError(f"on_call={on_call} is 1-based: the first matching call is 1")
            options = {**options, "skip": on_call - 1, "count": 1}
        spec = FaultSpec(kind, **options)  # type: ignore[arg-type]
        with self._lock:
            self._faults.append(spec)
        return spec

    def clear(self) -> None:
        """Disarm every fault and forget what fired."""
        with self._lock:
            self._faults.clear()
            self.fired.clear()

    @property
    def armed(self) -> list[FaultSpec]:
        """The faults that can still fire."""
        with self._lock:
            return [f for f in self._faults if not f.exhausted]

    def pick(self, endpoint: str, has_cursor: bool) -> FaultSpec | None:
        """The fault to inject into this call, if any (the first armed one that matches)."""
        with self._lock:
            for spec in self._faults:
                if spec.exhausted:
                    continue
                if spec.endpoint not in ("any", endpoint):
                    continue
                if (spec.cursor_only or spec.kind == "reject_cursor") and not has_cursor:
                    continue
                if spec.kind in _PAGE_FAULTS and endpoint != "logs":
                    continue
                spec.seen += 1
                if spec.seen <= spec.skip:
                    continue
                if spec.probability < 1.0 and self._rng.random() >= spec.probability:
                    continue
                spec.fired += 1
                self.fired[spec.kind] += 1
                return spec
        return None


def parse_fault(text: str) -> FaultSpec:
    """Parse a CLI fault ``KIND[:key=value,...]``, e.g. ``http_503:probability=0.05``.

    Without ``count``, a CLI fault never runs out (``count=None``).
    """
    kind, _, rest = text.partition(":")
    options: dict[str, object] = {"count": None}
    types = {
        "count": int,
        "skip": int,
        "endpoint": str,
        "cursor_only": lambda v: v.lower() in ("1", "true", "yes"),
        "probability": float,
        "delay": float,
        "retry_after": int,
        "duplicates": int,
        "error": str,
    }
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep or key not in types:
            raise ValueError(f"bad fault option {item!r} in {text!r}; use key=value with key in {sorted(types)}")
        try:
            options[key] = types[key](value)  # type: ignore[operator]
        except ValueError as exc:
            raise ValueError(f"bad value for {key} in {text!r}: {exc}") from exc
    return FaultSpec(kind.strip(), **options)  # type: ignore[arg-type]


class RateLimiter:
    """A token bucket: ``calls_per_minute`` sustained, bursts up to ``burst`` calls at once.

    Args:
        calls_per_minute: Sustained rate; 0 or ``None`` turns limiting off.
        burst: Bucket size (default: a minute's worth, which is Slack's "sporadic bursts").
    """

    def __init__(self, calls_per_minute: float | None = 0, burst: int | None = None) -> None:
        self._lock = threading.Lock()
        self.configure(calls_per_minute, burst)

    def configure(self, calls_per_minute: float | None, burst: int | None = None) -> None:
        """Change the limit (the bucket starts full)."""
        if calls_per_minute is not None and calls_per_minute < 0:
            raise ValueError(f"calls_per_minute={calls_per_minute} must be >= 0 (0 turns the limit off)")
        if burst is not None and burst < 1:
            raise ValueError(f"burst={burst} must be >= 1")
        with self._lock:
            self.calls_per_minute = calls_per_minute or 0
            self.capacity = float(burst if burst is not None else max(1, math.ceil(self.calls_per_minute)))
            self._tokens = self.capacity
            self._stamp = time.monotonic()

    def acquire(self) -> int | None:
        """Take one call; ``None`` if allowed, else the ``Retry-After`` seconds to send with a 429."""
        if not self.calls_per_minute:
            return None
        with self._lock:
            now = time.monotonic()
            rate = self.calls_per_minute / 60.0
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * rate)
            self._stamp = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return None
            return max(1, math.ceil((1.0 - self._tokens) / rate))
