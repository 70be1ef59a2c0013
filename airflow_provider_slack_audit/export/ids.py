"""Event ids at the scale of a whole window (a million and more) in bounded memory.

:class:`SortedIdsDigest` gives the manifest's ``ids_sha256``: the sha256 of the sorted ids joined by
``"\\n"``. It keeps the ids of each page as one block of bytes (about 37 bytes an id, not ~80 for a
list of ``bytes``), writes them sorted to a temporary file once ``run_bytes`` are held, and merges the
files block by block at the end: memory stays at one run whatever the window holds, and every step
(splitting, sorting, merging, hashing) runs over whole blocks, not an id at a time.

:class:`IdIndex` answers "is this id in the export?" for the reconciliation: each id is kept as a
16-byte BLAKE2b key in one ``bytearray`` (16 bytes an id instead of ~90 for a Python ``str`` in a
``set``), sorted once in buckets, with one byte per id to mark the ids Slack still returns.
Two different ids share a key with a probability of about n^2 / 2^129 (1e-27 for a million ids).

What an id is (a non-empty string without a line break, in UTF-8) is the client's rule
(``client.entry_rules``): a walk refuses an event without one, so every id counted here has one.

Internal to the export and reconcile operators; not an API.

:meta private:
"""

from __future__ import annotations

import hashlib
import tempfile
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from typing import IO

from airflow_provider_slack_audit.client.entry_rules import first_bad_id, id_problem, ids_block

#: Bytes of ids held in memory before they are sorted and written to a temporary file (~14,000 ids:
#: sorting them holds about four times that, as a list of bytes objects).
DEFAULT_RUN_BYTES = 512 * 1024
#: Sorted runs on disk at most: beyond it they are merged into one (so a window of any size keeps few files open).
MAX_RUNS = 64
#: Bytes read from each run at a time while the runs are merged.
MERGE_READ_BYTES = 32 * 1024
#: Bytes of an id's key in :class:`IdIndex`.
KEY_SIZE = 16
#: Ids that :class:`SortedIdsDigest` names when it finds ids added more than once (all are counted).
MAX_DUPLICATES_NAMED = 10


def _bad_id(event_id: object, problem: str) -> ValueError:
    return ValueError(
        f"event id {event_id!r}: {problem}; every audit event must have a non-empty string id, "
        "without a line break, that can be written as UTF-8"
    )


def _id_bytes(event_id: object) -> bytes:
    problem = id_problem(event_id)
    if problem is not None:
        raise _bad_id(event_id, problem)
    return event_id.encode("utf-8")  # type: ignore[union-attr]


def _ids_block(ids: list[object]) -> bytes:
    """``ids`` as UTF-8 joined by line breaks, checked at C speed (one id at a time only to name a bad one)."""
    block = ids_block(ids)
    if block is not None:
        return block
    index, problem = first_bad_id(ids) or (0, "")
    raise _bad_id(ids[index], problem)


class _RunReader:
    """A sorted run on disk, read ``MERGE_READ_BYTES`` at a time as a list of ids (``head``)."""

    def __init__(self, run: IO[bytes]) -> None:
        run.seek(0)
        self.run = run
        self.head: list[bytes] = []
        self._rest = b""

    def refill(self) -> bool:
        """Read the next ids into ``head`` (empty); False once the run is read to its end."""
        while not self.head:
            data = self.run.read(MERGE_READ_BYTES)
            if not data:
                if self._rest:  # every run ends with a line break; a rest means a torn file
                    raise OSError("a sorted run of event ids ends in the middle of an id")
                return False
            lines = (self._rest + data).split(b"\n")
            self._rest = lines.pop()
            self.head = lines
        return True


def _merged_blocks(runs: list[IO[bytes]]) -> Iterator[list[bytes]]:
    """The ids of sorted ``runs`` in order, as sorted blocks.

    Each round takes, from every run, the ids up to the smallest last id of the runs' blocks in memory
    (none of the ids still on disk can come before them), sorts them together (timsort merges the
    sorted slices in C) and yields them. At least one run's block is used up each round.
    """
    readers = [reader for reader in map(_RunReader, runs) if reader.refill()]
    while readers:
        bound = min(reader.head[-1] for reader in readers)
        block: list[bytes] = []
        for reader in readers:
            cut = bisect_right(reader.head, bound)
            block += reader.head[:cut]
            del reader.head[:cut]
        block.sort()
        yield block
        readers = [reader for reader in readers if reader.head or reader.refill()]


