"""Progress lines for a task that reads pages of audit events."""

from __future__ import annotations

import logging
import time


class PageProgress:
    """Counts pages and events and logs how far a read got and how fast it goes.

    :param log: the task's logger.
    :param every: the least number of seconds between two progress lines (the first page always logs).
    """

    def __init__(self, log: logging.Logger, every: float = 10.0) -> None:
        self.log = log
        self.every = every
        self.pages = 0
        self.events = 0
        self._start = time.monotonic()
        self._last_line: float | None = None

    @property
    def events_per_second(self) -> float:
        """Events read per second of wall time since the start."""
        elapsed = time.monotonic() - self._start
        return self.events / elapsed if elapsed > 0 else 0.0

    def page_done(self, events: int) -> None:
        """Record a page of ``events`` events; log a progress line when one is due."""
        self.pages += 1
        self.events += events
        now = time.monotonic()
        if self._last_line is None or now - self._last_line >= self.every:
            self._last_line = now
            self.log.info(
                "Read %d pages, %d events so far (%.0f events/s)", self.pages, self.events, self.events_per_second
            )

    def finish(self) -> None:
        """Log the totals."""
        self.log.info(
            "Done: %d pages, %d events in %.1f s (%.0f events/s)",
            self.pages,
            self.events,
            time.monotonic() - self._start,
            self.events_per_second,
        )
