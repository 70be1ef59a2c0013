from __future__ import annotations

import gzip
import json

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_slack_audit.export.writer import ExportWriter, open_sink, resolve_target
from tests.fixtures.s3 import AWS_CONN_ID

EVENTS = [{"id": f"id-{i}", "date_create": 1704067200 - i, "action": "user_login", "x": "é"} for i in range(5)]


def write(url: str, conn_id: str | None = None, *, gzip_: bool, fail_after: int | None = None, overwrite=True):
    target = resolve_target(url, conn_id)
    with ExportWriter(open_sink(target, overwrite=overwrite), gzip=gzip_) as writer:
        for n, page in enumerate([EVENTS[:3], [], EVENTS[3:]]):
            if fail_after is not None and n == fail_after:
                raise RuntimeError("connection lost mid-window")
            writer.write_page(page)
    return target, writer


def test_plain_jsonl_is_compact_utf8_one_event_per_line(tmp_path):
    target, writer = write(f"file://{tmp_path}/a/b/out.jsonl", gzip_=False)
    data = (tmp_path / "a/b/out.jsonl").read_bytes()
    expected = [json.dumps(e, separators=(",", ":"), ensure_ascii=False) for e in EVENTS]
    assert data.decode("utf-8").splitlines() == expected
    assert writer.events == 5
    assert writer.bytes == len(data)
    assert target.url == f"file://{tmp_path}/a/b/out.jsonl"
    assert [p.name for p in (tmp_path / "a/b").iterdir()] == ["out.jsonl"]  # no temporary left behind


def test_gzip_output_is_deterministic(tmp_path):
    write(f"file://{tmp_path}/one.jsonl.gz", gzip_=True)
    write(f"file://{tmp_path}/two.jsonl.gz", gzip_=True)
    one, two = (tmp_path / "one.jsonl.gz").read_bytes(), (tmp_path / "two.jsonl.gz").read_bytes()
    assert one == two
    assert [json.loads(line)["id"] for line in gzip.decompress(one).splitlines()] == [e["id"] for e in EVENTS]


def test_failure_leaves_nothing_and_keeps_the_previous_file(tmp_path):
    (tmp_path / "out.jsonl").write_text("previous run\n")
    with pytest.raises(RuntimeError, match="mid-window"):
        write(f"file://{tmp_path}/out.jsonl", gzip_=False, fail_after=2)
    assert (tmp_path / "out.jsonl").read_text() == "previous run\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]
    with pytest.raises(RuntimeError):
        write(f"file://{tmp_path}/new.jsonl.gz", gzip_=True, fail_after=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_rerun_replaces_and_overwrite_false_refuses(tmp_path):
    (tmp_path / "out.jsonl").write_text("previous run\n")
    write(f"file://{tmp_path}/out.jsonl", gzip_=False)
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 5
    with pytest.raises(AirflowFailException, match="exists and overwrite=False"):
        write(f"file://{tmp_path}/out.jsonl", gzip_=False, overwrite=False)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/data/out.jsonl", "has no scheme"),
        ("out.jsonl", "has no scheme"),
        ("", "give the object to write"),
        ("s3:///key.jsonl", "names no bucket"),
        ("file:///data/", "names a folder"),
        ("nosuchscheme://bucket/key.jsonl", "cannot open this scheme"),
    ],
)
def test_bad_paths_say_what_to_write(path, message):
    with pytest.raises(AirflowFailException, match=message):
        resolve_target(path, None)


def test_s3_gets_the_same_bytes_and_no_partial_object(s3_server, tmp_path):
    write(f"file://{tmp_path}/out.jsonl.gz", gzip_=True)
    target, _ = write(f"s3://{s3_server.bucket}/slack/out.jsonl.gz", AWS_CONN_ID, gzip_=True)
    assert target.url == f"s3://{s3_server.bucket}/slack/out.jsonl.gz"
    assert s3_server.read("slack/out.jsonl.gz") == (tmp_path / "out.jsonl.gz").read_bytes()
    with pytest.raises(RuntimeError):
        write(f"s3://{s3_server.bucket}/slack/failed.jsonl.gz", AWS_CONN_ID, gzip_=True, fail_after=2)
    assert s3_server.keys() == ["slack/out.jsonl.gz"]


def test_a_storage_error_in_the_writer_thread_fails_the_export_and_leaves_nothing(tmp_path, monkeypatch):
    from airflow_provider_slack_audit.export import writer as _writer

    real_write = _writer._StoredBytes.write
    calls = []

    def failing_write(self, data):
        calls.append(len(data))
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(_writer._StoredBytes, "write", failing_write)
    many = [{"id": f"id-{i}", "date_create": 1704067200 - i // 10} for i in range(5000)]
    target = resolve_target(f"file://{tmp_path}/out.jsonl", None)

    def export() -> None:
        with ExportWriter(open_sink(target, overwrite=True), gzip=False) as writer:
            for start in range(0, len(many), 1000):
                writer.write_page(many[start : start + 1000])

    with pytest.raises(OSError, match="No space left"):
        export()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("file_format", ["jsonl", "parquet"])
def test_a_commit_after_an_abort_releases_the_writer_and_publishes_nothing(tmp_path, monkeypatch, file_format):
    """``on_kill`` aborts from another thread; the task's thread then reaches the commit (``with`` ends without an
    error). The commit refuses, and releases what only it still holds: the sink's file and the rows thread."""
    from airflow_provider_slack_audit.export.formats.choice import ExportFormat
    from airflow_provider_slack_audit.export.formats.parquet_writer import ParquetExportWriter
    from airflow_provider_slack_audit.export.local_sink import LocalFileSink
    from airflow_provider_slack_audit.export.sink import ExportAborted

    closed = []
    real_close = LocalFileSink.close
    monkeypatch.setattr(LocalFileSink, "close", lambda self: (closed.append(self), real_close(self))[1])
    target = tmp_path / f"out.{file_format}"
    sink = LocalFileSink(str(target), f"file://{target}", overwrite=True)
    if file_format == "parquet":
        writer = ParquetExportWriter(sink, ExportFormat("parquet", "flat", False), row_group_rows=4)
    else:
        writer = ExportWriter(sink, gzip=False)
    writer.open()
    writer.write_page(EVENTS)
    writer.abort()  # what on_kill does, from the signal handler or another thread
    with pytest.raises(ExportAborted, match="cannot commit: the export is aborted"):
        writer.__exit__(None, None, None)  # the task's thread leaves ``with writer:`` without an error
    assert closed == [sink]
    assert getattr(writer, "_thread", None) is None
    assert list(tmp_path.iterdir()) == []
