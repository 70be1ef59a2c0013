"""Live counters of one client, for logs, metrics and tests."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class ClientStats:
    """What a client has done so far.

    Attributes:
        calls: HTTP requests sent (every attempt counts).
        retries: attempts that were retries of an earlier one.
        rate_limited: answers that said "rate limited" (HTTP 429 or a rate-limit error code).
        waited_seconds: seconds spent waiting, before retries and for pacing.
        cursor_restarts: times ``iter_pages`` restarted a window after Slack rejected a cursor.
    """

    calls: int = 0
    retries: int = 0
    rate_limited: int = 0
    waited_seconds: float = 0.0
    cursor_restarts: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The counters as a plain dict (JSON-safe)."""
        return asdict(self)
