"""The manifest's ids_sha256: equal to sha256 of the sorted ids joined by line breaks, whatever the runs."""

from __future__ import annotations

import contextlib
import hashlib
import os
import random

import pytest

from airflow_provider_slack_audit.export.ids import SortedIdsDigest


def reference(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


def open_fds() -> set[tuple[str, str]]:
    """This process's open descriptors and what each is (another test's thread may close its own meanwhile:
    compare what is open, not how many)."""
    names = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the one listdir used is gone
            names.add((fd, os.readlink(f"/proc/self/fd/{fd}")))
    return names


def some_ids(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = "ab\t\x01 ZéЖ😀-0123456789"  # below and above the line break, multi-byte, astral
    ids = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(n)]
    ids += ["a", "ab", "a\t", "a\x01", "b"]  # prefixes of each other: the order without the separator counts
    ids += rng.sample(ids, n // 10)  # some ids twice (the digest counts what was written)
    rng.shuffle(ids)
    return ids


def feed(digest: SortedIdsDigest, ids: list[str], page: int) -> None:
    for start in range(0, len(ids), page):
        digest.update(ids[start : start + page])


@pytest.mark.parametrize(
    ("run_bytes", "max_runs", "page"),
    [
        (1 << 20, 64, 999),  # all in memory
        (200, 64, 37),  # many runs on disk, merged at the end
        (64, 3, 11),  # runs merged into one again and again while ids come in
        (1, 2, 1),  # a run per id
    ],
)
def test_the_digest_is_that_of_the_sorted_ids_joined_by_line_breaks(run_bytes: int, max_runs: int, page: int) -> None:
    ids = some_ids(3000, seed=run_bytes + page)
    digest = SortedIdsDigest(run_bytes=run_bytes, max_runs=max_runs)
    fds = open_fds()
    feed(digest, ids, page)
    assert digest.count == len(ids)
    assert digest.hexdigest() == reference(ids)
    assert not open_fds() - fds  # every temporary file is closed (they have no name on disk)


def test_uuid_shaped_ids_over_many_runs_match_the_reference() -> None:
    rng = random.Random(7)
    ids = [f"{rng.getrandbits(128):032x}" for _ in range(50_000)]
    digest = SortedIdsDigest(run_bytes=16 * 1024, max_runs=4)
    feed(digest, ids, 9999)
    assert digest.hexdigest() == reference(ids)


def test_no_ids_give_the_digest_of_nothing_and_single_adds_count() -> None:
    assert SortedIdsDigest().hexdigest() == hashlib.sha256(b"").hexdigest()
    digest = SortedIdsDigest(run_bytes=4)
    for event_id in ("b", "a", "c"):
        digest.add(event_id)
    digest.update([])
    assert digest.count == 3
    assert digest.hexdigest() == reference(["a", "b", "c"])


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        (None, "non-empty string id"),
        ("", "non-empty string id"),
        (5, "non-empty string id"),
        ("a\nb", "line break"),
        ("\ud83d", "written as UTF-8"),  # the client's rule (client.entry_rules): one home
    ],
)
def test_a_bad_id_is_named_and_nothing_of_its_page_is_counted(bad: object, words: str) -> None:
    digest = SortedIdsDigest()
    digest.update(["x"])
    with pytest.raises(ValueError, match=words) as caught:
        digest.update(["ok", bad, "fine"])  # type: ignore[list-item]
    assert repr(bad) in str(caught.value)
    assert digest.count == 1
    assert digest.hexdigest() == reference(["x"])


def test_close_deletes_the_runs_of_an_export_that_failed() -> None:
    digest = SortedIdsDigest(run_bytes=8)
    fds = open_fds()
    feed(digest, some_ids(200, seed=1), 10)
    assert open_fds() - fds  # the runs are open files
    digest.close()
    assert not open_fds() - fds


@pytest.mark.parametrize("arguments", [{"run_bytes": 0}, {"max_runs": 1}])
def test_bounds_that_cannot_work_are_refused(arguments: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="give"):
        SortedIdsDigest(**arguments)


@pytest.mark.parametrize(
    ("run_bytes", "max_runs", "page"),
    [(1 << 20, 64, 999), (200, 64, 37), (64, 3, 11), (1, 2, 1)],
)
def test_find_duplicates_counts_every_extra_occurrence_across_blocks_and_runs(
    run_bytes: int, max_runs: int, page: int
) -> None:
    ids = some_ids(3000, seed=run_bytes + page)
    extra = len(ids) - len(set(ids))
    assert extra > 0
    digest = SortedIdsDigest(run_bytes=run_bytes, max_runs=max_runs, find_duplicates=True)
    feed(digest, ids, page)
    assert digest.hexdigest() == reference(ids)  # the digest is the same with or without the search
    assert digest.duplicates == extra
    twice = sorted({i for i in ids if ids.count(i) > 1}, key=lambda i: i.encode())
    assert digest.duplicate_ids == twice[:10]


def test_find_duplicates_finds_none_in_distinct_ids_and_is_off_by_default() -> None:
    ids = [f"{n:08d}" for n in range(5000)]
    digest = SortedIdsDigest(run_bytes=500, find_duplicates=True)
    feed(digest, ids, 100)
    digest.hexdigest()
    assert (digest.duplicates, digest.duplicate_ids) == (0, [])
    plain = SortedIdsDigest()
    plain.update(["a", "a"])
    plain.hexdigest()
    assert plain.duplicates == 0
