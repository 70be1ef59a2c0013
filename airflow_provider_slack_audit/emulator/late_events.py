"""Late arrivals: windows of seconds whose events stay out of the API until a wall-clock time.

:meta private:

``Emulator.late_events`` adds a window; the ``logs`` answers and ``Emulator.events`` ask
:meth:`LateWindows.visible_hook` when each second's events become visible.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class LateWindows:
    """The late windows armed since the last reset; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: list[tuple[int, int, float]] = []

    def add(self, oldest: int, latest: int, *, delay: float) -> float:
        """Hide the events of ``[oldest, latest]`` for ``delay`` seconds from now; when they appear."""
        if oldest > latest:
            raise ValueError(f"oldest={oldest} is after latest={latest}")
        if delay < 0:
            raise ValueError(f"delay={delay} must be >= 0 seconds")
        visible_at = time.time() + delay
        with self._lock:
            self._windows.append((oldest, latest, visible_at))
        return visible_at

    def visible_hook(self) -> Callable[[int], float | None] | None:
        """``None`` when no window is armed, else: second -> wall-clock time its events appear (None: now)."""
        with self._lock:
            windows = list(self._windows)
        if not windows:
            return None

        def visible(second: int) -> float | None:
            at = None
            for lo, hi, visible_at in windows:
                if lo <= second <= hi and (at is None or visible_at > at):
                    at = visible_at
            return at

        return visible

    def clear(self) -> None:
        """Disarm every window."""
        with self._lock:
            self._windows.clear()
