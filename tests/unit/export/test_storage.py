"""What an export leaves on each store when it succeeds, fails, is aborted or races another run.

Object stores are moto's S3 server on loopback (one that enforces IAM for the role that may not
delete); local files are the test's tmp_path.
"""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from airflow_provider_slack_audit.export.storage import ExportAborted, TargetExistsError
from airflow_provider_slack_audit.export.writer import resolve_target
from tests.fixtures.s3 import AWS_CONN_ID, NO_DELETE_CONN_ID
from tests.unit.export.storage_helpers import BIG, export, writer_for


def test_a_role_without_delete_object_exports_and_replaces_in_one_upload(s3_no_delete):
    client = s3_no_delete.client()
    client.put_object(Bucket=s3_no_delete.bucket, Key="slack/out.jsonl", Body=b"previous run\n")
    with pytest.raises(client.exceptions.ClientError, match="AccessDenied"):  # the role really may not delete
        client.delete_object(Bucket=s3_no_delete.bucket, Key="slack/out.jsonl")

    writer = export(f"s3://{s3_no_delete.bucket}/slack/out.jsonl", NO_DELETE_CONN_ID)

    data = s3_no_delete.read("slack/out.jsonl")
    assert len(data) == writer.bytes > 16 * 2**20  # several parts
    assert data.count(b"\n") == writer.events == len(BIG)
    import hashlib

    assert hashlib.sha256(data).hexdigest() == writer.sha256
    assert s3_no_delete.keys() == ["slack/out.jsonl"]  # no temporary object
    assert s3_no_delete.uploads() == []


def test_a_failed_export_leaves_the_earlier_object_byte_for_byte(s3_no_delete):
    client = s3_no_delete.client()
    client.put_object(Bucket=s3_no_delete.bucket, Key="slack/out.jsonl", Body=b"previous run\n")
    before = client.head_object(Bucket=s3_no_delete.bucket, Key="slack/out.jsonl")["ETag"]

    with pytest.raises(RuntimeError, match="mid-window"):
        export(f"s3://{s3_no_delete.bucket}/slack/out.jsonl", NO_DELETE_CONN_ID, fail_after=5)  # 2 parts sent

    assert s3_no_delete.read("slack/out.jsonl") == b"previous run\n"
    assert client.head_object(Bucket=s3_no_delete.bucket, Key="slack/out.jsonl")["ETag"] == before
    assert s3_no_delete.keys() == ["slack/out.jsonl"]
    assert s3_no_delete.uploads() == []  # the multipart upload was aborted, not left to linger


def test_a_reader_never_sees_a_partial_object(s3_server):
    client = s3_server.client()
    client.put_object(Bucket=s3_server.bucket, Key="slack/out.jsonl", Body=b"previous run\n")
    seen_bodies: set[int] = set()
    seen_keys: set[str] = set()
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            seen_keys.update(s3_server.keys("slack/"))
            seen_bodies.add(len(s3_server.read("slack/out.jsonl")))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        writer = export(f"s3://{s3_server.bucket}/slack/out.jsonl", AWS_CONN_ID)
        for _ in range(3):  # a few reads after the commit too
            seen_bodies.add(len(s3_server.read("slack/out.jsonl")))
    finally:
        done.set()
        thread.join()
    assert seen_keys == {"slack/out.jsonl"}  # nothing else ever appeared in the prefix
    assert seen_bodies <= {len(b"previous run\n"), writer.bytes}
    assert writer.bytes in seen_bodies


@pytest.mark.parametrize("store", ["file", "s3"])
def test_overwrite_false_holds_at_commit_when_two_runs_race(store, s3_server, tmp_path):
    url = f"file://{tmp_path}/out.jsonl" if store == "file" else f"s3://{s3_server.bucket}/slack/out.jsonl"
    conn_id = None if store == "file" else AWS_CONN_ID
    first = writer_for(url, conn_id, overwrite=False).open()
    second = writer_for(url, conn_id, overwrite=False).open()  # both start before the object exists
    first.write_page(BIG[:3000])
    second.write_page(BIG[3000:3100])
    first.commit()
    with pytest.raises(TargetExistsError, match="exists and overwrite=False"):  # what a reconciliation tells apart
        second.commit()

    stored = (tmp_path / "out.jsonl").read_bytes() if store == "file" else s3_server.read("slack/out.jsonl")
    assert stored.count(b"\n") == 3000  # the first run's file, not replaced by the second
    if store == "file":
        assert os.listdir(tmp_path) == ["out.jsonl"]
    else:
        assert s3_server.keys() == ["slack/out.jsonl"]
        assert s3_server.client().list_multipart_uploads(Bucket=s3_server.bucket).get("Uploads") is None


