"""The export operators in real DAG runs (``dag.test()`` on SQLite) against the emulator."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import datetime, timedelta, timezone

import pytest
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_slack_audit.operators.slack_audit import (
    SlackAuditLogsOperator,
    SlackAuditLogsToObjectStorageOperator,
)
from tests.fixtures.dag_runs import hourly_dag, run_dag, state_name
from tests.fixtures.s3 import AWS_CONN_ID, NO_DELETE_CONN_ID

pytestmark = [pytest.mark.airflow, pytest.mark.e2e]

H0 = datetime(2024, 3, 1, 0, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
KEY = "{{ data_interval_start.int_timestamp }}-{{ data_interval_end.int_timestamp - 1 }}.jsonl"


@pytest.fixture
def slack_conn(slack_audit_emulator, monkeypatch):
    """slack_audit_default points at the emulator, with a small retry budget so failures come fast."""
    conn = slack_audit_emulator.airflow_conn_json(extra={"max_retries": 2, "max_retry_wait": 0.05})
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_AUDIT_DEFAULT", conn)
    return slack_audit_emulator


def export_dag(dag_id: str, **operator_kwargs) -> DAG:
    with hourly_dag(dag_id, H0) as dag:
        SlackAuditLogsToObjectStorageOperator(task_id="export", **operator_kwargs)
    return dag


def run(dag: DAG, hour_start: datetime) -> str:
    """Run the DAG for the hour that starts at ``hour_start``.

    A manual run of a cron-interval DAG at logical date X owns the last complete interval, [X - 1h, X).
    """
    dag_run, _ = run_dag(dag, hour_start + HOUR)
    assert (dag_run.data_interval_start, dag_run.data_interval_end) == (hour_start, hour_start + HOUR)
    return state_name(dag_run.state)


def ids_in(data: bytes) -> list[str]:
    return [json.loads(line)["id"] for line in data.splitlines()]


def expected_ids(emu, start: datetime, **filters) -> list[str]:
    oldest = int(start.timestamp())
    return [e["id"] for e in emu.events(oldest, oldest + 3599, **filters)]


def test_two_consecutive_hours_hold_exactly_their_events(airflow_db, slack_conn, tmp_path):
    dag = export_dag("e2e_two_hours", path=f"file://{tmp_path}/{KEY}", page_size=250)
    assert run(dag, H0) == "success"
    assert run(dag, H0 + HOUR) == "success"

    files = sorted(tmp_path.glob("*.jsonl"))
    assert [f.name for f in files] == [
        f"{int(H0.timestamp())}-{int(H0.timestamp()) + 3599}.jsonl",
        f"{int(H0.timestamp()) + 3600}-{int(H0.timestamp()) + 7199}.jsonl",
    ]
    first, second = ids_in(files[0].read_bytes()), ids_in(files[1].read_bytes())
    assert first == expected_ids(slack_conn, H0)
    assert second == expected_ids(slack_conn, H0 + HOUR)
    assert len(first) > 250  # it took several pages
    assert not set(first) & set(second)


def test_filters_reach_the_file(airflow_db, slack_conn, tmp_path):
    dag = export_dag("e2e_filtered", path=f"file://{tmp_path}/{KEY}.gz", action="user_login,file_downloaded")
    assert run(dag, H0) == "success"
    (path,) = tmp_path.glob("*.jsonl.gz")
    got = ids_in(gzip.decompress(path.read_bytes()))
    assert got == expected_ids(slack_conn, H0, action=["user_login", "file_downloaded"])
    assert got


def test_s3_through_moto_gets_the_same_bytes_as_file(airflow_db, slack_conn, s3_server, tmp_path):
    local = export_dag("e2e_local_gz", path=f"file://{tmp_path}/{KEY}.gz")
    remote = export_dag("e2e_s3_gz", path=f"s3://{s3_server.bucket}/slack/{KEY}.gz", conn_id=AWS_CONN_ID)
    assert run(local, H0) == "success"
    assert run(remote, H0) == "success"
    (path,) = tmp_path.glob("*.jsonl.gz")
    assert s3_server.keys() == [f"slack/{path.name}", f"slack/{path.name}.manifest.json"]
    assert s3_server.read(f"slack/{path.name}") == path.read_bytes()


def test_faults_beyond_the_retry_budget_leave_nothing_then_a_rerun_succeeds(airflow_db, slack_conn, tmp_path):
    dag = export_dag("e2e_faults", path=f"file://{tmp_path}/{KEY}", page_size=100)
    # The first page answers, then every later call fails with 503: more than the retries allow.
    slack_conn.faults.add("http_503", count=None, skip=1)
    assert run(dag, H0) == "failed"
    assert list(tmp_path.iterdir()) == []

    slack_conn.faults.clear()
    assert run(dag, H0) == "success"
    (path,) = tmp_path.glob("*.jsonl")
    assert ids_in(path.read_bytes()) == expected_ids(slack_conn, H0)


def test_xcom_operator_returns_events_and_refuses_too_many(airflow_db, slack_conn, tmp_path):
    with hourly_dag("e2e_xcom", H0) as dag:
        SlackAuditLogsOperator(task_id="small", action="user_login", max_events=100_000)
        SlackAuditLogsOperator(task_id="too_many", max_events=10)
    dag_run, states = run_dag(dag, H0 + HOUR)
    assert states == {"small": "success", "too_many": "failed"}
    events = dag_run.get_task_instance("small").xcom_pull(task_ids="small")
    assert [e["id"] for e in events] == [
        e["id"] for e in slack_conn.events(int(H0.timestamp()), int(H0.timestamp()) + 3599, action="user_login")
    ]


def test_s3_export_with_a_role_that_may_not_delete_replaces_the_object(airflow_db, slack_conn, s3_no_delete):
    """No temporary object, copy or delete: a role without s3:DeleteObject exports, and a re-run replaces."""
    s3_no_delete.client().put_object(Bucket=s3_no_delete.bucket, Key="slack/audit.jsonl", Body=b"previous run\n")
    dag = export_dag(
        "e2e_s3_no_delete", path=f"s3://{s3_no_delete.bucket}/slack/audit.jsonl", conn_id=NO_DELETE_CONN_ID
    )
    assert run(dag, H0) == "success"
    assert ids_in(s3_no_delete.read("slack/audit.jsonl")) == expected_ids(slack_conn, H0)
    # the earlier object had no manifest, so nothing was deleted (replacing a manifest needs s3:DeleteObject)
    assert s3_no_delete.keys() == ["slack/audit.jsonl", "slack/audit.jsonl.manifest.json"]
    assert s3_no_delete.uploads() == []


def test_s3_re_export_with_a_role_that_may_not_delete_replaces_object_and_manifest(
    airflow_db, slack_conn, s3_no_delete
):
    """A re-run of a window whose object already has a manifest: the role cannot delete that manifest, yet the
    re-run succeeds and leaves the new object with a manifest that describes it (not the earlier one)."""
    path = f"s3://{s3_no_delete.bucket}/slack/again.jsonl"
    dag = export_dag("e2e_s3_no_delete_rerun", path=path, conn_id=NO_DELETE_CONN_ID)
    assert run(dag, H0) == "success"
    s3_no_delete.client().put_object(Bucket=s3_no_delete.bucket, Key="slack/again.jsonl", Body=b"altered\n")

    assert run(dag, H0) == "success"

    body = s3_no_delete.read("slack/again.jsonl")
    manifest = json.loads(s3_no_delete.read("slack/again.jsonl.manifest.json"))
    assert ids_in(body) == expected_ids(slack_conn, H0)
    assert manifest["sha256"] == hashlib.sha256(body).hexdigest()
    assert manifest["events"] == len(body.splitlines())
    assert s3_no_delete.keys() == ["slack/again.jsonl", "slack/again.jsonl.manifest.json"]
    assert s3_no_delete.uploads() == []


def test_a_superseded_late_file_a_role_may_not_delete_gets_a_marker_loaders_test(slack_conn, s3_no_delete):
    """A late file without manifest (its reconciliation was killed before writing one) whose events the new export
    holds: the role may not delete it, so a ``stale`` marker stands at its manifest's place. A loader that takes
    "the object and the late files whose manifest names its sha256" skips it; so does one that tests ``stale``."""
    from airflow_provider_slack_audit.export.manifest import read_manifest
    from airflow_provider_slack_audit.export.writer import resolve_target

    oldest = int(H0.timestamp())
    kwargs = {
        "task_id": "export",
        "path": f"s3://{s3_no_delete.bucket}/slack/h.jsonl",
        "conn_id": NO_DELETE_CONN_ID,
        "oldest": oldest,
        "latest": oldest + 3599,
        "settle_seconds": 0,
    }
    SlackAuditLogsToObjectStorageOperator(action="user_login", **kwargs).execute({})
    late_key = f"slack/h.late-{oldest + 3600}.jsonl"
    late_body = b"\n".join(s3_no_delete.read("slack/h.jsonl").splitlines()[:3]) + b"\n"
    s3_no_delete.client().put_object(Bucket=s3_no_delete.bucket, Key=late_key, Body=late_body)

    summary = SlackAuditLogsToObjectStorageOperator(**kwargs).execute({})  # every event: the late file's too

    assert s3_no_delete.read(late_key) == late_body  # the role may not delete it
    marker = json.loads(s3_no_delete.read(late_key + ".manifest.json"))
    assert marker["stale"] is True
    assert marker["superseded_by_sha256"] == summary["sha256"]
    assert marker["object"] == kwargs["path"]
    assert marker.get("object_sha256") != summary["sha256"]  # the loader's rule leaves it out
    late = resolve_target(f"s3://{s3_no_delete.bucket}/{late_key}", NO_DELETE_CONN_ID)
    assert read_manifest(late.path, late.url) is None  # no manifest: no evidence

