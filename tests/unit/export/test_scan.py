"""Reading an exported object back: ids in order, the stored bytes' sha256 and size, clear failures."""

from __future__ import annotations

import gzip
import hashlib
import json

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_slack_audit.export.scan import object_ids, scan_ids
from airflow_provider_slack_audit.export.writer import resolve_target

EVENTS = [{"id": f"id-{i}", "date_create": 1704067200 - i} for i in range(4)]
LINES = b"".join(json.dumps(e).encode() + b"\n" for e in EVENTS)


@pytest.mark.parametrize("gzip_", [False, True])
def test_scan_ids_calls_back_each_id_and_returns_the_stored_bytes_digest(tmp_path, gzip_):
    stored = gzip.compress(LINES, mtime=0) if gzip_ else LINES
    (tmp_path / "a.jsonl").write_bytes(stored + (b"" if gzip_ else b"\n"))  # a blank line is skipped
    if not gzip_:
        stored += b"\n"
    target = resolve_target(f"file://{tmp_path}/a.jsonl", None)
    seen: list[str] = []

    sha256, size, events = scan_ids(target.path, target.url, gzip_=gzip_, on_id=seen.append)

    assert seen == [e["id"] for e in EVENTS]
    assert (sha256, size, events) == (hashlib.sha256(stored).hexdigest(), len(stored), len(EVENTS))


def test_a_line_without_an_id_fails_the_task_naming_the_line(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(LINES + b'{"no_id": 1}\n')
    target = resolve_target(f"file://{tmp_path}/a.jsonl", None)
    with pytest.raises(AirflowFailException, match=r"a\.jsonl line 5 is not an audit event with an id"):
        scan_ids(target.path, target.url, gzip_=False, on_id=lambda _: None)


def test_a_cut_gzip_object_fails_the_task(tmp_path):
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(LINES)[:-10])
    target = resolve_target(f"file://{tmp_path}/a.jsonl.gz", None)
    with pytest.raises(AirflowFailException, match="cannot be read as gzip JSON Lines"):
        scan_ids(target.path, target.url, gzip_=True, on_id=lambda _: None)


def test_object_ids_is_a_frozen_index_of_the_objects_ids(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(LINES)
    index = object_ids(resolve_target(f"file://{tmp_path}/a.jsonl", None), False)
    assert len(index) == len(EVENTS)
    assert all(e["id"] in index for e in EVENTS)
    assert "id-other" not in index
