"""What the store says identifies a write: a sink tells its own write from another run's."""

from __future__ import annotations

import pytest

from airflow_provider_slack_audit.export.object_versions import stored_version_of
from airflow_provider_slack_audit.export.writer import resolve_target
from tests.fixtures.s3 import AWS_CONN_ID
from tests.unit.export.storage_helpers import BIG, export


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


@pytest.mark.parametrize("store", ["file", "s3"])
def test_a_reader_gets_the_version_of_the_object_there_now_or_none(store, s3_server, tmp_path):
    url = f"file://{tmp_path}/out.jsonl" if store == "file" else f"s3://{s3_server.bucket}/slack/out.jsonl"
    conn_id = None if store == "file" else AWS_CONN_ID
    target = resolve_target(url, conn_id)
    assert stored_version_of(target.path, local=target.is_local) is None  # nothing there yet

    written = export(url, conn_id, events=BIG[:10])

    assert stored_version_of(target.path, local=target.is_local) == written.sink.stored_version().version
