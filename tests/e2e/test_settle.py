"""Waiting for late events: a deferrable export defers to a DateTimeTrigger at the exact moment, a
non-deferrable one waits in the worker, a past window does neither. The CLI tests run
``airflow dags test`` (which runs triggers in line) on Airflow 3.3 and 2.11, on a window that ends as the
export starts, so the wait is always needed and short."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsToObjectStorageOperator

pytestmark = [pytest.mark.airflow]


@pytest.fixture
def recent_emulator(slack_audit_emulator_factory):
    """An emulator whose log runs up to now, so a window that just ended has events."""
    return slack_audit_emulator_factory(start=int(time.time()) - 7200, end=None, events_per_hour=3600)


#: How long the CLI tests' exports wait after their window: over the operator's 5 s floor for deferring
#: (MIN_DEFER_SECONDS), with room for the moments between rendering the window and checking it.
SETTLE_SECONDS = 10

#: An export of the minute that ended the second before the export itself started: it renders its window when it
#: starts (``just_ended`` keeps that moment, should it render again after the deferral), so whatever time the
#: run took to start, its wait of about ``SETTLE_SECONDS`` lies ahead of it.
SETTLE_DAG = """
import time
from datetime import datetime, timezone

from airflow.providers.common.compat.sdk import DAG
from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsToObjectStorageOperator

_ENDED = []


def just_ended() -> int:
    if not _ENDED:
        _ENDED.append(int(time.time()) - 1)
    return _ENDED[0]


with DAG(
    dag_id={dag_id!r},
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    user_defined_macros={{"just_ended": just_ended}},
):
    SlackAuditLogsToObjectStorageOperator(
        task_id="task",
        path={path!r},
        oldest="{{{{ just_ended() - 59 }}}}",
        latest="{{{{ just_ended() }}}}",
        settle_seconds={settle_seconds!r},
        deferrable={deferrable!r},
    )
"""


@pytest.mark.e2e
def test_a_window_that_just_ended_defers_to_the_settle_moment_then_exports(airflow_cli, recent_emulator, tmp_path):
    dag_id = "settle_deferrable"
    dag_file = SETTLE_DAG.format(
        dag_id=dag_id, path=f"file://{tmp_path}/audit.jsonl", settle_seconds=SETTLE_SECONDS, deferrable=True
    )
    (airflow_cli.dag_folder(dag_id) / f"{dag_id}.py").write_text(dag_file)
    env = {"AIRFLOW_CONN_SLACK_AUDIT_DEFAULT": recent_emulator.airflow_conn_json()}

    result = airflow_cli.dags_test(dag_id, env=env)

    assert result.returncode == 0, result.stdout[-5000:]
    latest = check_settled_export(recent_emulator, tmp_path / "audit.jsonl")
    # deferred to a DateTimeTrigger at the exact settle moment; the worker had nothing left to wait after it
    deferred = re.search(r"Deferring for \d+ s until (\S+), when", result.stdout)
    assert deferred, result.stdout[-5000:]
    assert deferred[1] == datetime.fromtimestamp(latest + 1 + SETTLE_SECONDS, tz=timezone.utc).isoformat()
    assert not re.search(r"Waiting \d+ s for late audit events", result.stdout), result.stdout[-5000:]


def test_a_window_that_just_ended_waits_in_the_worker_then_exports(recent_emulator, tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_AUDIT_DEFAULT", recent_emulator.airflow_conn_json())
    latest = int(time.time()) - 1
    SlackAuditLogsToObjectStorageOperator(
        task_id="export", path=f"file://{tmp_path}/audit.jsonl", oldest=latest - 59, latest=latest,
        settle_seconds=SETTLE_SECONDS, deferrable=False,
    ).execute({})  # a deferral would raise TaskDeferred  # fmt: skip
    assert check_settled_export(recent_emulator, tmp_path / "audit.jsonl") == latest


def check_settled_export(emulator, path) -> int:
    """The minute was read in one call made once it had settled, and written whole; returns its end."""
    (request,) = emulator.requests
    oldest, latest = int(request.params["oldest"]), int(request.params["latest"])
    assert latest - oldest == 59
    # the export started within the second after `latest`, and read Slack only once the window had settled
    assert request.time >= latest + 1 + SETTLE_SECONDS
    ids = [json.loads(line)["id"] for line in path.read_bytes().splitlines()]
    assert ids == [e["id"] for e in emulator.events(oldest, latest)]
    assert ids
    return latest


def operator(**kwargs) -> SlackAuditLogsToObjectStorageOperator:
    return SlackAuditLogsToObjectStorageOperator(task_id="export", path="file:///tmp/unused.jsonl", **kwargs)


def test_a_deferrable_export_defers_to_the_exact_settle_moment():
    latest = int(time.time()) - 1
    op = operator(oldest=latest - 59, latest=latest, settle_seconds=120, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute({})
    assert deferred.value.trigger.moment == datetime.fromtimestamp(latest + 1 + 120, tz=timezone.utc)
    assert deferred.value.method_name == "execute_settled"


def test_a_past_window_neither_defers_nor_waits(slack_audit_emulator, monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_AUDIT_DEFAULT", slack_audit_emulator.airflow_conn_json())
    op = SlackAuditLogsToObjectStorageOperator(
        task_id="export", path=f"file://{tmp_path}/a.jsonl", oldest=1709251200, latest=1709251259, deferrable=True
    )
    started = time.monotonic()
    summary = op.execute({})
    assert time.monotonic() - started < 10
    assert summary["events"] == len(slack_audit_emulator.events(1709251200, 1709251259))


def test_deferrable_defaults_to_the_operators_default_deferrable_setting():
    from airflow.providers.common.compat.sdk import conf

    assert operator().deferrable is conf.getboolean("operators", "default_deferrable", fallback=False)
