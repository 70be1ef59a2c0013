"""Every emulator fault, alone and mixed at random, through the object storage operator's ``execute()``.

For every run: either the file holds exactly the window's events (``emu.events(...)``, in order, each
id once), or the task fails with a message that says what happened and nothing is at ``path`` (no
partial object either). The figures go to the summary line ``fault matrix: ...`` printed at the end.
"""

from __future__ import annotations

import os
import random

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException
from reliability_helpers import SUMMARY, RunResult, record

from airflow_provider_slack_audit.client import (
    SlackAuditLogsBadRequestError,
    SlackAuditLogsEntryError,
    SlackAuditLogsError,
    SlackAuditLogsRateLimitError,
    SlackAuditLogsServerError,
)
from airflow_provider_slack_audit.emulator.faults import FAULT_KINDS

pytestmark = pytest.mark.airflow

#: 2024-03-05 10:00 UTC, a weekday morning of the emulator's data: a few hundred events per 10 minutes.
T0 = 1709632800
WINDOW = 600
PAGE_SIZE = 40
#: Each call may be retried 3 times with waits of at most 10 ms; an answer later than 0.5 s is a timeout.
EXTRAS = {"max_retries": 3, "max_retry_wait": 0.01, "timeout": 0.5}
RETRIES = EXTRAS["max_retries"]

#: Fault options that make each kind bite fast.
OPTIONS: dict[str, dict] = {
    "slow": {"delay": 0.8},
    "rate_limit_burst": {"retry_after": 1},
    "duplicate_entries": {"duplicates": 5},
}
#: Faults no retry can absorb: Slack would send the same entry again. The export fails at once, naming it.
FINAL = {"entry_without_id": (SlackAuditLogsEntryError, "no id")}
#: Every other fault the emulator can inject: a new kind joins the matrix by itself.
KINDS = sorted(FAULT_KINDS - set(FINAL))
#: What the failure message of each kind says, once the retries are spent.
FAILURE = {
    "http_500": (SlackAuditLogsServerError, "HTTP 500"),
    "http_502": (SlackAuditLogsServerError, "HTTP 502"),
    "http_503": (SlackAuditLogsServerError, "HTTP 503"),
    "http_504": (SlackAuditLogsServerError, "HTTP 504"),
    "reset": (SlackAuditLogsServerError, f"no usable answer after {RETRIES + 1} attempts"),
    "slow": (SlackAuditLogsServerError, "no complete answer within timeout"),
    "cut_body": (SlackAuditLogsServerError, "cut short"),
    "not_json": (SlackAuditLogsServerError, "not JSON"),
    "reject_cursor": (SlackAuditLogsBadRequestError, "invalid_cursor"),
    "rate_limit_burst": (SlackAuditLogsRateLimitError, "raise its max_retries"),
}

TALLY = SUMMARY.tally("fault matrix")


def window(n: int) -> tuple[int, int]:
    """The n-th 10-minute window after T0 (each run reads other data)."""
    oldest = T0 + n * WINDOW
    return oldest, oldest + WINDOW - 1


def check(result: RunResult) -> None:
    record(TALLY, result)
    assert TALLY.lost == 0
    assert TALLY.duplicated == 0


def assert_clear_failure(result: RunResult, kind: str) -> None:
    error_type, says = FAILURE[kind]
    error = result.error
    if error_type is SlackAuditLogsBadRequestError:
        # A retry cannot fix a rejected query: the task fails for good, with Slack's error as the cause.
        assert isinstance(error, AirflowFailException), repr(error)
        error = error.__cause__
    assert isinstance(error, error_type), repr(error)
    message = str(result.error)
    assert says in message
    fix = "run again later" if error_type is not SlackAuditLogsBadRequestError else "start the query again"
    assert fix in message.lower()


@pytest.mark.parametrize("kind", KINDS)
def test_each_fault_within_the_retry_budget_loses_and_repeats_nothing(kind, slack_audit_emulator, export_runner):
    emu = slack_audit_emulator
    runner = export_runner(emu, **EXTRAS)
    oldest, latest = window(KINDS.index(kind))
    # Twice on the first call and once more on page 3: the retries (or the cursor restart) absorb them.
    emu.faults.add(kind, count=RETRIES - 1, **OPTIONS.get(kind, {}))
    emu.faults.add(kind, on_call=3 if kind != "reject_cursor" else 2, **OPTIONS.get(kind, {}))
    result = runner.run(oldest, latest, page_size=PAGE_SIZE)
    assert result.ok, repr(result.error)
    assert result.faults == RETRIES
    assert len(result.expected) > 3 * PAGE_SIZE  # the window took several pages
    check(result)


