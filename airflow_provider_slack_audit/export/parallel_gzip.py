"""gzip on every core: a stream cut into pieces that are compressed side by side as gzip members.

A gzip file may hold several members one after the other; every reader treats the concatenation
as one file (RFC 1952 2.2; ``gzip.open``, ``zcat``, Spark, Athena and BigQuery all do). So the
stream is cut into pieces of ``member_size`` bytes, each piece is compressed on its own into a
complete member by a small thread pool (zlib lets go of the GIL while it compresses), and the
members are written to the sink in order. The output is deterministic: the same bytes in give the
same file, whatever the timing (each member's header carries no file name and mtime 0).

Cutting costs little: each member starts with an empty dictionary. On a day of Slack events at
level 6, 1 MiB members wrote 0.8 % more bytes than one member (256 KiB: 3.2 %, 4 MiB: 0.2 %, which
holds four times the memory in flight); see ``bench/gzip_members.py``.

Internal to the export and reconcile operators; not an API.

:meta private:
"""

from __future__ import annotations

import os
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

__all__ = ["DEFAULT_MEMBER_SIZE", "ParallelGzipWriter", "gzip_member"]

#: Uncompressed bytes per member: large enough that the restart costs nothing measurable, small
#: enough that both cores stay busy on a page (a 9999-event page is about 6.5 MB).
DEFAULT_MEMBER_SIZE = 1 << 20


class _Sink(Protocol):
    def write(self, data: bytes, /) -> Any: ...


def gzip_member(data: bytes | bytearray | memoryview, compresslevel: int = 6) -> bytes:
    """``data`` as one complete gzip member (header without name, mtime 0; CRC-32 and size trailer)."""
    compressor = zlib.compressobj(compresslevel, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


class ParallelGzipWriter:
    """A write-only file object that gzip-compresses what it is given into ``sink``, on several threads.

    :param sink: where the compressed bytes go (anything with ``write(bytes)``); it is not closed.
    :param compresslevel: zlib's level, 1 (fastest) to 9 (smallest).
    :param member_size: uncompressed bytes per gzip member.
    :param workers: compressing threads; default: the machine's cores, at most 4.
    :param max_in_flight: members compressed or waiting to be written at once (bounds the memory to
        about ``max_in_flight * member_size`` plus their compressed size); default: ``workers`` + 1, so
        that a member is ready whenever a thread is free.

    ``close()`` writes what is left and waits for every member; ``abort()`` throws away what was not
    written. Used as a context manager it closes on success and aborts on an error.
    """

    def __init__(
        self,
        sink: _Sink,
        *,
        compresslevel: int = 6,
        member_size: int = DEFAULT_MEMBER_SIZE,
        workers: int | None = None,
        max_in_flight: int | None = None,
    ) -> None:
        if not 0 <= compresslevel <= 9:
            raise ValueError(f"compresslevel={compresslevel!r}: give a zlib level from 0 to 9.")
        if member_size < 1:
            raise ValueError(f"member_size={member_size!r}: give a positive number of bytes.")
        self.sink = sink
        self.compresslevel = compresslevel
        self.member_size = member_size
        self.workers = workers or max(1, min(4, os.cpu_count() or 1))
        self.max_in_flight = max_in_flight or self.workers + 1
        self.bytes_in = 0
        self.bytes_out = 0
        self.members = 0
        self._buffer = bytearray()  # less than a member, waiting for the rest of it
        self._pending: deque[Future[bytes]] = deque()
        self._executor: ThreadPoolExecutor | None = ThreadPoolExecutor(self.workers, thread_name_prefix="gzip-member")
        self.closed = False

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Take ``data`` to compress; returns its length. Blocks while ``max_in_flight`` members are pending."""
        if self.closed:
            raise ValueError("write to a closed ParallelGzipWriter")
        size = len(data)
        if not size:
            return 0
        self._buffer += data
        self.bytes_in += size
        while len(self._buffer) >= self.member_size:
            # Each member is a copy of exactly its bytes: what waits in flight is member_size, no more.
            member = self._buffer[: self.member_size]
            del self._buffer[: self.member_size]
            self._submit(member)
        return size

    def flush(self) -> None:
        """Write every member that is already compressed (the buffered rest waits for a full member)."""
        self._write_done(block=False)

    def _submit(self, piece: bytes | bytearray) -> None:
        while len(self._pending) >= self.max_in_flight:
            self._write_next()
        assert self._executor is not None
        self._pending.append(self._executor.submit(gzip_member, piece, self.compresslevel))
        self._write_done(block=False)

    def _write_next(self) -> None:
        try:
            member = self._pending.popleft().result()  # raises what the compressing thread hit
            self.sink.write(member)
        except BaseException:
            self.abort()  # the stream has a hole now: nothing more may be written after it
            raise
        self.bytes_out += len(member)
        self.members += 1

    def _write_done(self, *, block: bool) -> None:
        while self._pending and (block or self._pending[0].done()):
            self._write_next()

    def close(self) -> None:
        """Compress what is left, write every member in order, stop the threads (the sink stays open)."""
        if self.closed:
            return
        try:
            if self._buffer or (not self.members and not self._pending):
                # The rest as a last member; an empty stream still gets one (empty) member: a valid gzip file.
                member, self._buffer = self._buffer, bytearray()
                self._submit(member)
            self._write_done(block=True)
        except BaseException:
            self.abort()
            raise
        self._shutdown()

    def abort(self) -> None:
        """Drop what is not written yet and stop the threads; the sink keeps what it got so far."""
        for future in self._pending:
            future.cancel()
        self._pending.clear()
        self._buffer = bytearray()
        self._shutdown()

    def _shutdown(self) -> None:
        self.closed = True
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def __enter__(self) -> ParallelGzipWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
