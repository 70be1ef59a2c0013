"""Manifests and reconciliation against the emulator's late arrivals, on file:// and moto S3.

The emulator hides a slice of a window for a few seconds (``late_events``): an export made meanwhile
misses those events, exactly as an export misses events Slack indexes late. A reconciliation made
after they appear must write exactly those to the late file, once.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
from airflow.providers.common.compat.sdk import DAG, AirflowFailException

from airflow_provider_slack_audit import __version__
from airflow_provider_slack_audit.operators.slack_audit import (
    SlackAuditLogsReconcileOperator,
    SlackAuditLogsToObjectStorageOperator,
)
from tests.fixtures.airflow_cli import wait_for
from tests.fixtures.dag_runs import hourly_dag, run_dag, state_name
from tests.fixtures.s3 import AWS_CONN_ID, NO_DELETE_CONN_ID

pytestmark = [pytest.mark.airflow, pytest.mark.e2e]

H0 = datetime(2024, 3, 1, 0, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
OLDEST = int(H0.timestamp())
LATEST = OLDEST + 3599
#: The slice of the hour that reaches "Slack" late. It stays hidden (for an hour) until the test lets it
#: arrive with ``emulator.reset()``: a DAG run's start-up time on a busy machine does not matter.
LATE_FROM, LATE_TO, HIDDEN = OLDEST + 600, OLDEST + 1199, 3600.0

MANIFEST_FIELDS = [
    "manifest_version", "path", "window", "filters", "events", "format", "compression", "bytes", "sha256",
    "object_version", "ids_sha256", "first_date_create",
    "last_date_create", "pages", "calls", "retries", "rate_limited", "started_at", "finished_at", "provider_version",
    "late_after",
]  # fmt: skip


@pytest.fixture
def slack_conn(slack_audit_emulator, monkeypatch):
    conn = slack_audit_emulator.airflow_conn_json(extra={"max_retries": 2, "max_retry_wait": 0.05})
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_AUDIT_DEFAULT", conn)
    return slack_audit_emulator


class Store:
    """One storage under test: where the export goes and how the test reads it back."""

    def __init__(self, kind: str, tmp_path, s3_server=None) -> None:
        self.kind = kind
        self.tmp_path = tmp_path
        self.s3 = s3_server
        self.conn_id = AWS_CONN_ID if s3_server else None
        self.root = f"s3://{s3_server.bucket}/slack" if s3_server else f"file://{tmp_path}"

    def names(self) -> list[str]:
        if self.s3:
            return [key.removeprefix("slack/") for key in self.s3.keys("slack/")]
        return sorted(p.name for p in self.tmp_path.iterdir())

    def read(self, name: str) -> bytes:
        return self.s3.read(f"slack/{name}") if self.s3 else (self.tmp_path / name).read_bytes()

    def delete(self, name: str) -> None:
        if self.s3:
            self.s3.client().delete_object(Bucket=self.s3.bucket, Key=f"slack/{name}")
        else:
            (self.tmp_path / name).unlink()

    def write(self, name: str, data: bytes) -> None:
        if self.s3:
            self.s3.client().put_object(Bucket=self.s3.bucket, Key=f"slack/{name}", Body=data)
        else:
            (self.tmp_path / name).write_bytes(data)


@pytest.fixture(params=["file", "s3"])
def store(request, tmp_path):
    if request.param == "s3":
        return Store("s3", tmp_path, request.getfixturevalue("s3_server"))
    return Store("file", tmp_path)



def ids_of(data: bytes) -> list[str]:
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return [json.loads(line)["id"] for line in data.splitlines()]


def export_and_reconcile_dags(dag_id: str, path: str, conn_id: str | None) -> tuple[DAG, DAG]:
    """An hourly export DAG and a reconcile DAG for the same path (the reconcile reads the manifest's window)."""
    dags = []
    for kind in ("export", "reconcile"):
        with hourly_dag(f"{dag_id}_{kind}", H0) as dag:
            if kind == "export":
                SlackAuditLogsToObjectStorageOperator(task_id=kind, path=path, conn_id=conn_id, settle_seconds=0)
            else:
                SlackAuditLogsReconcileOperator(task_id=kind, path=path, conn_id=conn_id, settle_seconds=0)
        dags.append(dag)
    return dags[0], dags[1]


def xcom(dag_run, task_id: str):
    (ti,) = [ti for ti in dag_run.get_task_instances() if ti.task_id == task_id]
    return ti.xcom_pull(task_ids=task_id)


def test_a_reconciliation_writes_exactly_the_late_events_once(airflow_db, slack_conn, store):
    name = "2024-03-01T00.jsonl.gz"
    export_dag, reconcile_dag = export_and_reconcile_dags(f"late_{store.kind}", f"{store.root}/{name}", store.conn_id)
    window = slack_conn.events(OLDEST, LATEST)
    late = {e["id"] for e in window if LATE_FROM <= e["date_create"] <= LATE_TO}
    assert late

    slack_conn.late_events(LATE_FROM, LATE_TO, delay=HIDDEN)
    export_run, states = run_dag(export_dag, H0 + HOUR)
    assert states == {"export": "success"}
    exported = ids_of(store.read(name))
    assert set(exported) == {e["id"] for e in window} - late  # the export missed exactly the hidden events

    summary = xcom(export_run, "export")
    data = store.read(name)
    manifest = json.loads(store.read(name + ".manifest.json"))
    assert list(manifest) == MANIFEST_FIELDS
    assert manifest["path"] == summary["path"] == f"{store.root}/{name}"
    assert manifest["window"] == {"oldest": OLDEST, "latest": LATEST}
    assert manifest["filters"] == {"action": None, "actor": None, "entity": None}
    assert manifest["events"] == summary["events"] == len(exported)
    assert manifest["bytes"] == summary["bytes"] == len(data)
    assert manifest["sha256"] == summary["sha256"] == hashlib.sha256(data).hexdigest()
    expected_ids_sha256 = hashlib.sha256("\n".join(sorted(exported)).encode()).hexdigest()
    assert manifest["ids_sha256"] == summary["ids_sha256"] == expected_ids_sha256
    created = [e["date_create"] for e in window if e["id"] not in late]
    assert (manifest["first_date_create"], manifest["last_date_create"]) == (min(created), max(created))
    assert manifest["pages"] >= 1
    assert manifest["calls"] >= manifest["pages"]
    assert (manifest["retries"], manifest["rate_limited"]) == (0, 0)
    assert manifest["started_at"] <= manifest["finished_at"]
    assert manifest["provider_version"] == __version__
    assert (manifest["manifest_version"], manifest["format"], manifest["compression"]) == (2, "jsonl", "gzip")
    assert manifest["object_version"]["store"] == ("local" if store.kind == "file" else "s3")
    assert manifest["late_after"] is None  # no late file beside it yet
    assert summary["manifest"] == f"{store.root}/{name}.manifest.json"

    slack_conn.reset()  # the late events reach Slack
    first_run, states = run_dag(reconcile_dag, H0 + HOUR)
    assert states == {"reconcile": "success"}
    result = xcom(first_run, "reconcile")
    late_names = [n for n in store.names() if ".late-" in n and not n.endswith(".manifest.json")]
    assert len(late_names) == 1
    assert late_names == [f"2024-03-01T00.late-{LATEST + 1}.jsonl.gz"]  # the first is named for the window's end
    assert result == {
        "path": f"{store.root}/{name}",
        "checked": len(window),
        "late": len(late),
        "vanished": 0,
        "late_path": f"{store.root}/{late_names[0]}",
    }
    late_ids = ids_of(store.read(late_names[0]))
    assert len(late_ids) == len(late)
    # the late file holds Slack's bytes for those events, as the export does (not events encoded again)
    assert gzip.decompress(store.read(late_names[0])) == slack_conn.jsonl(LATE_FROM, LATE_TO)
    assert set(late_ids) == late
    # object + late file == the window's events, each once
    together = exported + late_ids
    assert sorted(together) == sorted(e["id"] for e in window)
    late_manifest = json.loads(store.read(late_names[0] + ".manifest.json"))
    assert late_manifest["events"] == len(late)
    assert late_manifest["sha256"] == hashlib.sha256(store.read(late_names[0])).hexdigest()
    assert late_manifest["object"] == f"{store.root}/{name}"
    assert late_manifest["object_sha256"] == manifest["sha256"]

    before = store.names()
    second_run, states = run_dag(reconcile_dag, H0 + HOUR)
    assert states == {"reconcile": "success"}
    assert xcom(second_run, "reconcile") == {**result, "late": 0, "late_path": None}
    assert store.names() == before  # nothing new was written


def test_an_altered_object_fails_with_a_clear_message(airflow_db, slack_conn, store):
    name = "altered.jsonl"
    path = f"{store.root}/{name}"
    export = SlackAuditLogsToObjectStorageOperator(
        task_id="export", path=path, conn_id=store.conn_id, oldest=OLDEST, latest=OLDEST + 59, settle_seconds=0
    )
    summary = export.execute({})
    data = store.read(name)
    first = json.loads(data.splitlines()[0])
    first["action"] = "user_login"  # one event edited: same ids, other bytes
    store.write(name, b"\n".join([json.dumps(first).encode(), *data.splitlines()[1:]]) + b"\n")
    reconcile = SlackAuditLogsReconcileOperator(task_id="reconcile", path=path, conn_id=store.conn_id)
    # edited in place locally (the same inode: altered); a PUT on S3 is a new write (another ETag): the manifest
    # then describes another write, and says exactly that
    said = "was altered after its export" if store.kind == "file" else "is the manifest of another write"
    with pytest.raises(AirflowFailException, match=said) as err:
        reconcile.execute({})
    assert summary["sha256"] in str(err.value)
    assert [n for n in store.names() if ".late-" in n] == []


def export_minute(store: Store, name: str, oldest: int = OLDEST) -> str:
    """Export the minute from ``oldest`` to ``name`` in ``store``; returns its path."""
    path = f"{store.root}/{name}"
    SlackAuditLogsToObjectStorageOperator(
        task_id="export", path=path, conn_id=store.conn_id, oldest=oldest, latest=oldest + 59, settle_seconds=0
    ).execute({})
    return path


def deferred_reconciliation(path: str, conn_id: str | None, **bounds: int) -> tuple[list[int], dict]:
    """What a deferrable reconciliation of ``path`` saves when it defers: the window and its state (as
    ``execute`` passes them to ``defer``)."""
    op = SlackAuditLogsReconcileOperator(task_id="reconcile", path=path, conn_id=conn_id, **bounds)
    window, _ = op.resolve_query({})
    return [window.oldest, window.latest], op.deferral_state()


def resumed(path: str, conn_id: str | None, window: list[int], state: dict, **bounds: int) -> dict:
    """The reconciliation resumed by Airflow after the settle wait: a new task object, the saved kwargs."""
    op = SlackAuditLogsReconcileOperator(task_id="reconcile", path=path, conn_id=conn_id, settle_seconds=0, **bounds)
    return op.execute_settled({}, event=None, window=window, **state)


def test_a_reconciliation_resumed_after_its_object_was_replaced_fails_and_writes_nothing(
    airflow_db, slack_conn, store
):
    """The object is exported again for another window while the reconciliation waits in the triggerer: the
    resumed run must not compare the new object with the old window (every event 'vanished', the old window's
    events written as 'late' and bound to the new object)."""
    path = export_minute(store, "replaced.jsonl")
    window, state = deferred_reconciliation(path, store.conn_id)
    assert window == [OLDEST, OLDEST + 59]
    assert state["manifest_sha256"]
    export_minute(store, "replaced.jsonl", oldest=OLDEST + 3600)

    with pytest.raises(AirflowFailException, match="changed while this reconciliation waited") as err:
        resumed(path, store.conn_id, window, state)
    assert state["manifest_sha256"] in str(err.value)
    assert [n for n in store.names() if ".late-" in n] == []


def test_a_reconciliation_resumed_after_the_manifest_went_fails(airflow_db, slack_conn, store):
    path = export_minute(store, "unbound.jsonl")
    bounds = {"oldest": OLDEST, "latest": OLDEST + 59}  # the task's own (else, without a manifest, its interval)
    window, state = deferred_reconciliation(path, store.conn_id, **bounds)
    store.delete("unbound.jsonl.manifest.json")  # e.g. a re-export between removing it and writing its own

    with pytest.raises(AirflowFailException, match="no manifest now"):
        resumed(path, store.conn_id, window, state, **bounds)
    assert [n for n in store.names() if ".late-" in n] == []


def test_a_reconciliation_resumed_on_the_same_object_compares_as_usual(airflow_db, slack_conn, store):
    path = export_minute(store, "kept.jsonl")
    window, state = deferred_reconciliation(path, store.conn_id)
    result = resumed(path, store.conn_id, window, state)
    assert (result["checked"], result["late"], result["vanished"]) == (len(slack_conn.events(*window)), 0, 0)


def test_vanished_events_are_reported_and_can_fail_the_task(airflow_db, slack_conn, tmp_path):
    path = f"file://{tmp_path}/vanished.jsonl"
    SlackAuditLogsToObjectStorageOperator(
        task_id="export", path=path, oldest=OLDEST, latest=OLDEST + 59, settle_seconds=0, manifest=False
    ).execute({})
    assert not (tmp_path / "vanished.jsonl.manifest.json").exists()
    with (tmp_path / "vanished.jsonl").open("a") as f:  # an event Slack does not return (no manifest to check)
        f.write(json.dumps({"id": "00000000-0000-0000-0000-000000000000", "date_create": OLDEST}) + "\n")
    kwargs = {"task_id": "reconcile", "path": path, "oldest": OLDEST, "latest": OLDEST + 59, "settle_seconds": 0}
    result = SlackAuditLogsReconcileOperator(**kwargs).execute({})
    assert (result["late"], result["vanished"], result["late_path"]) == (0, 1, None)
    with pytest.raises(AirflowFailException, match="no longer returned by Slack"):
        SlackAuditLogsReconcileOperator(fail_on_vanished=True, **kwargs).execute({})


def test_a_window_other_than_the_manifests_is_refused(airflow_db, slack_conn, tmp_path):
    path = f"file://{tmp_path}/w.jsonl"
    SlackAuditLogsToObjectStorageOperator(
        task_id="export", path=path, oldest=OLDEST, latest=OLDEST + 59, settle_seconds=0
    ).execute({})
    with pytest.raises(AirflowFailException, match="differs from the exported one"):
        SlackAuditLogsReconcileOperator(
            task_id="r", path=path, oldest=OLDEST, latest=OLDEST + 60, settle_seconds=0
        ).execute({})
    with pytest.raises(AirflowFailException, match="differ from the export's"):
        SlackAuditLogsReconcileOperator(task_id="r", path=path, actor="W123", settle_seconds=0).execute({})


def test_manifest_false_writes_none_and_removes_a_stale_one(airflow_db, slack_conn, tmp_path):
    path = f"file://{tmp_path}/m.jsonl"
    kwargs = {"task_id": "export", "path": path, "oldest": OLDEST, "latest": OLDEST + 59, "settle_seconds": 0}
    SlackAuditLogsToObjectStorageOperator(**kwargs).execute({})
    assert (tmp_path / "m.jsonl.manifest.json").exists()
    summary = SlackAuditLogsToObjectStorageOperator(manifest=False, **kwargs).execute({})
    assert (summary["manifest"], summary["ids_sha256"]) == (None, None)
    # the earlier manifest described another write of the object: it must not stay beside the new one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.jsonl"]


def test_a_failed_export_keeps_the_earlier_pair(airflow_db, slack_conn, tmp_path):
    path = f"file://{tmp_path}/p.jsonl"
    kwargs = {"task_id": "export", "path": path, "oldest": OLDEST, "latest": OLDEST + 59, "settle_seconds": 0}
    SlackAuditLogsToObjectStorageOperator(**kwargs).execute({})
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    slack_conn.faults.add("http_500", count=50)
    with pytest.raises(Exception):  # noqa: B017, PT011 (whatever the retries end in)
        SlackAuditLogsToObjectStorageOperator(**kwargs).execute({})
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_openlineage_facets_of_both_operators(airflow_db, slack_conn, tmp_path):
    from openlineage.client.serde import Serde

    name = "ol.jsonl.gz"
    path = f"file://{tmp_path}/{name}"
    export = SlackAuditLogsToObjectStorageOperator(
        task_id="export", path=path, oldest=OLDEST, latest=OLDEST + 599, settle_seconds=0, action="user_login"
    )
    assert export.get_openlineage_facets_on_complete(None) is None  # nothing ran yet
    slack_conn.late_events(OLDEST + 300, OLDEST + 599, delay=HIDDEN)
    summary = export.execute({})
    lineage = export.get_openlineage_facets_on_complete(None)
    (api,) = lineage.inputs
    host = slack_conn.base_url.split("/audit/")[0]
    assert (api.namespace, api.name) == (host, "/audit/v1/logs")
    (out,) = lineage.outputs
    assert (out.namespace, out.name) == ("file", str(tmp_path / name))
    stats = out.outputFacets["outputStatistics"]
    assert (stats.rowCount, stats.size) == (summary["events"], summary["bytes"])
    run_facet = lineage.run_facets["slackAuditLogs"]
    assert run_facet.window == {"oldest": OLDEST, "latest": OLDEST + 599}
    assert run_facet.filters == {"action": ["user_login"], "actor": None, "entity": None}
    assert json.loads(Serde.to_json(run_facet))["window"] == run_facet.window
    # the openlineage provider's own extraction path (what its listener runs on task success) finds them
    from types import SimpleNamespace

    from airflow.providers.openlineage.extractors.manager import ExtractorManager
    from airflow.utils.state import TaskInstanceState

    extracted = ExtractorManager().extract_metadata(
        dagrun=SimpleNamespace(run_id="r"), task=export, task_instance_state=TaskInstanceState.SUCCESS,
        task_instance=None,
    )  # fmt: skip
    assert [(d.namespace, d.name) for d in extracted.outputs] == [("file", str(tmp_path / name))]
    assert extracted.run_facets["slackAuditLogs"].window == run_facet.window

    slack_conn.reset()
    reconcile = SlackAuditLogsReconcileOperator(task_id="reconcile", path=path, settle_seconds=0)
    result = reconcile.execute({})
    assert result["late"] > 0
    lineage = reconcile.get_openlineage_facets_on_complete(None)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [(host, "/audit/v1/logs"), ("file", str(tmp_path / name))]
    (late,) = lineage.outputs
    assert (late.namespace, late.name) == ("file", result["late_path"].removeprefix("file://"))
    assert late.outputFacets["outputStatistics"].rowCount == result["late"]
    assert lineage.run_facets["slackAuditLogs"].details["late"] == result["late"]


def test_openlineage_names_an_s3_object_by_bucket_and_key(airflow_db, slack_conn, s3_server):
    export = SlackAuditLogsToObjectStorageOperator(
        task_id="export", path=f"s3://{s3_server.bucket}/slack/x.jsonl", conn_id=AWS_CONN_ID,
        oldest=OLDEST, latest=OLDEST + 59, settle_seconds=0,
    )  # fmt: skip
    export.execute({})
    (out,) = export.get_openlineage_facets_on_complete(None).outputs
    assert (out.namespace, out.name) == (f"s3://{s3_server.bucket}", "slack/x.jsonl")


def test_reconcile_dag_state(airflow_db, slack_conn, tmp_path):
    """A reconciliation of a path nobody exported fails at once and says what to check."""
    with hourly_dag("reconcile_missing", H0) as dag:
        SlackAuditLogsReconcileOperator(task_id="reconcile", path=f"file://{tmp_path}/none.jsonl", settle_seconds=0)
    dag_run, states = run_dag(dag, H0 + HOUR)
    assert state_name(dag_run.state) == "failed"
    assert states == {"reconcile": "failed"}


def test_a_reexport_removes_late_files_it_supersedes_and_keeps_those_still_needed(airflow_db, slack_conn, store):
    name = "again.jsonl"
    kwargs = {"task_id": "export", "path": f"{store.root}/{name}", "conn_id": store.conn_id,
              "oldest": OLDEST, "latest": OLDEST + 599, "settle_seconds": 0}  # fmt: skip
    slack_conn.late_events(OLDEST + 120, OLDEST + 179, delay=HIDDEN)
    SlackAuditLogsToObjectStorageOperator(**kwargs).execute({})
    slack_conn.reset()  # the slice reaches Slack
    result = SlackAuditLogsReconcileOperator(
        task_id="r", path=kwargs["path"], conn_id=store.conn_id, settle_seconds=0
    ).execute({})
    late_name = result["late_path"].rsplit("/", 1)[1]
    slack_conn.late_events(OLDEST + 120, OLDEST + 179, delay=HIDDEN)
    # a re-export that still misses the slice writes the same bytes: the late file still completes it
    SlackAuditLogsToObjectStorageOperator(**kwargs).execute({})
    assert late_name in store.names()
    slack_conn.reset()
    slack_conn.late_events(OLDEST + 300, OLDEST + 359, delay=HIDDEN)  # another slice is late this time
    SlackAuditLogsToObjectStorageOperator(**kwargs).execute({})  # it holds the first late slice itself
    assert store.names() == [name, name + ".manifest.json"]
    assert json.loads(store.read(name + ".manifest.json"))["late_after"] == OLDEST + 600  # the name it removed
    slack_conn.reset()
    result = SlackAuditLogsReconcileOperator(
        task_id="r", path=kwargs["path"], conn_id=store.conn_id, settle_seconds=0
    ).execute({})
    # the removed late file's name is not given again: a loader that tracks names loaded never skips this one
    assert late_name == f"again.late-{OLDEST + 600}.jsonl"
    assert result["late_path"] == f"{store.root}/again.late-{OLDEST + 601}.jsonl"
    window_ids = [e["id"] for e in slack_conn.events(OLDEST, OLDEST + 599)]
    together = ids_of(store.read(name)) + ids_of(store.read(f"again.late-{OLDEST + 601}.jsonl"))
    assert sorted(together) == sorted(window_ids)


def test_a_reexport_removes_a_late_file_left_without_its_manifest_once_it_holds_its_events(
    airflow_db, slack_conn, store
):
    """A reconciliation killed between its late file and that file's manifest leaves a late file that names no
    export. A re-export that still lacks its events keeps it; one that holds them all removes it."""
    path, late = export_missing_a_late_slice(slack_conn, store, "orphan.jsonl")
    reconcile = {"task_id": "r", "path": path, "conn_id": store.conn_id, "settle_seconds": 0}
    late_file = SlackAuditLogsReconcileOperator(**reconcile).execute({})["late_path"].rsplit("/", 1)[1]
    store.delete(late_file + ".manifest.json")  # as if killed before writing it
    export = {"task_id": "export", "path": path, "conn_id": store.conn_id, "oldest": OLDEST, "latest": OLDEST + 599,
              "settle_seconds": 0}  # fmt: skip

    slack_conn.late_events(OLDEST + 120, OLDEST + 179, delay=HIDDEN)
    SlackAuditLogsToObjectStorageOperator(**export).execute({})  # lacks the slice again
    assert late_file in store.names()
    slack_conn.reset()
    SlackAuditLogsToObjectStorageOperator(**export).execute({})  # holds it

    assert store.names() == ["orphan.jsonl", "orphan.jsonl.manifest.json"]
    assert set(late) <= set(ids_of(store.read("orphan.jsonl")))
    assert json.loads(store.read("orphan.jsonl.manifest.json"))["late_after"] == OLDEST + 600


def test_a_reexport_by_a_role_that_may_not_delete_keeps_the_late_files_it_supersedes(
    airflow_db, slack_conn, s3_no_delete, tmp_path, caplog, capfd
):
    """The re-export succeeds; the late file it could not remove stays, marked by its manifest as completing the
    earlier export, and a reconciliation ignores it."""
    store = Store("s3", tmp_path, s3_no_delete)
    store.conn_id = NO_DELETE_CONN_ID
    path, late = export_missing_a_late_slice(slack_conn, store, "nodel.jsonl")
    kwargs = {"task_id": "export", "path": path, "conn_id": store.conn_id, "oldest": OLDEST, "latest": OLDEST + 599,
              "settle_seconds": 0}  # fmt: skip
    reconcile = {"task_id": "r", "path": path, "conn_id": store.conn_id, "settle_seconds": 0}
    assert SlackAuditLogsReconcileOperator(**reconcile).execute({})["late"] == len(late)
    late_file = f"nodel.late-{OLDEST + 600}.jsonl"

    summary = SlackAuditLogsToObjectStorageOperator(**kwargs).execute({})  # now holds the late events itself

    out, err = capfd.readouterr()
    assert f"Could not remove {late_file}" in caplog.text + out + err
    assert set(late) <= set(ids_of(store.read("nodel.jsonl")))
    assert late_file in store.names()
    assert json.loads(store.read(late_file + ".manifest.json"))["object_sha256"] != summary["sha256"]
    assert json.loads(store.read("nodel.jsonl.manifest.json"))["late_after"] == OLDEST + 600
    again = SlackAuditLogsReconcileOperator(**reconcile).execute({})
    assert (again["late"], again["vanished"], again["late_path"]) == (0, 0, None)


class MeanwhileReconcile(SlackAuditLogsReconcileOperator):
    """A reconciliation during which another one of the same object finishes: ``meanwhile`` runs once, as this
    one names its late file (after it indexed the late files already there, before it reads the window)."""

    def __init__(self, *, meanwhile=None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.meanwhile = meanwhile

    def late_file_second(self, newest, window) -> int:
        meanwhile, self.meanwhile = self.meanwhile, None
        if meanwhile is not None:
            meanwhile()
        return super().late_file_second(newest, window)


def late_names_of(store: Store) -> list[str]:
    return [n for n in store.names() if ".late-" in n and not n.endswith(".manifest.json")]


def export_missing_a_late_slice(slack_conn, store: Store, name: str) -> tuple[str, set[str]]:
    """Export ten minutes as ``name`` while one of them is not yet in Slack, then let it arrive.

    Returns the object's URL and the ids of the events it lacks (a reconciliation's late events).
    """
    path = f"{store.root}/{name}"
    slack_conn.late_events(OLDEST + 120, OLDEST + 179, delay=HIDDEN)
    SlackAuditLogsToObjectStorageOperator(
        task_id="export", path=path, conn_id=store.conn_id, oldest=OLDEST, latest=OLDEST + 599, settle_seconds=0
    ).execute({})
    slack_conn.reset()  # the slice reaches Slack
    return path, {e["id"] for e in slack_conn.events(OLDEST + 120, OLDEST + 179)}


def test_a_reconciliation_that_loses_the_late_files_name_writes_nothing_twice(airflow_db, slack_conn, store):
    """Two reconciliations of an object compare with the same late files (none), so pick the same name; the
    winner wrote every late event."""
    name = "same.jsonl.gz"
    path, late = export_missing_a_late_slice(slack_conn, store, name)
    winner = MeanwhileReconcile(task_id="winner", path=path, conn_id=store.conn_id, settle_seconds=0)
    won = {}
    loser = MeanwhileReconcile(
        task_id="loser",
        path=path,
        conn_id=store.conn_id,
        settle_seconds=0,
        meanwhile=lambda: won.update(winner.execute({})),
    )
    lost = loser.execute({})

    late_name = f"same.late-{OLDEST + 600}.jsonl.gz"  # the first late file is named for the window's end
    assert won["late_path"] == f"{store.root}/{late_name}"
    assert won["late"] == len(late)
    assert late_names_of(store) == [late_name]  # the loser did not fail and wrote nothing
    assert set(ids_of(store.read(late_name))) == late
    assert (lost["late"], lost["late_path"], lost["checked"]) == (0, None, won["checked"])


def test_a_reconciliation_that_loses_the_name_writes_only_what_the_winner_did_not(airflow_db, slack_conn, store):
    """The winner saw part of the late events; the loser writes the rest under the next name."""
    name = "part.jsonl"
    path = f"{store.root}/{name}"
    first, second = (OLDEST + 120, OLDEST + 179), (OLDEST + 300, OLDEST + 359)
    slack_conn.late_events(*first, delay=HIDDEN)
    slack_conn.late_events(*second, delay=HIDDEN)
    SlackAuditLogsToObjectStorageOperator(
        task_id="export", path=path, conn_id=store.conn_id, oldest=OLDEST, latest=OLDEST + 599, settle_seconds=0
    ).execute({})
    slack_conn.reset()
    slack_conn.late_events(*second, delay=HIDDEN)  # for now only the first slice has reached Slack

    def winner_runs_then_the_second_slice_arrives() -> None:
        MeanwhileReconcile(task_id="winner", path=path, conn_id=store.conn_id, settle_seconds=0).execute({})
        slack_conn.reset()

    lost = MeanwhileReconcile(
        task_id="loser",
        path=path,
        conn_id=store.conn_id,
        settle_seconds=0,
        meanwhile=winner_runs_then_the_second_slice_arrives,
    ).execute({})

    won_name, lost_name = f"part.late-{OLDEST + 600}.jsonl", f"part.late-{OLDEST + 601}.jsonl"
    assert late_names_of(store) == [won_name, lost_name]
    assert lost["late_path"] == f"{store.root}/{lost_name}"
    assert set(ids_of(store.read(won_name))) == {e["id"] for e in slack_conn.events(*first)}
    assert store.read(lost_name) == slack_conn.jsonl(*second)  # the rest only, as Slack sent it
    assert lost["late"] == len(slack_conn.events(*second))
    assert json.loads(store.read(lost_name + ".manifest.json"))["events"] == lost["late"]
    # object + late files: the window's events, each once
    together = ids_of(store.read(name)) + ids_of(store.read(won_name)) + ids_of(store.read(lost_name))
    assert sorted(together) == sorted(e["id"] for e in slack_conn.events(OLDEST, OLDEST + 599))


#: One reconciliation in a process of its own, as a worker runs it: it builds the operator (Airflow imported),
#: says "ready", and runs when it reads a line; it prints its result as JSON.
RECONCILE_ON_CUE = """
import json, sys
from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsReconcileOperator
task_id, path, conn_id = sys.argv[1:4]
op = SlackAuditLogsReconcileOperator(task_id=task_id, path=path, conn_id=conn_id or None, settle_seconds=0)
print("ready", flush=True)
sys.stdin.readline()
print(json.dumps(op.execute({})), flush=True)
"""


def test_reconciliations_that_overlap_from_different_seconds_write_each_late_event_once(
    airflow_db, slack_conn, store, monkeypatch
):
    """Two reconciliations of one object in two processes, as two workers run them: the second starts in a
    later second than the first, while the first waits for Slack's answer. Neither sees the
    other's late file when it compares, and still each late event is written once."""
    name = "overlap.jsonl.gz"
    path, late = export_missing_a_late_slice(slack_conn, store, name)
    # Slack answers neither until both have asked: each has listed the late files before it reads Slack,
    # so neither sees the other's late file when it compares, however long each takes to get there
    gate = slack_conn.faults.add("hold", delay=90, count=None)
    # a held call must not time out and be retried (a retry would count as the other run's call)
    conn = slack_conn.airflow_conn_json(extra={"max_retries": 2, "max_retry_wait": 0.05, "timeout": 120})
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_AUDIT_DEFAULT", conn)
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", RECONCILE_ON_CUE, task_id, path, store.conn_id or ""],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for task_id in ("first", "second")
    ]
    try:
        for run in runs:  # wait until both have imported Airflow and built the operator
            said = []
            for line in iter(run.stdout.readline, ""):
                if line.strip() == "ready":
                    break
                said.append(line)
            else:
                raise AssertionError("a reconciliation ended before it was ready:\n" + "".join(said))
        first_went = time.time()
        runs[0].stdin.write("go\n")
        runs[0].stdin.flush()
        # the second goes once the first waits for Slack's (held) answer, and in a later second than the first
        wait_for(lambda: gate.fired >= 1, 60, "the first reconciliation's call to Slack")
        wait_for(lambda: time.time() >= int(first_went) + 1, 5, "the next second")
        runs[1].stdin.write("go\n")
        runs[1].stdin.flush()
        wait_for(lambda: gate.fired >= 2, 60, "the second reconciliation's call to Slack")
        gate.release()
        outputs = [run.communicate(timeout=120)[0] for run in runs]
    finally:
        for run in runs:
            run.kill()
        slack_conn.faults.clear()
    assert [run.returncode for run in runs] == [0, 0], outputs
    results = [json.loads(output.strip().splitlines()[-1]) for output in outputs]

    # object + late files: the window's events, each once
    written = [i for n in late_names_of(store) for i in ids_of(store.read(n))]
    assert sorted(written) == sorted(late)
    late_file = f"overlap.late-{OLDEST + 600}.jsonl.gz"
    assert late_names_of(store) == [late_file]
    assert sorted((r["late"], r["late_path"] or "") for r in results) == [
        (0, ""),
        (len(late), f"{store.root}/{late_file}"),
    ]
    # and they did overlap: one found the name it picked taken by the other and compared again
    assert "written by another reconciliation" in "".join(outputs)


def test_events_dated_outside_the_window_are_neither_exported_nor_late(
    airflow_db, slack_conn, tmp_path, caplog, capfd
):
    """A server that overshoots the bounds: those events belong to the neighbouring windows' objects."""

    def task_log() -> str:  # the task logger is stdlib logging on 2.11, structlog to the console on 3.x
        out, err = capfd.readouterr()
        text = caplog.text + out + err
        caplog.clear()
        return text

    oldest, latest = OLDEST, OLDEST + 599
    path = f"file://{tmp_path}/outside.jsonl"
    inside = [e["id"] for e in slack_conn.events(oldest, latest)]
    slack_conn.faults.add("outside_window", count=None)  # every page: one event after latest, one before oldest
    summary = SlackAuditLogsToObjectStorageOperator(
        task_id="export", path=path, oldest=oldest, latest=latest, settle_seconds=0
    ).execute({})
    exported = ids_of((tmp_path / "outside.jsonl").read_bytes())
    assert sorted(exported) == sorted(inside)
    assert summary["events"] == len(inside)
    assert "Left out 2 events whose date_create lies outside" in task_log()

    result = SlackAuditLogsReconcileOperator(task_id="reconcile", path=path).execute({})
    assert result["checked"] == len(inside)
    assert (result["late"], result["vanished"], result["late_path"]) == (0, 0, None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outside.jsonl", "outside.jsonl.manifest.json"]
    assert "Left out 2 events whose date_create lies outside" in task_log()


# --- issue 24: the window from the manifest, compression from the manifest, one late-file rule, races and kills ---

from pathlib import Path  # noqa: E402

from fsspec.implementations.memory import MemoryFileSystem  # noqa: E402

from airflow_provider_slack_audit.cli import main as slack_audit  # noqa: E402
from airflow_provider_slack_audit.export.layout import REPLACING_MARKER  # noqa: E402
from tests.fixtures.airflow_cli import terminate_like_airflow  # noqa: E402

DAY = datetime(2024, 3, 2, tzinfo=timezone.utc)
DAY_START = int(DAY.timestamp())


def leave_without_manifest(store: Store, name: str, how: str) -> None:
    """What an object without a manifest looks like after each way it happens (the object is exported)."""
    if how == "killed between object and manifest":
        store.delete(name + ".manifest.json")
    elif how == "replacing marker":  # an S3 re-export by a role that may not delete, stopped before its commit
        store.write(name + ".manifest.json", json.dumps(REPLACING_MARKER).encode() + b"\n")


def evidence(store: Store, name: str) -> list[str]:
    """The window's events by the rule (worked out here, not with the package's function): the object's ids plus
    those of each late file whose manifest names this object and its sha256."""
    sha256 = hashlib.sha256(store.read(name)).hexdigest()
    ids = ids_of(store.read(name))
    stem = name.split(".", 1)[0]
    for late in late_names_of(store):
        if not late.startswith(f"{stem}.late-") or late + ".manifest.json" not in store.names():
            continue
        try:
            manifest = json.loads(store.read(late + ".manifest.json"))
        except ValueError:
            continue
        if manifest.get("object", "").rsplit("/", 1)[-1] == name and manifest.get("object_sha256") == sha256:
            ids += ids_of(store.read(late))
    return ids


def verify_code(path: Path, capsys) -> tuple[int, str]:
    capsys.readouterr()
    code = slack_audit(["verify", str(path)])
    return code, capsys.readouterr().out


@pytest.mark.parametrize(
    "how",
    ["manifest=False", "killed between object and manifest", "replacing marker"],
    ids=["manifest-false", "killed", "replacing"],  # short: the S3 bucket is named from the test's id
)
def test_no_manifest_no_interval(airflow_db, slack_conn, store, how):
    """An object without a manifest is never compared with the run's interval. A daily run checking an hourly
    object that has no manifest: without explicit bounds it fails at once, before reading Slack, and says how to
    proceed; it never takes the day for the object's window (which made every event of the other 23 hours
    "late" for this one)."""
    name = "2024-03-02T05.jsonl.gz"
    oldest = DAY_START + 5 * 3600
    SlackAuditLogsToObjectStorageOperator(
        task_id="export", path=f"{store.root}/{name}", conn_id=store.conn_id, oldest=oldest, latest=oldest + 3599,
        settle_seconds=0, manifest=how != "manifest=False",
    ).execute({})  # fmt: skip
    leave_without_manifest(store, name, how)
    asked = len(slack_conn.requests)
    daily_run = {"data_interval_start": DAY, "data_interval_end": DAY + timedelta(days=1)}
    reconcile = SlackAuditLogsReconcileOperator(
        task_id="reconcile_hour", path=f"{store.root}/{name}", conn_id=store.conn_id, settle_seconds=0
    )
    with pytest.raises(AirflowFailException, match="has no manifest") as err:
        reconcile.execute(daily_run)
    assert "Export the window again" in str(err.value)
    assert "oldest and latest" in str(err.value)
    assert len(slack_conn.requests) == asked  # nothing was read
    assert late_names_of(store) == []

    # given its hour, it compares the object with that hour only
    result = SlackAuditLogsReconcileOperator(
        task_id="reconcile_hour", path=f"{store.root}/{name}", conn_id=store.conn_id, settle_seconds=0,
        oldest=oldest, latest=oldest + 3599,
    ).execute(daily_run)  # fmt: skip
    hour = slack_conn.events(oldest, oldest + 3599)
    assert (result["checked"], result["late"], result["late_path"]) == (len(hour), 0, None)


@pytest.mark.parametrize(
    ("name", "compression"),
    [("h.jsonl", "gzip"), ("h.jsonl.gz", None)],
    ids=["gz-jsonl", "plain-gz"],
)
@pytest.mark.parametrize("manifest_from", ["now", "old"])  # old: a manifest from before the compression field
def test_compression_by_manifest(airflow_db, slack_conn, store, capsys, name, compression, manifest_from):
    """An object is reconciled as its manifest says it is compressed (or, for a manifest from before the field,
    as its bytes say), never by its name."""
    path = f"{store.root}/{name}"
    slack_conn.late_events(OLDEST + 120, OLDEST + 179, delay=HIDDEN)
    SlackAuditLogsToObjectStorageOperator(
        task_id="export", path=path, conn_id=store.conn_id, oldest=OLDEST, latest=OLDEST + 599,
        settle_seconds=0, compression=compression,
    ).execute({})  # fmt: skip
    assert (store.read(name)[:2] == b"\x1f\x8b") == (compression == "gzip")
    if manifest_from != "now":
        manifest = json.loads(store.read(name + ".manifest.json"))
        manifest.pop("compression", None)
        store.write(name + ".manifest.json", json.dumps(manifest).encode())
    slack_conn.reset()
    late = {e["id"] for e in slack_conn.events(OLDEST + 120, OLDEST + 179)}

    reconcile = {"task_id": "r", "path": path, "conn_id": store.conn_id, "settle_seconds": 0}
    result = SlackAuditLogsReconcileOperator(**reconcile).execute({})

    assert (result["late"], result["vanished"]) == (len(late), 0)
    late_name = result["late_path"].rsplit("/", 1)[1]
    # the late file is compressed as the object is, and named for how it is compressed
    assert late_name == f"h.late-{OLDEST + 600}.jsonl{'.gz' if compression else ''}"
    assert (store.read(late_name)[:2] == b"\x1f\x8b") == (compression == "gzip")
    assert json.loads(store.read(late_name + ".manifest.json"))["compression"] == compression
    assert sorted(evidence(store, name)) == sorted(e["id"] for e in slack_conn.events(OLDEST, OLDEST + 599))
    assert SlackAuditLogsReconcileOperator(**reconcile).execute({})["late"] == 0
    if store.kind == "file":
        code, out = verify_code(store.tmp_path / name, capsys)
        assert code == 0, out


#: The by-hand loader of docs/evidence.rst: the bash block that lists the late files of "$obj".
def docs_loader_script() -> str:
    text = (Path(__file__).resolve().parents[2] / "docs" / "evidence.rst").read_text()
    block = text[text.index("   sha=$(sha256sum") : text.index("late-files.txt\n") + len("late-files.txt\n")]
    return "\n".join(line.removeprefix("   ") for line in block.splitlines()) + "\n"


def docs_loader_lists(folder: Path, obj: str) -> list[str]:
    """The late files the docs' loader script takes for the object ``obj`` in ``folder``."""
    subprocess.run(
        ["bash", "-c", f"obj={obj}\n{docs_loader_script()}"],
        cwd=folder, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return (folder / "late-files.txt").read_text().split()


def test_objects_of_one_stem_keep_their_own_late_files_in_reconcile_verify_and_the_docs_loader(
    airflow_db, slack_conn, tmp_path, capsys
):
    """``h.jsonl`` and ``h.jsonl.gz``, both missing a late slice: each reconciliation, verify and the docs' loader
    take each object's own late file only."""
    store = Store("file", tmp_path)
    slack_conn.late_events(OLDEST + 120, OLDEST + 179, delay=HIDDEN)
    for name in ("h.jsonl", "h.jsonl.gz"):
        SlackAuditLogsToObjectStorageOperator(
            task_id="e", path=f"file://{tmp_path}/{name}", oldest=OLDEST, latest=OLDEST + 599, settle_seconds=0
        ).execute({})
    slack_conn.reset()
    window = sorted(e["id"] for e in slack_conn.events(OLDEST, OLDEST + 599))
    results = {
        name: SlackAuditLogsReconcileOperator(task_id="r", path=f"file://{tmp_path}/{name}", settle_seconds=0)
        .execute({})
        for name in ("h.jsonl", "h.jsonl.gz")
    }  # fmt: skip
    # one sequence of late file names for the stem (each name is unique), each late file naming its object
    assert [r["late_path"].rsplit("/", 1)[1] for r in results.values()] == [
        f"h.late-{OLDEST + 600}.jsonl",
        f"h.late-{OLDEST + 601}.jsonl.gz",
    ]
    for name, result in results.items():
        assert sorted(evidence(store, name)) == window
        code, out = verify_code(tmp_path / name, capsys)
        assert code == 0, out
        assert docs_loader_lists(tmp_path, name) == [result["late_path"].rsplit("/", 1)[1]]
        again = SlackAuditLogsReconcileOperator(task_id="r", path=f"file://{tmp_path}/{name}", settle_seconds=0)
        assert again.execute({})["late"] == 0


def test_a_late_file_left_without_its_manifest_counts_nowhere_and_its_events_are_written_again(
    airflow_db, slack_conn, store, capsys
):
    """One rule in every place: the reconciliation, verify and the docs' loader all leave it out."""
    name = "orphan.jsonl.gz"
    path, late = export_missing_a_late_slice(slack_conn, store, name)
    reconcile = {"task_id": "r", "path": path, "conn_id": store.conn_id, "settle_seconds": 0}
    orphan = SlackAuditLogsReconcileOperator(**reconcile).execute({})["late_path"].rsplit("/", 1)[1]
    store.delete(orphan + ".manifest.json")  # its reconciliation was killed between the late file and its manifest
    if store.kind == "file":
        assert docs_loader_lists(store.tmp_path, name) == []
        assert verify_code(store.tmp_path / name, capsys)[0] == 0

    result = SlackAuditLogsReconcileOperator(**reconcile).execute({})

    assert result["late"] == len(late)
    assert result["late_path"] == f"{store.root}/orphan.late-{OLDEST + 601}.jsonl.gz"
    assert json.loads(store.read(orphan + ".manifest.json"))["abandoned"] is True  # never gets a manifest now
    window = sorted(e["id"] for e in slack_conn.events(OLDEST, OLDEST + 599))
    assert sorted(evidence(store, name)) == window
    assert SlackAuditLogsReconcileOperator(**reconcile).execute({})["late"] == 0
    if store.kind == "file":
        assert docs_loader_lists(store.tmp_path, name) == [f"orphan.late-{OLDEST + 601}.jsonl.gz"]
        code, out = verify_code(store.tmp_path / name, capsys)
        assert code == 0, out
        assert "ok   unique    no id in two of 2 files" in out


class NoConditionalCreate(MemoryFileSystem):
    """An object store (in memory, ``nocond://bucket/key``) that has no conditional create, as gcsfs or adlfs
    releases without one, or any fsspec store this provider has no conditional create for."""

    protocol = ("nocond",)
    root_marker = ""
    store: dict = {}  # fsspec keeps one store per class: this one is not the plain memory:// store
    pseudo_dirs = [""]

    @classmethod
    def _strip_protocol(cls, path):
        return path.removeprefix("nocond://").strip("/")


def test_a_store_without_conditional_create_fails_before_reading_slack(airflow_db, slack_conn, tmp_path, monkeypatch):
    """Late files (and their manifests) are created only where none is: on a store that cannot do that the
    reconciliation fails at start, naming what is missing, not after reading the window when it finds late events."""
    import fsspec

    from tests.fixtures.dag_runs import AIRFLOW_3

    registry = __import__("airflow.sdk.io.fs" if AIRFLOW_3 else "airflow.io", fromlist=["_register_filesystems"])
    fsspec.register_implementation("nocond", NoConditionalCreate, clobber=True)
    store = NoConditionalCreate()
    monkeypatch.setitem(registry._register_filesystems(), "nocond", lambda conn_id, options=None: store)
    export_missing_a_late_slice(slack_conn, Store("file", tmp_path), "m.jsonl")
    for name in ("m.jsonl", "m.jsonl.manifest.json"):  # the same export, on a store without conditional create
        store.pipe(f"bucket/slack/{name}", (tmp_path / name).read_bytes())
    asked = len(slack_conn.requests)
    with pytest.raises(AirflowFailException, match="needs the store's conditional write") as err:
        SlackAuditLogsReconcileOperator(task_id="r", path="nocond://bucket/slack/m.jsonl", settle_seconds=0).execute({})
    assert "NoConditionalCreate has no conditional create" in str(err.value)
    assert len(slack_conn.requests) == asked  # nothing was read
    assert sorted(p.rsplit("/", 1)[1] for p in store.ls("bucket/slack", detail=False)) == [
        "m.jsonl", "m.jsonl.manifest.json",
    ]  # fmt: skip


#: A reconciliation run by ``airflow dags test`` that stops in the instant between its late file's commit and its
#: manifest (until the test creates the file ``go``): where a kill, or another reconciliation, can find it.
HELD_RECONCILE_DAG = '''
import os
import time
from datetime import datetime, timezone

from airflow.providers.common.compat.sdk import DAG
from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_slack_audit.export.writer import ExportWriter
from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsReconcileOperator

_commit = ExportWriter.commit


def _commit_then_hold(self):
    _commit(self)
    if ".late-" in self.sink.url and not self.sink.url.endswith(".manifest.json"):
        open({committed!r}, "w").close()
        deadline = time.monotonic() + 600
        while not os.path.exists({go!r}) and time.monotonic() < deadline:
            time.sleep(0.1)


ExportWriter.commit = _commit_then_hold

with DAG(
    dag_id={dag_id!r},
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
    catchup=False,
):
    SlackAuditLogsReconcileOperator(task_id="task", path={path!r}, settle_seconds=0)
'''


@pytest.mark.parametrize("then", ["resumes", "is killed"])
def test_a_reconciliation_stopped_between_its_late_file_and_its_manifest_while_another_runs(
    airflow_db, slack_conn, airflow_cli, tmp_path, capsys, then
):
    """Two reconciliations of one object in two processes, as workers run them: the first (an Airflow task) has
    committed its late file and not yet its manifest when the second runs; then the first goes on, or is killed
    as Airflow kills (SIGTERM, then SIGKILL after its grace: 5 s on 3.3, 60 s on 2.11). Each late event ends in
    exactly one late file of the evidence, verify passes, and a later run finds nothing to write."""
    out = tmp_path / "out"
    out.mkdir()
    store = Store("file", out)
    name = "held.jsonl.gz"
    path, _ = export_missing_a_late_slice(slack_conn, store, name)
    committed, go = tmp_path / "committed", tmp_path / "go"
    dag_id = f"held_reconcile_{then.replace(' ', '_')}"
    dag_file = airflow_cli.dag_folder(dag_id) / f"{dag_id}.py"
    dag_file.write_text(HELD_RECONCILE_DAG.format(dag_id=dag_id, path=path, committed=str(committed), go=str(go)))
    env = {"AIRFLOW_CONN_SLACK_AUDIT_DEFAULT": slack_conn.airflow_conn_json(extra={"timeout": 120})}
    log = tmp_path / "first.log"
    first = airflow_cli.start_dags_test(dag_id, log=log, env=env)
    try:
        wait_for(committed.exists, 240, "the first reconciliation's late file committed")
        assert late_names_of(store) == [f"held.late-{OLDEST + 600}.jsonl.gz"]
        second = subprocess.run(
            [sys.executable, "-c", RECONCILE_ON_CUE, "second", path, ""],
            input="go\n", capture_output=True, text=True, timeout=240,
        )  # fmt: skip
        assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
        if then == "resumes":
            go.touch()
            first.wait(timeout=240)
            assert first.returncode == 0, log.read_text()[-6000:]
        else:
            terminate_like_airflow(first)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()

    window = sorted(e["id"] for e in slack_conn.events(OLDEST, OLDEST + 599))
    assert sorted(evidence(store, name)) == window  # each late event in exactly one late file of the evidence
    code, report = verify_code(out / name, capsys)
    assert code == 0, report
    again = SlackAuditLogsReconcileOperator(task_id="r", path=path, settle_seconds=0).execute({})
    assert (again["late"], again["late_path"]) == (0, None)
    assert sorted(evidence(store, name)) == window


def test_a_late_file_given_as_the_object_is_refused_and_nothing_is_written(airflow_db, slack_conn, tmp_path):
    # A path templated to a late file (or a late file's name typed by hand): its manifest records the object's
    # window, so comparing would call every event of the object "late" and write them all again beside it.
    path = f"file://{tmp_path}/lf.jsonl"
    window = {"oldest": OLDEST, "latest": OLDEST + 59, "settle_seconds": 0}
    SlackAuditLogsToObjectStorageOperator(task_id="export", path=path, manifest=False, **window).execute({})
    lines = (tmp_path / "lf.jsonl").read_bytes().splitlines(keepends=True)
    assert len(lines) > 2
    (tmp_path / "lf.jsonl").write_bytes(b"".join(lines[1:]))  # one event "reached Slack late"
    result = SlackAuditLogsReconcileOperator(task_id="reconcile", path=path, **window).execute({})
    assert result["late"] == 1
    late_url = result["late_path"]
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(AirflowFailException, match="is a late file"):
        SlackAuditLogsReconcileOperator(task_id="reconcile", path=late_url, settle_seconds=0).execute({})
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_vanished_event_of_a_late_file_is_named_where_it_is_counted(airflow_db, slack_conn, tmp_path, capfd):
    # The count of vanished events covers the late files counted (their ids are compared too): the ids listed
    # must come from them as well, not only from the object (a count of 1 with no id named is no evidence).
    path = f"file://{tmp_path}/v.jsonl"
    kwargs = {"task_id": "reconcile", "path": path, "oldest": OLDEST, "latest": OLDEST + 59, "settle_seconds": 0}
    SlackAuditLogsToObjectStorageOperator(**{**kwargs, "task_id": "export"}, manifest=False).execute({})
    lines = (tmp_path / "v.jsonl").read_bytes().splitlines(keepends=True)
    first = json.loads(lines[0])
    (tmp_path / "v.jsonl").write_bytes(b"".join(lines[1:]))  # the first event "reached Slack late"
    assert SlackAuditLogsReconcileOperator(**kwargs).execute({})["late"] == 1

    second = first["date_create"]
    gone = {json.loads(line)["id"] for line in lines if json.loads(line)["date_create"] == second}
    slack_conn.late_events(second, second, delay=HIDDEN)  # Slack no longer returns that second's events
    capfd.readouterr()
    result = SlackAuditLogsReconcileOperator(**kwargs).execute({})
    assert (result["late"], result["vanished"]) == (0, len(gone))
    out = "".join(capfd.readouterr())
    (said,) = [line for line in out.splitlines() if "no longer returned" in line]
    named = set(said.rsplit("the first: ", 1)[1].split(" [", 1)[0].split(", "))
    assert named == gone  # the late file's event among them
    assert "and its 1 late file(s)" in said


def test_a_reexport_keeps_a_superseded_late_file_whose_events_slack_no_longer_returns(
    airflow_db, slack_conn, store
):
    # The late file completes the earlier export; the re-export reads Slack again, but Slack has stopped
    # returning the late slice (vanished): removing the late file would delete the only stored copy of events.
    name = "kept.jsonl"
    kwargs = {"task_id": "export", "path": f"{store.root}/{name}", "conn_id": store.conn_id,
              "oldest": OLDEST, "latest": OLDEST + 599, "settle_seconds": 0}  # fmt: skip
    slack_conn.late_events(OLDEST + 120, OLDEST + 179, delay=HIDDEN)
    SlackAuditLogsToObjectStorageOperator(**kwargs).execute({})
    slack_conn.reset()
    result = SlackAuditLogsReconcileOperator(
        task_id="r", path=kwargs["path"], conn_id=store.conn_id, settle_seconds=0
    ).execute({})
    late_name = result["late_path"].rsplit("/", 1)[1]
    late_ids = ids_of(store.read(late_name))
    assert late_ids
    slack_conn.late_events(OLDEST + 120, OLDEST + 179, delay=HIDDEN)  # the slice is gone from Slack again
    slack_conn.late_events(OLDEST + 300, OLDEST + 309, delay=HIDDEN)  # and the new object differs
    SlackAuditLogsToObjectStorageOperator(**kwargs).execute({})
    assert not set(late_ids) & set(ids_of(store.read(name)))
    assert late_name in store.names()  # the only copy of its events stays
    assert ids_of(store.read(late_name)) == late_ids
    late_manifest = json.loads(store.read(late_name + ".manifest.json"))
    # still naming the earlier export: part of no window's evidence, by the loaders' rule
    assert late_manifest["object_sha256"] != json.loads(store.read(name + ".manifest.json"))["sha256"]
