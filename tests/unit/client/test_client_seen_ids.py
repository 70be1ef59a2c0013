"""The ids a walk remembers: exact, whole-walk, in bounded memory (a set, then a temporary SQLite database)."""

from __future__ import annotations

import contextlib
import gc
import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_slack_audit.client.seen_ids import SeenIds

PAGES = st.lists(st.lists(st.sampled_from([f"id-{i}" for i in range(12)]), max_size=8), min_size=1, max_size=8)


def reference_keep(seen: set[str], ids: list[str]) -> list[int]:
    """One id at a time: keep the first occurrence of each id never seen before."""
    kept = []
    for index, event_id in enumerate(ids):
        if event_id not in seen:
            seen.add(event_id)
            kept.append(index)
    return kept


@settings(max_examples=300, deadline=None)
@given(PAGES, st.integers(1, 6))
def test_a_page_checked_at_once_keeps_what_one_id_at_a_time_keeps_whether_in_memory_or_on_disk(
    pages: list[list[str]], memory_ids: int
) -> None:
    seen, reference = SeenIds(memory_ids=memory_ids), set()
    try:
        for ids in pages:
            kept = seen.add_new(ids)
            assert (list(range(len(ids))) if kept is None else kept) == reference_keep(reference, ids)
            assert len(seen) == len(reference)
            assert all(event_id in seen for event_id in reference)
    finally:
        seen.close()


def test_ids_that_left_memory_are_still_known_exactly() -> None:
    seen = SeenIds(memory_ids=3)
    try:
        assert seen.add_new(["a", "b", "c", "d"]) is None  # past 3 ids: all moved to the database
        assert seen.spilled
        assert seen.add_new(["e", "a", "f", "e"]) == [0, 2]
        assert seen.add_new(["A", "a ", "b"]) == [0, 1]  # exact: case and spaces count
        assert seen.add_new(["a\x00b", "a\x00c", "a\x00b", "é", "e\u0301"]) == [0, 1, 3, 4]  # no normalising
        assert seen.add_new(["a\x00c", "a\x00d", "é"]) == [1]
        assert "d" in seen
        assert "g" not in seen
        assert 5 not in seen
        assert len(seen) == 13
    finally:
        seen.close()
    assert len(seen) == 0
    assert not seen.spilled


def open_files() -> set[str]:
    names = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the descriptor listdir itself used is gone
            names.add(os.readlink(f"/proc/self/fd/{fd}"))
    return names


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_the_database_leaves_no_file_behind() -> None:
    before = open_files()
    seen = SeenIds(memory_ids=1, cache_bytes=1024)
    seen.add_new([f"id-{i:06d}" for i in range(20_000)])  # more than the page cache: SQLite writes its file
    assert seen.spilled
    during = open_files() - before
    assert all("(deleted)" in name or name.startswith(("pipe:", "socket:", "anon_inode:")) for name in during)
    seen.close()
    gc.collect()
    assert not {name for name in open_files() - before if "deleted" in name}


@pytest.mark.parametrize("memory_ids", [0, -1, True, 1.5])
def test_memory_ids_must_be_a_whole_number_of_ids(memory_ids: Any) -> None:
    with pytest.raises(ValueError, match="memory_ids"):
        SeenIds(memory_ids=memory_ids)
