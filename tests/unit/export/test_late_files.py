"""How a late file is named: from the late files already there, never from the clock."""

from __future__ import annotations

import pytest

from airflow_provider_slack_audit.export.late_files import late_name, late_second, next_late_second

LATEST = 1709254799  # 2024-03-01T00:59:59Z, the last second of an hourly window


def test_the_first_late_file_is_named_for_the_windows_end():
    assert next_late_second(None, LATEST) == LATEST + 1
    assert late_name("2024-03-01T00.jsonl.gz", next_late_second(None, LATEST), gzip=True) == (
        "2024-03-01T00.late-1709254800.jsonl.gz"
    )


@pytest.mark.parametrize(
    ("newest", "expected"),
    [
        (LATEST + 1, LATEST + 2),  # after the first
        (1796164464, 1796164465),  # after one named for the second it was written, as late files were before
        (LATEST - 10, LATEST + 1),  # a name before the window's end (made by hand): the window's end
    ],
)
def test_each_next_late_file_is_named_one_second_after_the_newest(newest, expected):
    assert next_late_second(newest, LATEST) == expected


def test_two_runs_that_saw_the_same_late_files_pick_the_same_name_whenever_they_run():
    seen = [LATEST + 1, LATEST + 2]
    assert next_late_second(max(seen), LATEST) == next_late_second(max(seen), LATEST) == LATEST + 3


@pytest.mark.parametrize(
    ("name", "second"),
    [
        ("2024-03-01T00.late-1709254800.jsonl.gz", 1709254800),
        ("2024-03-01T00.late-1709254801.jsonl", 1709254801),
        ("audit.late-report.late-7.jsonl", 7),  # a stem that holds the mark itself
    ],
)
def test_late_second_reads_the_second_of_a_late_files_name(name, second):
    assert late_second(name) == second
