"""Reading a stored object as it streams by: its bytes hashed and counted, its lines split a chunk at a time.

Standard library only (no Airflow), so both the reconciliation (:mod:`.scan`) and ``slack-audit verify``
(:mod:`airflow_provider_slack_audit.cli.verify`, which runs where Airflow is not installed) read objects
through it.

:meta private:
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator, Iterator
from typing import Any, BinaryIO

#: Bytes read at a time when an object is hashed or scanned.
READ_CHUNK = 1 << 20


class HashingReader:
    """Reads a binary stream and hashes (sha256) and counts every byte that passes: the stored bytes."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()
        #: Bytes read so far.
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data

    def drain(self) -> None:
        """Read (and hash) what is left of the stream."""
        while self.read(READ_CHUNK):
            pass


def terminated_lines(stream: Any, chunk_size: int = READ_CHUNK) -> Generator[bytes, None, bytes]:
    """Yield the lines of ``stream`` that end with a line break (``\\n``), without it; return what follows the last
    line break (``b""`` when the stream ends with one, or is empty).

    Reads ``chunk_size`` bytes at a time; a line longer than a chunk is kept as its pieces and joined once, when
    its line break arrives (the time is linear in the line's length). A ``\\r`` before the line break is kept.
    """
    pieces: list[bytes] = []  # the start of the line not yet ended, one piece per chunk
    while chunk := stream.read(chunk_size):
        if b"\n" not in chunk:
            pieces.append(chunk)
            continue
        lines = chunk.split(b"\n")
        if pieces:
            pieces.append(lines[0])
            lines[0] = b"".join(pieces)
            pieces = []
        rest = lines.pop()
        if rest:
            pieces.append(rest)
        yield from lines
    return b"".join(pieces)


def iter_lines(stream: Any, chunk_size: int = READ_CHUNK) -> Iterator[bytes]:
    """The lines of ``stream`` without their line break; a last line without one is yielded too (an empty piece
    after the last line break is not)."""
    rest = yield from terminated_lines(stream, chunk_size)
    if rest:
        yield rest
