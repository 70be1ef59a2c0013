"""One rule tells a manifest of this object from one of another write and from an altered object."""

from __future__ import annotations

import pytest

from airflow_provider_slack_audit.export.binding import (
    ALTERED,
    ANOTHER_WRITE,
    DESCRIBES,
    UNDETERMINED,
    FoundObject,
    judge_binding,
    same_write,
)

S3_V1 = {"store": "s3", "etag": '"aaa"', "version_id": None, "write_id": "w1"}
S3_V2 = {"store": "s3", "etag": '"bbb"', "version_id": None, "write_id": "w2"}
LOCAL = {"store": "local", "device": 1, "inode": 10, "mtime_ns": 5, "size": 3}


def manifest(version=S3_V1, sha256="s" * 64, size=3):
    return {"sha256": sha256, "bytes": size, "object_version": version}


@pytest.mark.parametrize(
    ("recorded", "found", "verdict"),
    [
        (S3_V1, FoundObject(3, "s" * 64, S3_V2), DESCRIBES),  # same bytes: whatever the write, they are described
        (S3_V1, FoundObject(4, "t" * 64, S3_V2), ANOTHER_WRITE),
        (S3_V1, FoundObject(4, "t" * 64, {**S3_V1, "write_id": "w1"}), ALTERED),
        (LOCAL, FoundObject(3, "t" * 64, {**LOCAL, "mtime_ns": 6}), ALTERED),  # edited in place: same inode
        (LOCAL, FoundObject(3, "t" * 64, {**LOCAL, "inode": 11}), ANOTHER_WRITE),  # renamed into place: new file
        (None, FoundObject(3, "t" * 64, S3_V2), UNDETERMINED),  # a manifest from before object_version
        (LOCAL, FoundObject(3, "t" * 64, None), UNDETERMINED),  # a copy elsewhere: its version tells nothing
        (LOCAL, FoundObject(3, "t" * 64, S3_V2), UNDETERMINED),  # another store
    ],
)
def test_the_verdicts(recorded, found, verdict):
    binding = judge_binding(manifest(recorded), found)
    assert binding.verdict == verdict, binding.detail
    assert binding.describes is (verdict == DESCRIBES)
    if verdict == ANOTHER_WRITE:
        assert "written again after this manifest's write" in binding.detail
        assert "altered" not in binding.detail


def test_a_versioned_bucket_compares_version_ids_and_an_unversioned_one_etags():
    versioned = {"store": "s3", "etag": '"aaa"', "version_id": "v1"}
    assert same_write(versioned, {**versioned, "version_id": "v2"}) is False  # same bytes written twice
    assert same_write(versioned, dict(versioned)) is True
    assert same_write({**versioned, "version_id": None}, versioned) is True
    assert same_write({"store": "gcs", "generation": "1"}, {"store": "gcs", "generation": "2"}) is False
    assert same_write({"store": "s3"}, versioned) is None  # records nothing that names a write
