"""What an export leaves on each store when it succeeds, fails, is aborted or races another run.

Object stores are moto's S3 server on loopback (one that enforces IAM for the role that may not
delete); local files are the test's tmp_path.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from types import SimpleNamespace

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_slack_audit.export.storage import ExportAborted, TargetExistsError
from airflow_provider_slack_audit.export.writer import ExportWriter, open_sink, resolve_target
from tests.fixtures.s3 import AWS_CONN_ID, NO_DELETE_CONN_ID

#: About 21 MB of JSON Lines: three parts of an S3 multipart upload.
BIG = [{"id": f"id-{i:06d}", "date_create": 1704067200 - i // 10, "pad": "x" * 1400} for i in range(15_000)]
PAGE = 2500


def writer_for(url: str, conn_id: str | None = None, *, overwrite: bool = True, gzip: bool = False) -> ExportWriter:
    return ExportWriter(open_sink(resolve_target(url, conn_id), overwrite=overwrite), gzip=gzip)


def export(url: str, conn_id: str | None = None, *, events=BIG, fail_after: int | None = None, **kw) -> ExportWriter:
    with writer_for(url, conn_id, **kw) as writer:
        for n, start in enumerate(range(0, len(events), PAGE)):
            if fail_after is not None and n == fail_after:
                raise RuntimeError("connection lost mid-window")
            writer.write_page(events[start : start + PAGE])
    return writer


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


def test_overwrite_false_on_a_store_without_conditional_writes_says_so():
    import fsspec

    from airflow_provider_slack_audit.export.storage import ObjectStoreSink

    # fsspec's in-memory store: a real filesystem whose "xb" mode is not checked at completion
    target = SimpleNamespace(fs=fsspec.filesystem("memory"), path="/bucket/slack/out.jsonl")
    sink = ObjectStoreSink(target, "memory://bucket/slack/out.jsonl", overwrite=False)  # type: ignore[arg-type]
    with pytest.raises(AirflowFailException, match=r"conditional write: .*MemoryFileSystem.*Use overwrite=True"):
        sink.open()


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


def test_a_successful_local_export_removes_stale_temporaries_of_its_target_only(tmp_path):
    old = time.time() - 2 * 24 * 3600
    stale = tmp_path / ".out.jsonl.0123456789ab.partial"  # a killed run's, two days old
    other_target = tmp_path / ".other.jsonl.0123456789ab.partial"  # another target's
    not_ours = tmp_path / ".out.jsonl.backup"  # a name we never make
    for path in (stale, other_target, not_ours):
        path.write_bytes(b"partial")
        os.utime(path, (old, old))
    live = writer_for(f"file://{tmp_path}/out.jsonl").open()  # a concurrent run, still writing
    live.write_page(BIG[:10])

    export(f"file://{tmp_path}/out.jsonl", events=BIG[:100])

    names = sorted(os.listdir(tmp_path))
    assert stale.name not in names
    assert {other_target.name, not_ours.name, "out.jsonl"} <= set(names)
    assert len([n for n in names if n.startswith(".out.jsonl.") and n.endswith(".partial")]) == 1  # the live one
    live.commit()  # the live run is unharmed
    assert (tmp_path / "out.jsonl").read_bytes().count(b"\n") == 10


def test_an_abort_before_the_writer_opens_creates_nothing(tmp_path):
    writer = writer_for(f"file://{tmp_path}/out.jsonl")
    writer.abort()  # on_kill before the export started writing
    with pytest.raises(ExportAborted):
        writer.open()
    assert os.listdir(tmp_path) == []


def _fake_fs(monkeypatch, package: str, version: str | None):
    """A filesystem class of a module named like ``package`` (gcsfs and adlfs are not installed here), and the
    package itself with ``version`` as its ``__version__``: what the capability detection reads."""
    import sys
    import types

    module = types.ModuleType(package)
    if version is not None:
        module.__version__ = version
    monkeypatch.setitem(sys.modules, package, module)
    fs_class = type("FileSystem", (), {"__module__": f"{package}.core"})
    return fs_class()


@pytest.mark.parametrize(
    ("package", "version", "missing"),
    [
        ("gcsfs", "2024.12.0", None),
        ("gcsfs", "2026.8.0", None),
        (
            "gcsfs",
            "2024.10.0",
            r"gcsfs 2024.10.0 has no exclusive write \(ifGenerationMatch=0\); upgrade gcsfs to 2024.12.0",
        ),
        ("adlfs", "2024.12.0", None),
        (
            "adlfs",
            "2024.7.0",
            r"adlfs 2024.7.0 has no exclusive write \(If-None-Match: \*\); upgrade adlfs to 2024.12.0",
        ),
        ("adlfs", None, r"adlfs \(unknown version\) has no exclusive write"),
    ],
)
def test_gcs_and_azure_have_a_conditional_create_from_the_release_that_sends_it(monkeypatch, package, version, missing):
    from airflow_provider_slack_audit.export.storage import ObjectStoreSink, conditional_write_support

    fs = _fake_fs(monkeypatch, package, version)
    found = conditional_write_support(fs)
    if missing is None:
        assert found is None
        return
    assert re.search(missing, found), found
    # an export with overwrite=False (or a late file) fails when its sink opens, before anything is read or written
    sink = ObjectStoreSink(SimpleNamespace(fs=fs, path="bucket/out.jsonl"), "gs://bucket/out.jsonl", overwrite=False)  # type: ignore[arg-type]
    with pytest.raises(AirflowFailException, match="conditional write: " + missing):
        sink.open()


def test_the_installed_s3fs_has_a_conditional_create():
    from airflow_provider_slack_audit.export.storage import conditional_write_support

    target = resolve_target("s3://bucket/out.jsonl", None)
    assert conditional_write_support(target.path.fs) is None


@pytest.mark.parametrize("store", ["file", "s3"])
def test_a_sink_knows_whether_the_object_at_its_target_is_still_its_own(store, s3_server, tmp_path):
    url = f"file://{tmp_path}/out.jsonl" if store == "file" else f"s3://{s3_server.bucket}/slack/out.jsonl"
    conn_id = None if store == "file" else AWS_CONN_ID
    first = export(url, conn_id, events=BIG[:100])
    stored = first.sink.stored_version()
    assert stored.ours is True
    assert stored.version["store"] == ("local" if store == "file" else "s3")
    if store == "s3":
        head = s3_server.client().head_object(Bucket=s3_server.bucket, Key="slack/out.jsonl")
        assert stored.version["etag"] == head["ETag"]
        assert head["Metadata"] == {"slackauditwrite": first.sink.write_id}
    else:
        assert stored.version["inode"] == (tmp_path / "out.jsonl").stat().st_ino

    second = export(url, conn_id, events=BIG[100:150])  # another run replaces it

    assert first.sink.stored_version().ours is False
    assert first.sink.stored_version().version == second.sink.stored_version().version
    assert second.sink.stored_version().ours is True


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
