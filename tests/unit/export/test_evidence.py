"""A window's evidence as a reconciliation reads it, on local files: which late files count, the abandoned
marker, the binding check and the vanished ids. The reconciliation's own runs are in tests/e2e/test_reconcile.py."""

from __future__ import annotations

import hashlib
import json
import logging

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_slack_audit.export.evidence import (
    check_binding,
    index_late_files,
    index_object,
    report_vanished,
)
from airflow_provider_slack_audit.export.ids import IdIndex
from airflow_provider_slack_audit.export.late_files import ABANDONED_MARKER, EVIDENCE, MALFORMED, late_file_role
from airflow_provider_slack_audit.export.writer import resolve_target

PAST = 1709251200
log = logging.getLogger("evidence-test")


def jsonl(*ids: str) -> bytes:
    return b"".join(json.dumps({"id": i, "date_create": PAST}).encode() + b"\n" for i in ids)


def late_manifest_of(data: bytes, object_sha256: str) -> dict:
    return {"kind": "late", "object": "file:///x/out.jsonl", "object_sha256": object_sha256, "events": 1,
            "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "window": {}, "filters": {}}  # fmt: skip


@pytest.fixture
def exported(tmp_path):
    data = jsonl("a", "b")
    (tmp_path / "out.jsonl").write_bytes(data)
    return resolve_target(f"file://{tmp_path}/out.jsonl", None), hashlib.sha256(data).hexdigest()


def test_the_object_and_the_late_files_that_count_are_indexed_one_without_manifest_is_marked_abandoned(
    exported, tmp_path, caplog
):
    target, sha256 = exported
    counted = jsonl("c")
    (tmp_path / f"out.late-{PAST + 60}.jsonl").write_bytes(counted)
    (tmp_path / f"out.late-{PAST + 60}.jsonl.manifest.json").write_text(json.dumps(late_manifest_of(counted, sha256)))
    (tmp_path / f"out.late-{PAST + 61}.jsonl").write_bytes(jsonl("d"))  # its reconciliation stopped: no manifest
    index = IdIndex()

    with caplog.at_level(logging.INFO, "evidence-test"):
        assert index_object(target, None, index, log)[1:] == (len(jsonl("a", "b")), 2)
        count, newest, evidence = index_late_files(target, sha256, index, log)

    assert (count, newest) == (1, PAST + 61)  # the newest name is taken, counted or not
    assert [url for _, url, _ in evidence] == [f"{target.url.rsplit('/', 1)[0]}/out.late-{PAST + 60}.jsonl"]
    index.freeze()
    assert len(index) == 3
    assert "d" not in index
    marker = json.loads((tmp_path / f"out.late-{PAST + 61}.jsonl.manifest.json").read_text())
    assert marker == ABANDONED_MARKER
    assert "has no manifest: its integrity cannot be checked" in caplog.text
    assert "marked abandoned" in caplog.text


def test_a_late_files_manifest_that_is_not_json_fails_saying_what_to_do(exported, tmp_path):
    target, sha256 = exported
    (tmp_path / f"out.late-{PAST + 60}.jsonl").write_bytes(jsonl("c"))
    (tmp_path / f"out.late-{PAST + 60}.jsonl.manifest.json").write_text("{not json")
    with pytest.raises(AirflowFailException, match="is not a late file's manifest this provider wrote"):
        index_late_files(target, sha256, IdIndex(), log)
    assert late_file_role({"kind": "export"}, "out.jsonl", sha256) == MALFORMED
    assert late_file_role(late_manifest_of(b"", sha256), "out.jsonl", sha256) == EVIDENCE


def test_an_object_its_manifest_does_not_describe_fails(exported):
    target, sha256 = exported
    manifest = {"sha256": "0" * 64, "bytes": 3, "object_version": None}
    undescribed = r"does not match its manifest \(altered after its export, or written again\)"
    with pytest.raises(AirflowFailException, match=undescribed):
        check_binding(target, manifest, sha256, 10, "its export")
    check_binding(target, {"sha256": sha256, "bytes": 10}, sha256, 10, "its export")  # described: no error


def test_the_events_slack_no_longer_returns_are_counted_and_the_first_listed(exported, caplog):
    target, _ = exported
    index = IdIndex()
    index_object(target, None, index, log)
    index.freeze()
    assert index.mark("a") is True  # Slack returned a only
    with caplog.at_level(logging.WARNING, "evidence-test"):
        assert report_vanished(target, None, index, [], log) == 1
    assert "1 events of" in caplog.text
    assert caplog.text.rstrip().endswith("the first: b")
    assert index.mark("b") is True
    assert report_vanished(target, None, index, [], log) == 0
