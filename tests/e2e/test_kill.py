"""A task killed the way Airflow kills it leaves nothing at ``path`` or beside it.

The task runs in ``airflow dags test`` (a CLI subprocess on a fresh Airflow home), so the SIGTERM
handler is Airflow's own: on 3.3 the task runner's, which calls ``on_kill()`` and lets the task go
on; on 2.11 the task instance's, which calls ``on_kill()`` and raises. As 3.3's supervisor does, the
process gets SIGKILL when it is still alive 5 s after the SIGTERM (mark failed, clear, lost heartbeat).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.fixtures.airflow_cli import terminate_like_airflow, wait_for, write_dag
from tests.fixtures.dag_runs import AIRFLOW_3
from tests.fixtures.s3 import AWS_CONN_ID

pytestmark = [pytest.mark.airflow, pytest.mark.e2e]

PREVIOUS = b"previous run\n"
PREVIOUS_MANIFEST = b'{"sha256": "the previous run\'s"}\n'
#: Appended to a DAG file: the export stops for good between its commit and its manifest, and says so in ``flag``.
HOLD_BEFORE_MANIFEST = """
import pathlib as _pathlib
import time as _time

from airflow_provider_slack_audit.operators import base as _base


def _held(*args, **kwargs):
    _pathlib.Path({flag!r}).touch()
    while True:
        _time.sleep(1)


