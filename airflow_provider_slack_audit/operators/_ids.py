"""Event ids at the scale of a whole window (a million and more) in bounded memory.

:class:`SortedIdsDigest` gives the manifest's ``ids_sha256``: the sha256 of the sorted ids joined by
``"\\n"``. It keeps up to ``run_size`` ids in memory, then writes them sorted to a temporary file and
merges the files at the end, so memory stays at one run whatever the window holds.

:class:`IdIndex` answers "is this id in the export?" for the reconciliation: each id is kept as a
16-byte BLAKE2b key in one ``bytearray`` (16 bytes an id instead of ~90 for a Python ``str`` in a
``set``), sorted once in buckets, with one byte per id to mark the ids Slack still returns.
Two different ids share a key with a probability of about n^2 / 2^129 (1e-27 for a million ids).
"""

from __future__ import annotations

import hashlib
import heapq
import tempfile
from array import array
from collections.abc import Iterable, Iterator
from typing import IO

#: Ids held in memory before they are sorted and written to a temporary file (about 15 MB of ids).
DEFAULT_RUN_SIZE = 200_000
#: Bytes of an id's key in :class:`IdIndex`.
KEY_SIZE = 16


def _id_bytes(event_id: object) -> bytes:
    if not isinstance(event_id, str) or not event_id:
        raise ValueError(f"event id {event_id!r}: every audit event must have a non-empty string id")
    if "\n" in event_id:
        raise ValueError(f"event id {event_id!r} holds a line break, so the sorted ids cannot be joined by lines")
    return event_id.encode("utf-8")


class SortedIdsDigest:
    """sha256 of the sorted ids joined by ``"\\n"`` (no trailing line break), memory bounded by ``run_size``.

    UTF-8 bytes sort in the order of Python's ``sorted()`` of the strings (code points), so the digest is
    ``sha256("\\n".join(sorted(ids)).encode())``.

    :param run_size: ids kept in memory before a sorted run goes to a temporary file.
    """

    def __init__(self, run_size: int = DEFAULT_RUN_SIZE) -> None:
        self.run_size = run_size
        self.count = 0
        self._ids: list[bytes] = []
        self._runs: list[IO[bytes]] = []

    def add(self, event_id: str) -> None:
        """Count one id."""
        self._ids.append(_id_bytes(event_id))
        self.count += 1
        if len(self._ids) >= self.run_size:
            self._spill()

    def update(self, ids: Iterable[str]) -> None:
        """Count every id of ``ids``."""
        for event_id in ids:
            self.add(event_id)

    def _spill(self) -> None:
        self._ids.sort()
        run = tempfile.TemporaryFile(prefix="slack-audit-ids-")  # noqa: SIM115 (closed in hexdigest/close)
        run.write(b"\n".join(self._ids) + b"\n")
        run.seek(0)
        self._runs.append(run)
        self._ids = []

    def _sorted(self) -> Iterator[bytes]:
        self._ids.sort()
        if not self._runs:
            return iter(self._ids)
        runs = [(line.rstrip(b"\n") for line in run) for run in self._runs]
        return heapq.merge(*runs, self._ids)

    def hexdigest(self) -> str:
        """The digest of every id added so far (call once, at the end)."""
        digest = hashlib.sha256()
        try:
            first = True
            for event_id in self._sorted():
                if not first:
                    digest.update(b"\n")
                digest.update(event_id)
                first = False
        finally:
            self.close()
        return digest.hexdigest()

    def close(self) -> None:
        """Delete the temporary files."""
        for run in self._runs:
            run.close()
        self._runs = []
        self._ids = []


def id_key(event_id: str) -> bytes:
    """The 16-byte key of an id in :class:`IdIndex`."""
    return hashlib.blake2b(_id_bytes(event_id), digest_size=KEY_SIZE).digest()


#: Keys are uniform (a hash): their first two bytes split them into this many even buckets.
_BUCKETS = 1 << 16


class IdIndex:
    """A set of ids for membership tests, about 17 bytes an id; add everything, :meth:`freeze`, then look up.

    The sorted keys lie in one ``bytearray``; ``offsets`` says where each bucket (the keys that share their
    first two bytes) starts, so a lookup searches a few dozen bytes with ``bytearray.find``.
    """

    def __init__(self) -> None:
        self._buckets: list[bytearray] | None = [bytearray() for _ in range(_BUCKETS)]
        self._keys = bytearray()
        self._offsets = array("Q")
        self._seen = bytearray()

    def add(self, event_id: str) -> None:
        """Put an id in the index (before :meth:`freeze`)."""
        if self._buckets is None:
            raise RuntimeError("the index is frozen; add every id before freeze()")
        key = id_key(event_id)
        self._buckets[(key[0] << 8) | key[1]] += key

    def freeze(self) -> None:
        """Sort each bucket (an id added twice is kept once); lookups are possible from now on."""
        if self._buckets is None:
            return
        offsets = array("Q", [0])
        for i, bucket in enumerate(self._buckets):
            if bucket:
                keys = sorted({bytes(bucket[j : j + KEY_SIZE]) for j in range(0, len(bucket), KEY_SIZE)})
                self._keys += b"".join(keys)
                self._buckets[i] = bytearray()  # let the bucket go before the next one is sorted
            offsets.append(len(self._keys))
        self._buckets = None
        self._offsets = offsets
        self._seen = bytearray(len(self))

    def __len__(self) -> int:
        return len(self._keys) // KEY_SIZE

    def _position(self, event_id: str) -> int | None:
        if self._buckets is not None:
            raise RuntimeError("freeze() the index before looking ids up")
        key = id_key(event_id)
        bucket = (key[0] << 8) | key[1]
        start, end = self._offsets[bucket], self._offsets[bucket + 1]
        while start < end:
            at = self._keys.find(key, start, end)
            if at < 0:
                return None
            if at % KEY_SIZE == 0:
                return at // KEY_SIZE
            start = at + 1  # a match across two keys: look further
        return None

    def mark(self, event_id: str) -> bool:
        """Whether the id is in the index; if it is, remember that it was seen."""
        i = self._position(event_id)
        if i is None:
            return False
        self._seen[i] = 1
        return True

    def __contains__(self, event_id: object) -> bool:
        return isinstance(event_id, str) and self._position(event_id) is not None

    def was_seen(self, event_id: str) -> bool:
        """Whether :meth:`mark` found this id."""
        i = self._position(event_id)
        return i is not None and bool(self._seen[i])

    @property
    def unseen(self) -> int:
        """How many ids of the index :meth:`mark` never found."""
        return len(self) - self._seen.count(1)