@pytest.mark.parametrize("store", ["file", "s3"])
def test_overwrite_true_when_two_runs_race_the_last_to_finish_wins_whole(store, s3_server, tmp_path):
    url = f"file://{tmp_path}/out.jsonl" if store == "file" else f"s3://{s3_server.bucket}/slack/out.jsonl"
    conn_id = None if store == "file" else AWS_CONN_ID
    first = writer_for(url, conn_id).open()
    second = writer_for(url, conn_id).open()  # both under way at once, their writes interleaved
    first.write_page(BIG[:3000])
    second.write_page(BIG[3000:3100])
    first.write_page(BIG[:1])
    second.commit()

    def read() -> bytes:
        return (tmp_path / "out.jsonl").read_bytes() if store == "file" else s3_server.read("slack/out.jsonl")

    assert read().count(b"\n") == 100  # the second run's file, whole
    first.commit()

    stored = read()
    assert stored.count(b"\n") == 3001  # the last to finish: the first run's file, whole, nothing of the second
    assert [json.loads(line)["id"] for line in stored.splitlines()] == [e["id"] for e in BIG[:3000] + BIG[:1]]
    if store == "file":
        assert os.listdir(tmp_path) == ["out.jsonl"]
    else:
        assert s3_server.keys() == ["slack/out.jsonl"]
        assert s3_server.client().list_multipart_uploads(Bucket=s3_server.bucket).get("Uploads") is None


def test_overwrite_false_holds_for_an_empty_object_too(s3_server):
    url = f"s3://{s3_server.bucket}/slack/empty.jsonl"
    first = writer_for(url, AWS_CONN_ID, overwrite=False).open()
    second = writer_for(url, AWS_CONN_ID, overwrite=False).open()
    second.write_page(BIG[:10])
    second.commit()
    with pytest.raises(TargetExistsError, match="exists and overwrite=False"):
        first.commit()  # no events: still refuses the object that appeared
    assert s3_server.read("slack/empty.jsonl").count(b"\n") == 10


def test_an_abort_from_another_thread_stops_the_export_and_leaves_nothing(s3_server, tmp_path):
    for url, conn_id in [(f"file://{tmp_path}/out.jsonl", None), (f"s3://{s3_server.bucket}/out.jsonl", AWS_CONN_ID)]:
        writer = writer_for(url, conn_id).open()
        writer.write_page(BIG[:7000])  # ~10 MB: on S3 a part is uploaded
        threading.Thread(target=writer.abort).start()  # what on_kill does, from the SIGTERM handler
        time.sleep(0.5)
        with pytest.raises(ExportAborted):
            writer.write_page(BIG[7000:])
        with pytest.raises(ExportAborted):
            writer.commit()
        writer.close()
    assert os.listdir(tmp_path) == []
    assert s3_server.keys() == []
    assert s3_server.client().list_multipart_uploads(Bucket=s3_server.bucket).get("Uploads") is None


def test_an_abort_before_the_writer_opens_creates_nothing(tmp_path):
    writer = writer_for(f"file://{tmp_path}/out.jsonl")
    writer.abort()  # on_kill before the export started writing
    with pytest.raises(ExportAborted):
        writer.open()
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("store", ["s3_no_delete", "local"])
def test_an_earlier_replacing_marker_still_reads_as_no_manifest(store, request, tmp_path):
    """Releases before manifest_version 2 left {"replacing": true} where a role could not delete: still no manifest."""
    from airflow_provider_slack_audit.export.manifest import (
        REPLACING_MARKER,
        manifest_path,
        put_atomically,
        read_manifest,
    )

    if store == "local":
        target = resolve_target(f"file://{tmp_path}/out.jsonl", None)
    else:
        s3 = request.getfixturevalue("s3_no_delete")
        target = resolve_target(f"s3://{s3.bucket}/slack/out.jsonl", NO_DELETE_CONN_ID)
    put_atomically(manifest_path(target.path), json.dumps(REPLACING_MARKER).encode(), local=target.is_local)
    assert read_manifest(target.path, target.url) is None
