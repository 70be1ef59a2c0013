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


# --- how an object is read: as its manifest says, never by its name ------------------------------------------

from airflow_provider_slack_audit.export.scan import scan_object, stored_compression  # noqa: E402


@pytest.mark.parametrize(
    ("name", "stored_gzip", "manifest"),
    [
        ("h.jsonl", True, {"compression": "gzip"}),  # compression="gzip" to a path without .gz
        ("h.jsonl.gz", False, {"compression": None}),  # compression=None to a .gz path
        ("h.jsonl", True, {}),  # a manifest from before the field: the gzip magic decides
        ("h.jsonl.gz", False, {}),
        ("h.jsonl.gz", False, None),  # no manifest: the bytes decide
    ],
)
def test_an_object_is_read_as_its_manifest_or_its_bytes_say_never_by_its_name(tmp_path, name, stored_gzip, manifest):
    (tmp_path / name).write_bytes(gzip.compress(LINES) if stored_gzip else LINES)
    target = resolve_target(f"file://{tmp_path}/{name}", None)
    assert stored_compression(target.path, target.url, manifest) == ("gzip" if stored_gzip else None)
    seen: list[str] = []
    _, _, events = scan_object(target.path, target.url, manifest, on_id=seen.append)
    assert (seen, events) == ([e["id"] for e in EVENTS], len(EVENTS))


def test_a_manifest_whose_compression_the_bytes_contradict_does_not_describe_the_object(tmp_path):
    (tmp_path / "h.jsonl").write_bytes(LINES)
    target = resolve_target(f"file://{tmp_path}/h.jsonl", None)
    with pytest.raises(AirflowFailException, match="the manifest does not describe this object"):
        scan_object(target.path, target.url, {"compression": "gzip"}, on_id=lambda _: None)


def test_an_object_of_a_format_this_version_cannot_read_fails_naming_it(tmp_path):
    (tmp_path / "h.parquet").write_bytes(b"PAR1")
    target = resolve_target(f"file://{tmp_path}/h.parquet", None)
    with pytest.raises(AirflowFailException, match="is 'orc'"):
        scan_object(target.path, target.url, {"format": "orc", "compression": None}, on_id=lambda _: None)