@pytest.mark.parametrize("kind", sorted(FAILURE))
def test_each_fault_beyond_the_retry_budget_fails_mid_window_and_leaves_nothing(
    kind, slack_audit_emulator, export_runner
):
    emu = slack_audit_emulator
    runner = export_runner(emu, **EXTRAS)
    oldest, latest = window(20 + sorted(FAILURE).index(kind))
    # Two pages are read and written to the partial object; then every call fails.
    emu.faults.add(kind, skip=2, count=None, **OPTIONS.get(kind, {}))
    result = runner.run(oldest, latest, page_size=PAGE_SIZE)
    assert not result.ok
    assert_clear_failure(result, kind)
    check(result)


def test_duplicates_on_every_page_are_dropped(slack_audit_emulator, export_runner):
    emu = slack_audit_emulator
    runner = export_runner(emu, **EXTRAS)
    emu.faults.add("duplicate_entries", count=None, duplicates=PAGE_SIZE)
    result = runner.run(*window(40), page_size=PAGE_SIZE)
    assert result.ok
    assert result.faults > 3
    check(result)


def test_a_rerun_after_a_failure_replaces_nothing_until_it_succeeds(slack_audit_emulator, export_runner):
    emu = slack_audit_emulator
    runner = export_runner(emu, **EXTRAS)
    oldest, latest = window(41)
    first = runner.run(oldest, latest, page_size=PAGE_SIZE, name="same")
    check(first)
    before = first.path.read_bytes()
    emu.faults.add("http_503", skip=3, count=None)
    failed = runner.run(oldest, latest, page_size=PAGE_SIZE, name="same")
    assert not failed.ok
    assert failed.path.read_bytes() == before  # the earlier export is left as it was
    assert failed.leftovers() == []
    TALLY.runs += 1
    TALLY.failed += 1
    TALLY.faults_injected += failed.faults


def random_faults(rng: random.Random) -> list[tuple[str, dict]]:
    """One to four faults of random kinds and targeting."""
    faults = []
    for kind in rng.sample(KINDS, rng.randint(1, 4)):
        options = dict(OPTIONS.get(kind, {}))
        options["probability"] = rng.choice([0.1, 0.25, 0.5, 1.0])
        options["count"] = rng.choice([1, 2, 3, 5, None])
        options["skip"] = rng.randint(0, 6)
        if kind != "reject_cursor":
            options["cursor_only"] = rng.random() < 0.3
        faults.append((kind, options))
    return faults


@pytest.mark.parametrize("kind", sorted(FINAL))
def test_each_final_fault_fails_at_once_naming_it_and_leaves_nothing(kind, slack_audit_emulator, export_runner):
    emu = slack_audit_emulator
    runner = export_runner(emu, **EXTRAS)
    emu.faults.add(kind, skip=2, count=None)  # the third page on: two pages are in the partial object by then
    result = runner.run(*window(60 + sorted(FINAL).index(kind)), page_size=PAGE_SIZE)
    error_type, says = FINAL[kind]
    assert isinstance(result.error, AirflowFailException), repr(result.error)  # no retry, no Airflow retry
    assert isinstance(result.error.__cause__, error_type), repr(result.error.__cause__)
    assert says in str(result.error)
    assert result.faults == 1  # the entry was not asked for again
    check(result)


@pytest.mark.parametrize("seed", range(16))
def test_random_mixes_of_faults_lose_and_repeat_nothing(seed, slack_audit_emulator_factory, export_runner):
    # A fresh emulator per seed: its seeded fault PRNG starts over, so a seed always fires the same way.
    emu = slack_audit_emulator_factory(seed=seed)
    runner = export_runner(emu, **EXTRAS)
    rng = random.Random(seed)
    faults = random_faults(rng)
    for kind, options in faults:
        emu.faults.add(kind, **options)
    result = runner.run(*window(rng.randint(0, 100)), page_size=rng.choice([25, PAGE_SIZE, 90]))
    if not result.ok:
        # a failure a retry can fix raises the client's error; a final one fails the task with it as the cause
        error = result.error.__cause__ if isinstance(result.error, AirflowFailException) else result.error
        assert isinstance(error, SlackAuditLogsError), repr(result.error)
        failures = {**FAILURE, **FINAL}
        assert any(kind in failures and failures[kind][1] in str(result.error) for kind, _ in faults), str(result.error)
    check(result)


def open_files_under(folder) -> list[str]:
    """Files below ``folder`` this process still holds open (Linux ``/proc``), deleted ones included."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder)):
            found.append(target)
    return found


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs Linux /proc to list open files")
def test_a_failed_local_export_closes_its_partial_file(slack_audit_emulator, export_runner, tmp_path):
    emu = slack_audit_emulator
    runner = export_runner(emu, **EXTRAS)
    emu.faults.add("http_500", skip=2, count=None)
    result = runner.run(*window(42), page_size=PAGE_SIZE)
    assert isinstance(result.error, SlackAuditLogsServerError)
    assert result.leftovers() == []
    assert open_files_under(tmp_path) == []  # the partial file was closed, not only unlinked
