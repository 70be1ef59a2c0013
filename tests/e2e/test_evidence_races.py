"""Two exports of one window in two processes, as two workers run them: the losing run never touches the winner.

Each export runs in a process of its own (``tests/fixtures/export_process.py``), held at a chosen step so that
the interleaving is exact: a run that does not commit leaves the other run's (or the earlier) object and
manifest byte for byte; a manifest is written only while its object is still the one at the path. Stores: the
local file system and moto's S3 server.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from tests.fixtures.export_process import ExportProcess
from tests.fixtures.s3 import AWS_CONN_ID

pytestmark = [pytest.mark.airflow, pytest.mark.e2e]

OLDEST = 1709251200  # 2024-03-01T00:00:00Z
HOUR = (OLDEST, OLDEST + 3599)
#: A day: ~24,000 events, over one S3 part (8 MiB), so the object is a multipart upload completed at the commit.
DAY = (OLDEST, OLDEST + 86399)
ROOT = Path(__file__).resolve().parents[2]


class Place:
    """Where the two runs write: ``file`` (a folder) or ``s3`` (a bucket on moto)."""

    def __init__(self, kind: str, tmp_path: Path, s3_server=None) -> None:
        self.kind, self.tmp_path, self.s3 = kind, tmp_path, s3_server
        self.url = (
            f"file://{tmp_path}/out/hour.jsonl" if kind == "file" else f"s3://{s3_server.bucket}/slack/hour.jsonl"
        )
        self.conn_id = None if kind == "file" else AWS_CONN_ID

    def read(self, suffix: str = "") -> bytes | None:
        if self.kind == "file":
            path = self.tmp_path / "out" / f"hour.jsonl{suffix}"
            return path.read_bytes() if path.exists() else None
        key = f"slack/hour.jsonl{suffix}"
        return self.s3.read(key) if key in self.s3.keys("slack/") else None

    def pair(self) -> tuple[bytes | None, bytes | None]:
        return self.read(), self.read(".manifest.json")

    def names(self) -> list[str]:
        if self.kind == "file":
            return sorted(p.name for p in (self.tmp_path / "out").iterdir())
        return [k.rsplit("/", 1)[1] for k in self.s3.keys("slack/")]


@pytest.fixture(params=["file", "s3"])
def place(request, tmp_path) -> Place:
    if request.param == "s3":
        return Place("s3", tmp_path, request.getfixturevalue("s3_server"))
    (tmp_path / "out").mkdir()
    return Place("file", tmp_path)


@pytest.fixture
def run(slack_audit_emulator, tmp_path, place):
    """Start an export of ``place`` in a process of its own: ``run(name, hold=..., **operator arguments)``."""
    flags = tmp_path / "flags"
    flags.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    env["AIRFLOW_CONN_SLACK_AUDIT_DEFAULT"] = slack_audit_emulator.airflow_conn_json(extra={"timeout": 120})
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    home = tmp_path / "airflow-home"
    home.mkdir()
    env["AIRFLOW_HOME"] = str(home)
    started: list[ExportProcess] = []

    def start(name: str, *, hold: str | None = None, window=HOUR, file_size_limit=None, **arguments) -> ExportProcess:
        operator = {
            "task_id": f"export_{name}",
            "path": place.url,
            "conn_id": place.conn_id,
            "oldest": window[0],
            "latest": window[1],
            "settle_seconds": 0,
            **arguments,
        }
        proc = ExportProcess(name, flags, env, hold=hold, operator=operator, file_size_limit=file_size_limit)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.proc.poll() is None:
            proc.proc.kill()
            proc.proc.wait(timeout=30)


def assert_bound(place: Place) -> dict:
    """The manifest at the place describes the object there (its bytes); returns it."""
    data, manifest_bytes = place.pair()
    assert data is not None
    assert manifest_bytes is not None
    manifest = json.loads(manifest_bytes)
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["bytes"] == len(data)
    return manifest


def test_overwrite_false_the_losing_run_leaves_the_winners_object_and_manifest(place, run):
    loser = run("a", hold="walk", overwrite=False)
    loser.wait_held()  # its sink is open (no object there yet), its walk not begun
    winner = run("b", overwrite=False).outcome()
    assert "result" in winner, winner
    won = place.pair()
    assert_bound(place)

    loser.release()
    outcome = loser.outcome()

    assert outcome["error"] == "TargetExistsError", outcome
    assert "exists and overwrite=False" in outcome["message"]
    assert place.pair() == won  # the winner's object AND its manifest, byte for byte
    assert place.names() == ["hour.jsonl", "hour.jsonl.manifest.json"]


def test_overwrite_true_a_failed_commit_leaves_the_earlier_object_and_manifest(place, run):
    window = HOUR if place.kind == "file" else DAY
    assert "result" in run("earlier", window=window, action="user_login").outcome()
    earlier = place.pair()
    assert_bound(place)

    if place.kind == "file":
        # a full disk: no file of this process may grow past 64 KiB, far less than the hour's object
        outcome = run("a", window=window, file_size_limit=64 * 1024).outcome()
        assert outcome["error"] == "OSError", outcome
        assert "File too large" in outcome["message"], outcome
    else:
        # the store refuses the completion: the upload is gone when the run commits (a lifecycle rule's abort)
        failing = run("a", window=window, hold="commit")
        failing.wait_held()
        client = place.s3.client()
        uploads = client.list_multipart_uploads(Bucket=place.s3.bucket).get("Uploads") or []
        assert [u["Key"] for u in uploads] == ["slack/hour.jsonl"]
        client.abort_multipart_upload(Bucket=place.s3.bucket, Key="slack/hour.jsonl", UploadId=uploads[0]["UploadId"])
        failing.release()
        outcome = failing.outcome()
        assert outcome["error"] == "OSError", outcome  # moto answers the part of a vanished upload with a 500

    assert place.pair() == earlier  # the earlier object AND its manifest
    assert place.names() == ["hour.jsonl", "hour.jsonl.manifest.json"]


def test_a_run_whose_object_another_run_replaced_before_its_manifest_writes_none(place, run):
    late = run("a", hold="manifest")  # committed, held before its manifest
    late.wait_held()
    replacing = run("b", action="user_login").outcome()  # another run of the window, other bytes (other filters)
    assert "result" in replacing, replacing
    replaced = place.pair()

    late.release()
    outcome = late.outcome()

    assert outcome["error"] == "ObjectReplacedError", outcome
    assert outcome["message"].startswith(f"Another run replaced {place.url} after this run committed it")
    assert place.pair() == replaced  # run b's object with run b's manifest: ours was not written over it
    manifest = assert_bound(place)
    assert manifest["filters"]["action"] == ["user_login"]
    assert manifest["sha256"] == replacing["result"]["sha256"]
