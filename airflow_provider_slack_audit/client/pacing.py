"""Client-side pacing: keep calls ``60 / requests_per_minute`` seconds apart, with an optional burst.

A long backfill that paces itself stays under Slack's organization-wide limit (about 50 calls a
minute, shared with every other app reading the audit logs) instead of bouncing off 429s.
The rule is the Generic Cell Rate Algorithm (GCRA), the "virtual scheduling" form of a token bucket:
each call books the next slot; at most ``burst`` calls may go back to back after an idle spell.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from airflow_provider_slack_audit.client.validation import isinstance_strict


class RequestPacer:
    """Spaces calls so that no more than ``requests_per_minute`` start in any minute (after a burst).

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
        if not isinstance_strict(requests_per_minute, (int, float)) or not 0 < requests_per_minute < math.inf:
            raise ValueError(
                f"requests_per_minute must be a number > 0 (Slack allows about 50 a minute for the whole "
                f"organization), not {requests_per_minute!r}."
            )
        if not isinstance_strict(burst, int) or burst < 1:
            raise ValueError(f"burst must be a whole number >= 1, not {burst!r}.")
        self.requests_per_minute = float(requests_per_minute)
        self.interval = 60.0 / self.requests_per_minute
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next: float | None = None  # the theoretical arrival time of the next call

    def delay(self) -> float:
        """Book the next slot and return how many seconds to wait for it (without sleeping)."""
        with self._lock:
            now = self._clock()
            tat = now if self._next is None else max(self._next, now)
            wait = max(0.0, tat - (self.burst - 1) * self.interval - now)
            self._next = tat + self.interval
            return wait

    def acquire(self) -> float:
        """Wait for the next slot; return the seconds waited."""
        wait = self.delay()
        if wait > 0:
            self._sleep(wait)
        return wait
