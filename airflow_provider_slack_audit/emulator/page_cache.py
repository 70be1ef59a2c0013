"""Rendered ``logs`` answers kept in memory, so that a repeated query costs a copy, not a render.

:meta private:

Used by the server when ``Emulator(page_cache_mb=...)`` is set (benchmarks); it decides which
answers may be kept (those that cannot change), this class only stores them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable


class PageCache:
    """Rendered ``logs`` answers by query, least recently used first out, bounded in bytes."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._size = 0
        self._pages: OrderedDict[Hashable, tuple[bytes, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[bytes, int] | None:
        """The body and entry count kept for ``key``, if any (it becomes the most recently used)."""
        with self._lock:
            hit = self._pages.get(key)
            if hit is not None:
                self._pages.move_to_end(key)
            return hit

    def put(self, key: Hashable, body: bytes, entries: int) -> None:
        """Keep ``body`` for ``key``, dropping the least recently used answers over the capacity."""
        if len(body) > self.capacity:
            return
        with self._lock:
            old = self._pages.pop(key, None)
            if old is not None:
                self._size -= len(old[0])
            self._pages[key] = (body, entries)
            self._size += len(body)
            while self._size > self.capacity:
                _, (dropped, _) = self._pages.popitem(last=False)
                self._size -= len(dropped)
