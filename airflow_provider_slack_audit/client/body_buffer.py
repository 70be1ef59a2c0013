"""A response body held in an anonymous memory mapping of its own, given back to the system whole.

:meta private:

A full ``logs`` page is 6.5-7.2 MB (9,999 events). Read into a ``bytes`` object, each page is a block of
the C library's heap. glibc serves the first from a mapping of its own; when that is freed, its mmap
threshold rises to the block's size and every later page comes from the heap, where a freed page's
hole, once small allocations have cut it, no longer fits the next page and the heap grows. An export's
peak memory then varied by 15-20 MB from run to run on the same window (``bench/``). A body written
into a mapping of its own never enters the heap: the mapping goes back to the system when the last
view of it (an entry's ``msgspec.Raw``) is let go.

The body is the :class:`mmap.mmap` itself, cut to the body's length: a buffer (``msgspec``, ``hashlib``,
``bytes.join``, ``str(body, "utf-8")`` read it in place) with ``len``, slicing (to ``bytes``) and
``find``; it is not ``bytes`` (no ``decode``, and ``in`` does not search it). It is written once here
and only read after.
"""

from __future__ import annotations

import mmap
import threading

#: The first mapping of a body of unknown length; it doubles as the body grows.
FIRST_CAPACITY = 256 * 1024
#: The largest announced body mapped populated: a full page (~7.2 MB); a larger one is paged in as it arrives.
POPULATE_UP_TO = 8 * 1024 * 1024
#: Private (Python's default is shared: a forked worker would share the page, and a shared anonymous
#: mapping grown by ``mremap`` faults with SIGBUS past its first size) and anonymous.
_PRIVATE = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
#: ... and populated at once, where the system can: for a mapping that will be written whole.
_POPULATED = _PRIVATE | getattr(mmap, "MAP_POPULATE", 0)

__all__ = ["FIRST_CAPACITY", "POPULATE_UP_TO", "BodyBuffer"]


class BodyBuffer:
    """The bytes of one body as they arrive, written into a mapping sized to the body (see the module)."""

    def __init__(self) -> None:
        self._map: mmap.mmap | None = None
        self.size = 0
        # take() may run in a thread (the async client decodes a big page there) while a cancelled
        # attempt discards: one of the two gets the mapping, never both.
        self._handover = threading.Lock()

    def reserve(self, size: int) -> None:
        """Make room for ``size`` bytes in all (the server announced the body's length).

        A first mapping of a known size has its pages made at once where the system can (Linux's
        ``MAP_POPULATE``): one call, where touching them one by one as the body is written cost
        7-8 ms a page on a virtual machine (``bench/``). Only up to :data:`POPULATE_UP_TO`: a server
        that announces a large body and sends less does not make the process hold it.
        """
        if self._map is None and 0 < size <= POPULATE_UP_TO:
            self._map = mmap.mmap(-1, size, flags=_POPULATED)
        elif size > self.capacity:
            self._resize(size)

    @property
    def capacity(self) -> int:
        """Bytes the mapping holds so far (written or not)."""
        return 0 if self._map is None else len(self._map)

    def write(self, chunk: bytes) -> None:
        """Append ``chunk``; a full mapping doubles (pages not yet written take no memory)."""
        if not chunk:
            return
        end = self.size + len(chunk)
        mapping = self._map
        if mapping is None or end > len(mapping):
            mapping = self._resize(max(end, 2 * self.capacity, FIRST_CAPACITY))
        mapping[self.size : end] = chunk
        self.size = end

    def take(self) -> bytes | mmap.mmap:
        """The body: ``b""`` when empty, else the mapping cut to the body's length; the buffer is left empty."""
        with self._handover:
            body, self._map = self._map, None
            size, self.size = self.size, 0
        if body is None or size == 0:
            if body is not None:
                body.close()
            return b""
        if len(body) != size:
            body = _resized(body, size)
        return body

    def discard(self) -> None:
        """Give the mapping back now (a failed read: an exception's traceback would otherwise keep it)."""
        with self._handover:
            mapping, self._map = self._map, None
            self.size = 0
        if mapping is not None:
            mapping.close()  # never exported before take(): nothing views it

    def _resize(self, size: int) -> mmap.mmap:
        self._map = mmap.mmap(-1, size, flags=_PRIVATE) if self._map is None else _resized(self._map, size)
        return self._map


def _resized(mapping: mmap.mmap, size: int) -> mmap.mmap:
    """``mapping`` grown or cut to ``size`` bytes, its content up to ``size`` kept.

    In place where the system can (Linux's ``mremap``), else into a new mapping (macOS has no
    ``mremap``: Python raises ``SystemError``).
    """
    try:
        mapping.resize(size)
    except (OSError, SystemError):
        moved = mmap.mmap(-1, size, flags=_PRIVATE)
        keep = min(size, len(mapping))
        view = memoryview(mapping)
        moved[:keep] = view[:keep]  # no copy as bytes on the way
        view.release()
        mapping.close()
        return moved
    return mapping
