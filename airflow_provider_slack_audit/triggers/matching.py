"""Which events answer a sensor's poke: shared by the sensor (poke mode) and its trigger (deferred).

:meta private:

It lives next to the trigger so that the trigger depends on nothing of the sensor's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from airflow_provider_slack_audit.client import LogsQuery
from airflow_provider_slack_audit.client.query import MAX_LIMIT

#: How many matching events go to XCom unless the sensor says otherwise.
DEFAULT_MAX_EVENTS_RETURNED = 100


def query_latest(latest: int, now: float | None = None) -> int:
    """The ``latest`` to send: the window's, or the current second if the window is still open.

    Slack answers ``invalid_range`` for a ``latest`` in the future, and no event can exist there yet,
    so a sensor waiting on a window that has not ended asks only up to now.
    """
    return min(latest, int(time.time() if now is None else now))


@dataclass
class MatchCollector:
    """The events that answer one poke: unique by ``id``, newest first, as many as are needed.

    Reading stops once ``max(min_events, max_events_returned)`` distinct events were seen: enough to
    decide and to fill the XCom, without paging through a busy window to the end.
    """

    min_events: int
    max_events_returned: int
    matches: list[dict[str, Any]] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set, repr=False)

    @property
    def needed(self) -> int:
        """How many distinct events to read before stopping."""
        return max(self.min_events, self.max_events_returned)

    def add(self, entry: dict[str, Any]) -> bool:
        """Keep ``entry`` unless its id was seen; True once enough events were read."""
        key = entry.get("id")
        if key is None or key not in self._seen:
            if key is not None:
                self._seen.add(key)
            self.matches.append(entry)
        return len(self.matches) >= self.needed

    def page_size(self, requested: int | None) -> int:
        """The page size to ask for: ``requested``, else just enough to decide (at most 9999)."""
        return requested if requested is not None else min(MAX_LIMIT, max(1, self.needed))

    @property
    def count(self) -> int:
        """Distinct matching events read (at most :attr:`needed`)."""
        return len(self.matches)

    @property
    def done(self) -> bool:
        """Whether at least ``min_events`` events match."""
        return self.count >= self.min_events

    @property
    def returned(self) -> list[dict[str, Any]]:
        """The events for XCom: the newest ``max_events_returned`` matches."""
        return self.matches[: self.max_events_returned]

    def query_for(self, query: LogsQuery, now: float | None = None) -> LogsQuery | None:
        """The query one poke sends: ``latest`` cut to now, the page size just enough to decide.

        None when the window has not begun yet (nothing can match).
        """
        latest = query_latest(query.latest if query.latest is not None else int(time.time()), now)
        if query.oldest is not None and latest < query.oldest:
            return None
        return replace(query, latest=latest, limit=self.page_size(query.limit))
