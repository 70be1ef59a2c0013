"""Client-side pacing: keep calls ``60 / requests_per_minute`` seconds apart, with an optional burst.

A long backfill that paces itself stays under Slack's organization-wide limit (about 50 calls a
minute, shared with every other app reading the audit logs) instead of bouncing off 429s.
The rule is the Generic Cell Rate Algorithm (GCRA), the "virtual scheduling" form of a token bucket:
each call books the next slot; at most ``burst`` calls may go back to back after an idle spell.

:func:`gcra_step` is the rule's one home in Python. :class:`RequestPacer` applies it to one process's
calls; the shared budget (:mod:`.budget`, state in Redis) applies the same rule in a Lua script, and
a test feeds both the same arrivals to prove they agree.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

from airflow_provider_slack_audit.client.validation import isinstance_strict


def gcra_step(tat: float | None, now: float, interval: float, burst: int) -> tuple[float, float]:
    """One call under GCRA: how long it waits for its slot, and the budget's state after it.

    Args:
        tat: the theoretical arrival time of the next call (the state), None before the first call.
        now: the current time, on the same clock as ``tat``.
        interval: the spacing of calls (``60 / requests_per_minute`` in seconds, or in the clock's unit).
        burst: how many calls may start back to back after an idle spell (1 = strict spacing).

    Returns:
        ``(wait, next_tat)``: the call starts ``wait`` after ``now``; ``next_tat`` is the new state.
    """
    start = now if tat is None else max(tat, now)
    wait = max(0.0, start - (burst - 1) * interval - now)
    return wait, start + interval


def check_rate(requests_per_minute: Any, burst: Any) -> float:
    """``requests_per_minute`` as a float, once both it and ``burst`` are checked (any pacer's settings).

    Raises:
        ValueError: a rate that is not a number > 0, or a burst that is not a whole number >= 1.
    """
    if not isinstance_strict(requests_per_minute, (int, float)) or not 0 < requests_per_minute < math.inf:
        raise ValueError(
            f"requests_per_minute must be a number > 0 (Slack allows about 50 a minute for the whole "
            f"organization), not {requests_per_minute!r}."
        )
    if not isinstance_strict(burst, int) or burst < 1:
        raise ValueError(f"burst must be a whole number >= 1, not {burst!r}.")
    return float(requests_per_minute)


class Pacer:
    """What every pacer shares: its rate, checked once, and :meth:`acquire`, which waits for the slot
    :meth:`delay` books. A pacer says only where slots are booked: :class:`RequestPacer` in this process,
    the shared budget's pacers (:mod:`.budget`) in Redis (the async one through ``adelay`` only).

    Args:
        requests_per_minute: the sustained rate; calls are ``60 / requests_per_minute`` seconds apart.
        burst: how many calls may start back to back after an idle spell (1 = strict spacing).
        sleep: how :meth:`acquire` waits for a slot (injectable for tests).
    """

    def __init__(
        self, requests_per_minute: float, *, burst: int = 1, sleep: Callable[[float], object] = time.sleep
    ) -> None:
        self.requests_per_minute = check_rate(requests_per_minute, burst)
        self.interval = 60.0 / self.requests_per_minute
        self.burst = burst
        self._sleep = sleep

    def delay(self) -> float:
        """Book the next slot and return how many seconds to wait for it (without sleeping)."""
        raise NotImplementedError

    def acquire(self) -> float:
        """Wait for the next slot; return the seconds waited."""
        wait = self.delay()
        if wait > 0:
            self._sleep(wait)
        return wait


class RequestPacer(Pacer):
    """Spaces one process's calls so that no more than ``requests_per_minute`` start in any minute (after a burst).

    The pacer of a client without a shared budget (no ``rate_limit_storage_uri``). The shared pacers
    of :mod:`.budget` have the same methods: ``delay``/``acquire``/``check``/``close`` for the sync
    client, ``adelay``/``acheck``/``aclose`` for the async one.

    Args:
        requests_per_minute: the sustained rate; calls are ``60 / requests_per_minute`` seconds apart.
        burst: how many calls may start back to back after an idle spell (1 = strict spacing).
        clock: a monotonic clock in seconds (injectable for tests).
        sleep: the sleep function (injectable for tests).
    """

    def __init__(
        self,
        requests_per_minute: float,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(requests_per_minute, burst=burst, sleep=sleep)
        self._clock = clock
        self._lock = threading.Lock()
        self._next: float | None = None  # the theoretical arrival time of the next call

    def __repr__(self) -> str:
        return f"{type(self).__name__}(requests_per_minute={self.requests_per_minute!r}, burst={self.burst!r})"

    def delay(self) -> float:
        """Book the next slot and return how many seconds to wait for it (without sleeping)."""
        with self._lock:
            wait, self._next = gcra_step(self._next, self._clock(), self.interval, self.burst)
            return wait

    async def adelay(self) -> float:
        """:meth:`delay` for the async client (no I/O: it never blocks the event loop)."""
        return self.delay()

    def check(self) -> None:
        """Nothing to check: the budget lives in this process."""

    async def acheck(self) -> None:
        """Nothing to check: the budget lives in this process."""

    def close(self) -> None:
        """Nothing to release."""

    async def aclose(self) -> None:
        """Nothing to release."""
