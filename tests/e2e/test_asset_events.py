"""Each export task declares one stable Asset (a Dataset on Airflow 2.11) and records one event per run on it,
with the summary as extra; a DAG scheduled on that Asset is queued once per export.

Runs on both supported Airflow lines: the events land in ``asset_event`` (3.x) or ``dataset_event`` (2.11).
The DAGs are synced to the database first, as a deployment's DAG processor does: 2.11 records events only
for DAGs it knows (``airflow dags test`` on 2.11 runs the export but records none; see the README).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from airflow.providers.common.compat.sdk import DAG, Asset, task

from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsToObjectStorageOperator
from tests.fixtures.dag_runs import AIRFLOW_3, hourly_dag, load_dag_bag, run_dag, sync_to_db

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


def queued_runs(dag_id: str) -> int:
    """How many asset events wait to trigger a run of ``dag_id`` (what the scheduler turns into a run)."""
    from airflow.utils.session import create_session

    if AIRFLOW_3:
        from airflow.models.asset import AssetDagRunQueue as Queue
    else:
        from airflow.models.dataset import DatasetDagRunQueue as Queue
    with create_session() as session:
        return session.query(Queue).filter(Queue.target_dag_id == dag_id).count()


def unpause(dag_id: str) -> None:
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(DagModel).filter(DagModel.dag_id == dag_id).update({"is_paused": False})


def test_each_export_task_records_one_event_per_run_on_one_stable_asset(airflow_db, slack_conn, tmp_path):
    fixed = f"file://{tmp_path}/fixed/audit.jsonl"
    hour = "{{ data_interval_start.int_timestamp }}.jsonl"
    dag_id = f"e2e_asset_events_{tmp_path.name}"[:200]
    with hourly_dag(dag_id, H0) as dag:
        SlackAuditLogsToObjectStorageOperator(task_id="fixed", path=fixed, action="user_login")
        SlackAuditLogsToObjectStorageOperator(
            task_id="prefix", path=f"file://{tmp_path}/templated/{hour}", action="user_login"
        )
        SlackAuditLogsToObjectStorageOperator(
            task_id="full",
            path="{{ var.value.get('no_such_root', 'file://" + str(tmp_path) + "/full') }}/" + hour,
            action="user_login",
        )
        SlackAuditLogsToObjectStorageOperator(
            task_id="named",
            path=f"file://{tmp_path}/named/{hour}",
            action="user_login",
            asset=f"file://{tmp_path}/named-asset",
        )
    with DAG(dag_id=f"{dag_id}_consumer", schedule=[Asset(f"file://{tmp_path}/templated")], start_date=H0) as consumer:

        @task
        def load() -> None:
            pass

        load()
    assets = {task.task_id: task.asset.uri for task in dag.tasks}
    assert assets == {
        "fixed": fixed,
        "prefix": f"file://{tmp_path}/templated",
        "full": f"slack-audit://slack_audit_default/{dag_id}/full",
        "named": f"file://{tmp_path}/named-asset",
    }
    sync_to_db(consumer)
    unpause(consumer.dag_id)  # new DAGs start paused; a paused DAG is not queued

    runs = [run_dag(dag, H0 + HOUR, synced=True), run_dag(dag, H0 + 2 * HOUR, synced=True)]

    for _, states in runs:
        assert set(states.values()) == {"success"}, states
    recorded: dict[str, list[dict]] = {}
    for dag_run, _ in runs:
        summaries = {t: dag_run.get_task_instance(t).xcom_pull(task_ids=t) for t in assets}
        events = asset_events(dag_id, dag_run.run_id, "")
        assert set(events) == {(task_id, uri) for task_id, uri in assets.items()}  # one Asset per task, no other
        for (task_id, uri), extras in events.items():
            assert extras == [summaries[task_id]]  # one event per run, the summary as extra
            recorded.setdefault(uri, []).append(extras[0])
    oldest = int(H0.timestamp())
    assert [e["path"] for e in recorded[f"file://{tmp_path}/templated"]] == [
        f"file://{tmp_path}/templated/{oldest}.jsonl",
        f"file://{tmp_path}/templated/{oldest + 3600}.jsonl",
    ]
    expected_events = len(slack_conn.events(oldest, oldest + 3599, action="user_login"))
    first = recorded[fixed][0]
    assert (first["events"], first["oldest"], first["latest"]) == (expected_events, oldest, oldest + 3599)
    assert recorded[fixed][-1]["bytes"] == (tmp_path / "fixed/audit.jsonl").stat().st_size  # the second run's file
    assert queued_runs(consumer.dag_id) == 1  # the scheduler would now run the consumer


def test_the_example_consumer_finds_the_exported_file_in_its_triggering_events(
    airflow_db, slack_conn, tmp_path, monkeypatch
):
    """The example export records its file on EXPORT_ASSET; the example consumer, given the events the
    scheduler hands a run triggered by that Asset, reads the file and checks it against the extra."""
    from airflow.utils.session import create_session

    monkeypatch.setenv("AIRFLOW_VAR_SLACK_AUDIT_EXPORT_ROOT", f"file://{tmp_path}")
    bag = load_dag_bag(Path(__file__).resolve().parents[2] / "example_dags")
    export, consumer = bag.get_dag("slack_audit_hourly_export"), bag.get_dag("slack_audit_export_consumer")
    uri = export.get_task("export_audit_logs").asset.uri
    condition = consumer.timetable.asset_condition if AIRFLOW_3 else consumer.timetable.dataset_condition
    assert [a.uri for a in condition.objects] == [uri]  # the consumer is scheduled on the export's Asset

    dag_run, states = run_dag(export, H0 + HOUR, synced=True)

    assert states == {"export_audit_logs": "success"}
    if AIRFLOW_3:
        from airflow.models.asset import AssetEvent as Event
        from airflow.models.asset import AssetModel as Model

        asset_id, key = Event.asset_id, "asset"
    else:
        from airflow.models.dataset import DatasetEvent as Event
        from airflow.models.dataset import DatasetModel as Model

        asset_id, key = Event.dataset_id, "dataset"
    with create_session() as session:
        events = (
            session.query(Event)
            .join(Model, Model.id == asset_id)
            .filter(Model.uri == uri, Event.source_run_id == dag_run.run_id)
            .all()
        )
        assert len(events) == 1
        load = consumer.get_task("load_exported_files").python_callable
        loaded = load(**{f"triggering_{key}_events": {uri: events}})
    oldest = int(H0.timestamp())
    assert loaded == [dag_run.get_task_instance("export_audit_logs").xcom_pull(task_ids="export_audit_logs")]
    assert loaded[0]["path"].endswith(f"/dt=2024-03-01/hour=00/{oldest}-{oldest + 3599}.jsonl.gz")