class SortedIdsDigest:
    """sha256 of the sorted ids joined by ``"\\n"`` (no trailing line break), memory bounded by ``run_bytes``.

    UTF-8 bytes sort in the order of Python's ``sorted()`` of the strings (code points), so the digest is
    ``sha256("\\n".join(sorted(ids)).encode())``.

    :param run_bytes: bytes of ids kept in memory before a sorted run goes to a temporary file.
    :param max_runs: runs kept on disk before they are merged into one (each is open while it lives).
    :param find_duplicates: while :meth:`hexdigest` hashes the sorted ids, count the ids added more than once
        (``duplicates``: every extra occurrence) and name the first of them (``duplicate_ids``). An export
        writes each id once; ``slack-audit verify`` checks that an object still holds each id once.
    """

    def __init__(
        self, run_bytes: int = DEFAULT_RUN_BYTES, max_runs: int = MAX_RUNS, *, find_duplicates: bool = False
    ) -> None:
        if run_bytes < 1:
            raise ValueError(f"run_bytes={run_bytes!r}: give a positive number of bytes.")
        if max_runs < 2:
            raise ValueError(f"max_runs={max_runs!r}: give at least 2 (runs are merged two or more at a time).")
        self.run_bytes = run_bytes
        self.max_runs = max_runs
        self.count = 0
        self.find_duplicates = find_duplicates
        #: Extra occurrences of ids added more than once, found by :meth:`hexdigest` (with ``find_duplicates``).
        self.duplicates = 0
        #: The first (in sorted order) of the ids added more than once, at most ``MAX_DUPLICATES_NAMED``.
        self.duplicate_ids: list[str] = []
        self._blocks: list[bytes] = []
        self._held = 0
        self._runs: list[IO[bytes]] = []

    def add(self, event_id: str) -> None:
        """Count one id."""
        self.update([event_id])

    def update(self, ids: Iterable[str]) -> None:
        """Count every id of ``ids`` (a page's worth at a time is what it is made for)."""
        ids = ids if isinstance(ids, list) else list(ids)
        if not ids:
            return
        block = _ids_block(ids)
        self._blocks.append(block)
        self._held += len(block) + 1
        self.count += len(ids)
        if self._held >= self.run_bytes:
            self._spill()

    def _held_sorted(self) -> list[bytes]:
        ids = b"\n".join(self._blocks).split(b"\n") if self._blocks else []
        self._blocks, self._held = [], 0
        ids.sort()
        return ids

    def _spill(self) -> None:
        ids = self._held_sorted()
        self._runs.append(self._write_run([ids]))
        if len(self._runs) > self.max_runs:
            runs, self._runs = self._runs, []
            try:
                self._runs.append(self._write_run(_merged_blocks(runs)))
            finally:
                for run in runs:
                    run.close()

    @staticmethod
    def _write_run(blocks: Iterable[list[bytes]]) -> IO[bytes]:
        """A temporary file of the sorted ``blocks``' ids, one per line (each line ends with a line break)."""
        run = tempfile.TemporaryFile(prefix="slack-audit-ids-")  # noqa: SIM115 (closed in hexdigest/close)
        try:
            for block in blocks:
                if block:
                    run.write(b"\n".join(block))
                    run.write(b"\n")
        except BaseException:
            run.close()
            raise
        return run

    def _sorted_blocks(self) -> Iterator[list[bytes]]:
        if not self._runs:
            return iter([self._held_sorted()])
        if self._blocks:
            self._spill()
        return _merged_blocks(self._runs)

    def hexdigest(self) -> str:
        """The digest of every id added so far (call once, at the end)."""
        digest = hashlib.sha256()
        try:
            separator = b""
            last: bytes | None = None  # the previous block's last id (with find_duplicates)
            for block in self._sorted_blocks():
                if block:
                    digest.update(separator)
                    digest.update(b"\n".join(block))
                    separator = b"\n"
                    if self.find_duplicates:
                        self._note_duplicates(block, last)
                        last = block[-1]
        finally:
            self.close()
        return digest.hexdigest()

    def _note_duplicates(self, block: list[bytes], last: bytes | None) -> None:
        """Count the ids of a sorted ``block`` equal to the one before them (``last`` ends the block before)."""
        if block[0] != last and len(set(block)) == len(block):
            return  # the usual block: checked at C speed
        for previous, event_id in zip([last, *block], block, strict=False):
            if event_id == previous:
                self.duplicates += 1
                named = event_id.decode("utf-8")
                if len(self.duplicate_ids) < MAX_DUPLICATES_NAMED and named not in self.duplicate_ids:
                    self.duplicate_ids.append(named)

    def close(self) -> None:
        """Delete the temporary files."""
        for run in self._runs:
            run.close()
        self._runs = []
        self._blocks, self._held = [], 0


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
