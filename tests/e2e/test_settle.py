"""Waiting for late events: a deferrable export defers to a DateTimeTrigger at the exact moment, a
non-deferrable one waits in the worker, a past window does neither. The CLI tests run
``airflow dags test`` (which runs triggers in line) on Airflow 3.3 and 2.11."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsToObjectStorageOperator
from tests.fixtures.airflow_cli import LOGICAL_DATE

pytestmark = [pytest.mark.airflow]


@pytest.fixture
def recent_emulator(slack_audit_emulator_factory):
    """An emulator whose log runs up to now, so a window that just ended has events."""
    return slack_audit_emulator_factory(start=int(time.time()) - 7200, end=None, events_per_hour=3600)


#: An export of the minute before its run's first task ran: ``started`` says when that was (its XCom, the same
#: when the export renders its arguments again after the deferral), and the export waits ``settle_seconds``
#: after it. The second task starts a few seconds after the first (Airflow 3 syncs every DAG file of the folder
#: before the run, 30 s and more on a loaded machine, but that comes before both).
SETTLE_DAG = """
import time
from datetime import datetime, timezone

from airflow.providers.common.compat.sdk import DAG, task
from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsToObjectStorageOperator

with DAG(
    dag_id={dag_id!r},
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
    catchup=False,
):
    @task
    def started() -> int:
        return int(time.time())

    started() >> SlackAuditLogsToObjectStorageOperator(
        task_id="task",
        path={path!r},
        oldest="{{{{ ti.xcom_pull(task_ids='started') - 60 }}}}",
        latest="{{{{ ti.xcom_pull(task_ids='started') - 1 }}}}",
        settle_seconds={settle_seconds!r},
        deferrable={deferrable!r},
    )
"""


@pytest.mark.e2e
@pytest.mark.parametrize("deferrable", [True, False])
def test_a_window_that_just_ended_settles_then_exports(deferrable, airflow_cli, recent_emulator, tmp_path):
    dag_id = f"settle_deferrable_{deferrable}".lower()
    dag_file = SETTLE_DAG.format(
        dag_id=dag_id, path=f"file://{tmp_path}/audit.jsonl", settle_seconds=30, deferrable=deferrable
    )
    (airflow_cli.dags / f"{dag_id}.py").write_text(dag_file)
    env = {"AIRFLOW_CONN_SLACK_AUDIT_DEFAULT": recent_emulator.airflow_conn_json()}

    result = airflow_cli.run("dags", "test", dag_id, LOGICAL_DATE, env=env)

    assert result.returncode == 0, result.stdout[-5000:]
    assert ("Deferring for" in result.stdout) is deferrable, result.stdout[-5000:]
    assert bool(re.search(r"Waiting \d+ s for late audit events", result.stdout)) is not deferrable
    (request,) = recent_emulator.requests
    oldest, latest = int(request.params["oldest"]), int(request.params["latest"])
    assert latest - oldest == 59
    ids = [json.loads(line)["id"] for line in (tmp_path / "audit.jsonl").read_bytes().splitlines()]
    assert ids == [e["id"] for e in recent_emulator.events(oldest, latest)]
    assert ids


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
