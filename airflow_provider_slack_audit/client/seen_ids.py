"""The ids a page walk has yielded, all of them, exactly, in memory that does not grow with the window.

:meta private:

A walk yields each id once whatever Slack's cursors do: a page served again two pages later (a
cursor cycle), an event indexed late that shows up on a later page, a restart after a rejected
cursor. So every id yielded is remembered until the walk ends, and exactly: a false "seen" would
drop a real event from an audit export, so no hash key or probabilistic filter stands in for an id.

:class:`SeenIds` holds up to ``memory_ids`` ids in a ``set``; past that, they move, sorted, into
a private temporary SQLite database (``sqlite3`` of the standard library; the empty file name
makes SQLite keep it in a page cache of ``cache_bytes`` and spill to an unnamed temporary file,
deleted when it is closed or the process dies). Each page is checked with set operations against
the ids in memory and one indexed query per few hundred ids against the database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from airflow_provider_slack_audit.client.validation import isinstance_strict

#: Ids held in a Python set before they move to the database (~2 MB of 36-character ids).
MEMORY_IDS = 20_000
#: SQLite's page cache for the ids on disk; beyond it, pages live in the temporary file.
CACHE_BYTES = 4 * 1024 * 1024
#: Ids per query against the database (below every SQLite's limit on parameters).
QUERY_IDS = 500


class SeenIds:
    """An exact set of ids, spilling to a temporary SQLite database past ``memory_ids`` (see the module).

    Args:
        memory_ids: ids held in memory before they all move to the database (at least 1).
        cache_bytes: the database's page cache.
    """

    def __init__(self, memory_ids: int = MEMORY_IDS, cache_bytes: int = CACHE_BYTES) -> None:
        if not isinstance_strict(memory_ids, int) or memory_ids < 1:
            raise ValueError(f"memory_ids={memory_ids!r}: give a whole number of ids >= 1.")
        self.memory_ids = memory_ids
        self.cache_bytes = cache_bytes
        self._memory: set[str] = set()
        self._db: sqlite3.Connection | None = None
        self._on_disk = 0

    def __len__(self) -> int:
        return len(self._memory) + self._on_disk

    @property
    def spilled(self) -> bool:
        """Whether ids have moved to the database."""
        return self._on_disk > 0

    def add_new(self, ids: list[str]) -> list[int] | None:
        """Remember the ids of ``ids`` not seen before; which of them are new.

        Returns None when every one is new and none repeats within ``ids`` (the usual page: set
        operations, no loop per id), else the positions of the new ones, each id's first.
        """
        unique = set(ids)
        known = self._known(unique)
        if not known and len(unique) == len(ids):
            self._add(unique)
            return None
        kept: list[int] = []
        taken: set[str] = set()
        for index, event_id in enumerate(ids):
            if event_id in known or event_id in taken:
                continue
            taken.add(event_id)
            kept.append(index)
        self._add(taken)
        return kept

    def __contains__(self, event_id: object) -> bool:
        return isinstance(event_id, str) and bool(self._known({event_id}))

    def _known(self, unique: set[str]) -> set[str]:
        """The ids of ``unique`` already remembered."""
        known = unique & self._memory
        if self._db is None:
            return known
        rest = list(unique - known)
        for start in range(0, len(rest), QUERY_IDS):
            chunk = rest[start : start + QUERY_IDS]
            query = f"SELECT id FROM seen WHERE id IN ({','.join('?' * len(chunk))})"  # noqa: S608 (placeholders only)
            known.update(row[0] for row in self._db.execute(query, chunk))
        return known

    def _add(self, new: Iterable[str]) -> None:
        self._memory.update(new)
        if len(self._memory) > self.memory_ids:
            self._spill()

    def _spill(self) -> None:
        """Move the ids in memory to the database, sorted (inserted in key order, the B-tree grows at its end)."""
        db = self._db if self._db is not None else self._open()
        ids = sorted(self._memory)
        db.execute("BEGIN")
        try:
            db.executemany("INSERT INTO seen (id) VALUES (?)", ((event_id,) for event_id in ids))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        self._on_disk += len(ids)
        self._memory = set()

    def _open(self) -> sqlite3.Connection:
        # "": a private temporary database, deleted on close (SQLite unlinks its file at once on POSIX).
        db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        db.execute(f"PRAGMA cache_size = -{max(1, self.cache_bytes // 1024)}")
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("CREATE TABLE seen (id TEXT PRIMARY KEY) WITHOUT ROWID")
        self._db = db
        return db

    def close(self) -> None:
        """Forget every id and delete the database (the set can be used again, empty)."""
        self._memory = set()
        self._on_disk = 0
        if self._db is not None:
            db, self._db = self._db, None
            db.close()


__all__ = ["CACHE_BYTES", "MEMORY_IDS", "QUERY_IDS", "SeenIds"]