_base.write_manifest_of = _held
"""


@pytest.fixture
def env(slack_audit_emulator) -> dict[str, str]:
    return {"AIRFLOW_CONN_SLACK_AUDIT_DEFAULT": slack_audit_emulator.airflow_conn_json(extra={"timeout": 120})}


def start(airflow_cli, dag_id: str, env: dict[str, str], log: Path):
    return airflow_cli.start_dags_test(dag_id, log=log, env=env)


def test_a_killed_local_export_leaves_nothing_beside_the_path(airflow_cli, env, slack_audit_emulator, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "audit.jsonl").write_bytes(PREVIOUS)
    (out / "audit.jsonl.manifest.json").write_bytes(PREVIOUS_MANIFEST)
    dag_id = write_dag(airflow_cli, "kill_local_export", path=f"file://{out}/audit.jsonl")
    # The third page hangs for longer than the test runs, so the kill always lands mid-window: with a shorter
    # hang a loaded machine could see the condition below only once the export had completed.
    slack_audit_emulator.faults.add("slow", skip=2, delay=600, count=None)

    proc = start(airflow_cli, dag_id, env, tmp_path / "task.log")
    try:
        partial = lambda: [p for p in out.iterdir() if p.name.endswith(".partial")]  # noqa: E731
        # Two pages answered (the emulator records a request once answered) and handed to the writer (they may
        # still sit in its buffers); the third now hangs.
        wait_for(lambda: len(slack_audit_emulator.requests) >= 2 and partial(), 120, "two pages read")
    finally:
        how = terminate_like_airflow(proc)

    assert sorted(p.name for p in out.iterdir()) == ["audit.jsonl", "audit.jsonl.manifest.json"], how
    assert (out / "audit.jsonl").read_bytes() == PREVIOUS
    assert (out / "audit.jsonl.manifest.json").read_bytes() == PREVIOUS_MANIFEST  # the earlier evidence, untouched


def test_a_killed_s3_export_leaves_no_object_and_no_upload(airflow_cli, env, slack_audit_emulator, s3_server, tmp_path):
    client = s3_server.client()
    client.put_object(Bucket=s3_server.bucket, Key="slack/audit.jsonl", Body=PREVIOUS)
    env[f"AIRFLOW_CONN_{AWS_CONN_ID.upper()}"] = os.environ[f"AIRFLOW_CONN_{AWS_CONN_ID.upper()}"]
    path = f"s3://{s3_server.bucket}/slack/audit.jsonl"
    dag_id = write_dag(airflow_cli, "kill_s3_export", path=path, conn_id=AWS_CONN_ID)
    # As for the local export: the third page hangs for longer than the test runs, so the kill lands mid-window.
    slack_audit_emulator.faults.add("slow", skip=2, delay=600, count=None)

    def uploads() -> list:
        return client.list_multipart_uploads(Bucket=s3_server.bucket).get("Uploads") or []

    proc = start(airflow_cli, dag_id, env, tmp_path / "task.log")
    try:
        # Two pages answered (about 13 MB: over S3's 5 MiB part) and the multipart upload begun; the third hangs.
        wait_for(lambda: len(slack_audit_emulator.requests) >= 2 and uploads(), 120, "a part uploaded")
    finally:
        how = terminate_like_airflow(proc)

    assert s3_server.keys() == ["slack/audit.jsonl"], how
    assert s3_server.read("slack/audit.jsonl") == PREVIOUS
    assert uploads() == [], how  # the multipart upload was aborted by on_kill, not left to linger


def test_a_kill_during_the_settle_wait_ends_the_task_and_leaves_nothing(
    airflow_cli, env, slack_audit_emulator, tmp_path
):
    """Airflow's SIGTERM handler reaches the operators' one ``on_kill`` (every operator's settle wait ends on it:
    tests/unit/operators/test_base.py)."""
    out = tmp_path / "out"
    out.mkdir()
    now = int(time.time())
    dag_id = write_dag(
        airflow_cli, "kill_settle", oldest=now - 10, latest=now - 1, settle_seconds=120, deferrable=False,
        path=f"file://{out}/audit.jsonl",
    )  # fmt: skip
    log = tmp_path / "task.log"

    proc = start(airflow_cli, dag_id, env, log)
    try:
        wait_for(lambda: b"for late audit events" in log.read_bytes(), 120, "the settle wait")
        assert list(out.iterdir()) == []  # nothing is opened before the wait ends
    finally:
        terminate_like_airflow(proc)

    # The task ended on the SIGTERM, not at the SIGKILL: on 3.3 on_kill ended the wait (the handler only calls
    # on_kill); on 2.11 the handler raises after on_kill.
    ended = "Killed while waiting" if AIRFLOW_3 else "AirflowTaskTerminated: Task received SIGTERM signal"
    assert ended in log.read_text(), log.read_text()[-3000:]
    assert list(out.iterdir()) == []
    assert slack_audit_emulator.requests == []  # nothing was read


def test_a_kill_between_the_commit_and_the_manifest_leaves_a_manifest_readers_name_as_of_another_write(
    airflow_cli, env, slack_audit_emulator, tmp_path, monkeypatch, capsys
):
    from airflow_provider_slack_audit.cli import main
    from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsToObjectStorageOperator

    out = tmp_path / "out"
    out.mkdir()
    path = out / "audit.jsonl"
    window = {"oldest": 1709251200, "latest": 1709254799, "settle_seconds": 0}
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_AUDIT_DEFAULT", env["AIRFLOW_CONN_SLACK_AUDIT_DEFAULT"])
    earlier = SlackAuditLogsToObjectStorageOperator(
        task_id="earlier", path=f"file://{path}", action="user_login", **window
    ).execute({})  # the window's earlier export, with its manifest
    earlier_manifest = (out / "audit.jsonl.manifest.json").read_bytes()
    flag = tmp_path / "committed"
    dag_id = write_dag(airflow_cli, "kill_before_manifest", path=f"file://{path}", **window)
    dag_file = airflow_cli.dag_file(dag_id)  # its own folder: no other test's run imports the patch
    dag_file.write_text(dag_file.read_text() + HOLD_BEFORE_MANIFEST.format(flag=str(flag)))

    proc = start(airflow_cli, dag_id, env, tmp_path / "task.log")
    try:
        wait_for(flag.exists, 120, "the commit")
    finally:
        how = terminate_like_airflow(proc)

    # the new object is in place, whole; the earlier manifest was left as it was (never removed before the commit)
    assert sorted(p.name for p in out.iterdir()) == ["audit.jsonl", "audit.jsonl.manifest.json"], how
    assert (out / "audit.jsonl.manifest.json").read_bytes() == earlier_manifest
    assert path.read_bytes() != b""
    assert len(path.read_bytes().splitlines()) == len(slack_audit_emulator.events(window["oldest"], window["latest"]))
    # a reader names it: the manifest of another write, not an altered object
    capsys.readouterr()
    assert main(["verify", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    (describes,) = [line for line in lines if line.startswith(("ok   describes", "FAIL describes"))]
    assert describes.startswith("FAIL describes manifest of another write: the object was written again"), lines
    assert f"the manifest records {earlier['sha256']}" in describes
