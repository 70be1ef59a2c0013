"""The export's Asset outlet (a Dataset on Airflow 2.11) records one event per run, with the summary as extra.

Runs the same DAG on both supported Airflow lines: the event lands in ``asset_event`` (3.x) or
``dataset_event`` (2.11), for a fixed path (the Asset itself) and a templated one (through an alias).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from airflow.providers.common.compat.sdk import DAG
from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsToObjectStorageOperator
from tests.fixtures.dag_runs import AIRFLOW_3, run_dag

pytestmark = [pytest.mark.airflow, pytest.mark.e2e]

H0 = datetime(2024, 3, 1, 0, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


@pytest.fixture
def slack_conn(slack_audit_emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_AUDIT_DEFAULT", slack_audit_emulator.airflow_conn_json())
    return slack_audit_emulator


def asset_events(dag_id: str, run_id: str, uri_prefix: str) -> dict[tuple[str, str], list[dict]]:
    """The asset (dataset) events of the run's tasks on URIs under ``uri_prefix``: (task_id, uri) -> extras.

    The prefix (the test's tmp_path) keeps out events of earlier sessions on a reused SQLite database:
    they have the same DAG and run ids.
    """
    from airflow.utils.session import create_session

    if AIRFLOW_3:
        from airflow.models.asset import AssetEvent as Event
        from airflow.models.asset import AssetModel as Model

        asset_id = Event.asset_id
    else:
        from airflow.models.dataset import DatasetEvent as Event
        from airflow.models.dataset import DatasetModel as Model

        asset_id = Event.dataset_id
    found: dict[tuple[str, str], list[dict]] = {}
    with create_session() as session:
        rows = (
            session.query(Event.source_task_id, Model.uri, Event.extra)
            .join(Model, Model.id == asset_id)
            .filter(Event.source_dag_id == dag_id, Event.source_run_id == run_id, Model.uri.startswith(uri_prefix))
            .order_by(Event.id)
        )
        for task_id, uri, extra in rows:
            found.setdefault((task_id, uri), []).append(extra)
    return found


def test_each_export_records_its_object_as_an_asset_event_with_the_summary(airflow_db, slack_conn, tmp_path):
    fixed = f"file://{tmp_path}/fixed/audit.jsonl"
    templated = f"file://{tmp_path}/templated/" + "{{ data_interval_start.int_timestamp }}.jsonl"
    with DAG(
        dag_id="e2e_asset_events",
        schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
        start_date=H0 - timedelta(days=1),
        catchup=False,
    ) as dag:
        SlackAuditLogsToObjectStorageOperator(task_id="fixed", path=fixed, action="user_login")
        SlackAuditLogsToObjectStorageOperator(task_id="templated", path=templated, action="user_login")

    dag_run, states = run_dag(dag, H0 + HOUR)

    assert states == {"fixed": "success", "templated": "success"}
    summaries = {task_id: dag_run.get_task_instance(task_id).xcom_pull(task_ids=task_id) for task_id in states}
    oldest = int(H0.timestamp())
    expected_events = len(slack_conn.events(oldest, oldest + 3599, action="user_login"))
    assert expected_events > 0
    for summary in summaries.values():
        assert (summary["events"], summary["oldest"], summary["latest"]) == (expected_events, oldest, oldest + 3599)
    rendered = f"file://{tmp_path}/templated/{oldest}.jsonl"
    assert summaries["fixed"]["path"] == fixed
    assert summaries["templated"]["path"] == rendered
    assert asset_events("e2e_asset_events", dag_run.run_id, f"file://{tmp_path}/") == {
        ("fixed", fixed): [summaries["fixed"]],
        ("templated", rendered): [summaries["templated"]],
    }
