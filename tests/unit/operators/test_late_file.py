"""A reconciliation's late file on local files, over a stand-in walk (no Slack): what it writes, its manifest,
and the end of the names it tries. Real reconciliations against the emulator are in tests/e2e/test_reconcile.py.
Runs on Airflow 3.3 and 2.11."""

from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_slack_audit.client.raw_page import RawPage
from airflow_provider_slack_audit.export.writer import resolve_target
from airflow_provider_slack_audit.operators.late_file import MAX_LATE_NAME_ATTEMPTS, write_late_events
from airflow_provider_slack_audit.operators.reconcile import SlackAuditLogsReconcileOperator

PAST = 1709251200  # 2024-03-01T00:00:00Z


def event(event_id: str) -> bytes:
    return json.dumps({"id": event_id, "date_create": PAST}).encode()


class FakeWalkReconcile(SlackAuditLogsReconcileOperator):
    """A reconciliation whose walk gives fixed pages (each walk the same) and that has no Slack client."""

    def __init__(self, *, ids, meanwhile=None, **kwargs):
        super().__init__(**kwargs)
        self.ids = ids
        self.meanwhile = meanwhile

    def walking_client(self):
        return None

    def iter_pages(self, window, query, *, raw_entries=False):
        yield SimpleNamespace(entries=RawPage([event(i) for i in self.ids], list(self.ids), [PAST] * len(self.ids)))

    def late_file_second(self, newest, window):
        second = super().late_file_second(newest, window)
        if self.meanwhile is not None:
            self.meanwhile(second)
        return second


@pytest.fixture
def exported(tmp_path):
    data = event("a") + b"\n"
    (tmp_path / "out.jsonl").write_bytes(data)
    return f"file://{tmp_path}/out.jsonl", hashlib.sha256(data).hexdigest()


def test_the_events_the_object_lacks_go_to_its_first_late_file_with_a_manifest_naming_the_object(exported, tmp_path):
    path, sha256 = exported
    op = FakeWalkReconcile(ids=["a", "b"], task_id="r", path=path, oldest=PAST, latest=PAST + 59)
    window, query = op.resolve_query({})

    found = write_late_events(op, resolve_target(path, None), None, window, query)

    assert (found.checked, found.writer.events, found.events) == (2, 1, 1)
    assert found.late_target.name == f"out.late-{PAST + 60}.jsonl"  # the first is named for the window's end
    assert (tmp_path / found.late_target.name).read_bytes() == event("b") + b"\n"
    manifest = json.loads((tmp_path / f"{found.late_target.name}.manifest.json").read_text())
    assert (manifest["kind"], manifest["object"], manifest["object_sha256"]) == ("late", path, sha256)
    assert (manifest["events"], manifest["window"]) == (1, {"oldest": PAST, "latest": PAST + 59})
    assert list(manifest)[-3:] == ["kind", "object", "object_sha256"]  # after the fields every manifest has
    assert op._writer is None  # on_kill has nothing left to abort


def test_nothing_late_writes_nothing(exported, tmp_path):
    path, _ = exported
    op = FakeWalkReconcile(ids=["a"], task_id="r", path=path, oldest=PAST, latest=PAST + 59)
    window, query = op.resolve_query({})
    found = write_late_events(op, resolve_target(path, None), None, window, query)
    assert (found.checked, found.writer) == (1, None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_a_run_whose_every_name_is_taken_meanwhile_fails_and_leaves_no_late_file_of_its_own(exported, tmp_path):
    path, _ = exported
    taken = []

    def another_run_takes(second):  # another reconciliation creates the name just after this one picked it
        taken.append(second)
        (tmp_path / f"out.late-{second}.jsonl").write_bytes(event("b") + b"\n")

    op = FakeWalkReconcile(
        ids=["a", "b"], task_id="r", path=path, oldest=PAST, latest=PAST + 59, meanwhile=another_run_takes
    )
    window, query = op.resolve_query({})
    with pytest.raises(AirflowFailException, match=f"{MAX_LATE_NAME_ATTEMPTS} names for the late file"):
        write_late_events(op, resolve_target(path, None), None, window, query)
    assert taken == [PAST + 60 + n for n in range(MAX_LATE_NAME_ATTEMPTS)]  # each time the next name
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
