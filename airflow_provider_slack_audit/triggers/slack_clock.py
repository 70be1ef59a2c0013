"""Slack's clock as a watcher sees it: the triggerer's own clock, corrected by the ``Date`` of Slack's answers.

:meta private:

The watcher decides which seconds to read and which seconds it has read for good. Both are about
Slack's time (an event's ``date_create`` is stamped by Slack), not the triggerer's: a triggerer whose
clock runs an hour ahead would otherwise mark seconds as read before Slack has written them (and then
ask for a range that starts in Slack's future, which Slack refuses), and one an hour behind would wait
an hour before reading anything. Every HTTP answer carries a ``Date`` header (RFC 9110: the origin's
clock, whole seconds); :class:`SlackClock` keeps the difference between it and the local clock.

Pure logic, no I/O: the trigger hands it the headers of each answer and the local time.
"""

from __future__ import annotations

from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any


def answered_at(headers: Mapping[str, Any]) -> int | None:
    """The whole second (epoch) of an answer's ``Date`` header, or None when it is missing or unreadable."""
    value = headers.get("Date")
    if not isinstance(value, str):
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": RFC 5322's "UTC, source unknown"
        return None
    return int(when.timestamp())


class SlackClock:
    """The offset between Slack's clock and the local one, from the last answer that had a ``Date``.

    Until an answer has been seen, Slack's time is taken to be the local time (:attr:`known` is False).
    """

    def __init__(self) -> None:
        self.offset = 0.0
        self.known = False

    def observe(self, headers: Mapping[str, Any], local_now: float) -> int | None:
        """Learn the offset from an answer received at local time ``local_now``; return its second, or None.

        ``Date`` is truncated to the second and stamped before the answer travelled, so the estimate
        of Slack's time is at most about a second behind it, never ahead: a range this clock calls
        "up to now" never starts in Slack's future.
        """
        second = answered_at(headers)
        if second is not None:
            self.offset = second - local_now
            self.known = True
        return second

    def now(self, local_now: float) -> float:
        """Slack's time at local time ``local_now`` (the local time itself until an answer was seen)."""
        return local_now + self.offset
