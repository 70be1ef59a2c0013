"""What every operator gets from its base: the settle wait (deferred or in the worker), the resumed window,
``on_kill`` (the wait, the writer), the walk over a window's pages. No Slack: ``read_window`` and the walk
are stand-ins. Runs on Airflow 3.3 and 2.11."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, TaskDeferred

from airflow_provider_slack_audit.client.raw_page import RawPage
from airflow_provider_slack_audit.export.writer import resolve_target
from airflow_provider_slack_audit.operators.base import MIN_DEFER_SECONDS, BaseSlackAuditLogsOperator, TaskKilled
from airflow_provider_slack_audit.operators.reconcile import SlackAuditLogsReconcileOperator
from airflow_provider_slack_audit.operators.slack_audit import (
    SlackAuditLogsOperator,
    SlackAuditLogsToObjectStorageOperator,
)

PAST = 1709251200  # 2024-03-01T00:00:00Z


class Recording(BaseSlackAuditLogsOperator):
    """Records what it was asked to read instead of reading it."""

    def read_window(self, context, window, query):
        self.read = (window, query)
        return "read"


def just_ended(seconds: int = 60) -> tuple[int, int]:
    """A window of ``seconds`` that ended a second ago."""
    latest = int(time.time()) - 1
    return latest - seconds + 1, latest


def test_a_past_window_is_read_at_once_with_the_tasks_filters():
    op = Recording(task_id="t", oldest=PAST, latest=PAST + 59, action="user_login", deferrable=True)
    started = time.monotonic()
    assert op.execute({}) == "read"
    assert time.monotonic() - started < 2
    window, query = op.read
    assert (window.oldest, window.latest) == (PAST, PAST + 59)
    assert (query.oldest, query.latest, list(query.action)) == (PAST, PAST + 59, ["user_login"])


def test_a_resumed_task_reads_the_window_it_deferred_on_not_the_one_now_resolves_to():
    op = Recording(task_id="t", oldest=PAST, latest=PAST + 59, actor="W1")
    assert op.execute_settled({}, event=None, window=[PAST + 3600, PAST + 3659]) == "read"
    window, query = op.read
    assert (window.oldest, window.latest) == (PAST + 3600, PAST + 3659)
    assert (query.oldest, query.latest, query.actor) == (PAST + 3600, PAST + 3659, "W1")


def test_a_window_that_has_not_ended_fails_before_any_wait():
    latest = int(time.time()) + 3600
    op = Recording(task_id="t", oldest=latest - 59, latest=latest, deferrable=True)
    with pytest.raises(AirflowFailException, match="has not ended yet"):
        op.execute({})
    assert not hasattr(op, "read")


def test_a_short_wait_stays_in_the_worker_even_when_deferrable():
    oldest, latest = just_ended()
    settle = MIN_DEFER_SECONDS - 3  # about 2 s to wait: less than a deferral is worth
    op = Recording(task_id="t", oldest=oldest, latest=latest, settle_seconds=settle, deferrable=True)
    op.execute({})
    assert time.time() >= latest + 1 + settle


@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: Recording(task_id="t", **kw),
        lambda **kw: SlackAuditLogsOperator(task_id="xcom", **kw),
        lambda **kw: SlackAuditLogsToObjectStorageOperator(task_id="export", path="file:///tmp/unused.jsonl", **kw),
    ],
    ids=["base", "xcom", "object_storage"],
)
def test_on_kill_ends_the_settle_wait_in_the_worker_and_nothing_is_read(make, slack_audit_emulator, monkeypatch):
    """(tests/e2e/test_kill.py shows Airflow's SIGTERM handler reaching on_kill in a real task.)"""
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_AUDIT_DEFAULT", slack_audit_emulator.airflow_conn_json())
    oldest, latest = just_ended()
    op = make(oldest=oldest, latest=latest, settle_seconds=60, deferrable=False)
    threading.Timer(0.2, op.on_kill).start()
    started = time.monotonic()
    with pytest.raises(TaskKilled, match="while waiting for"):
        op.execute({})
    assert time.monotonic() - started < 10
    assert not hasattr(op, "read")
    assert slack_audit_emulator.requests == []  # nothing was read


@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: SlackAuditLogsOperator(task_id="xcom", **kw),
        lambda **kw: SlackAuditLogsToObjectStorageOperator(task_id="export", path="file:///tmp/unused.jsonl", **kw),
    ],
    ids=["xcom", "object_storage"],
)
def test_every_operator_defers_its_settle_wait_to_the_exact_moment(make):
    oldest, latest = just_ended()
    with pytest.raises(TaskDeferred) as deferred:
        make(oldest=oldest, latest=latest, settle_seconds=120, deferrable=True).execute({})
    assert deferred.value.trigger.moment == datetime.fromtimestamp(latest + 1 + 120, tz=timezone.utc)
    assert deferred.value.method_name == "execute_settled"
    assert deferred.value.kwargs == {"window": [oldest, latest]}


def exported_object(tmp_path) -> str:
    """An exported object without a manifest (so the reconciliation takes the task's own window)."""
    (tmp_path / "audit.jsonl").write_bytes(b'{"id": "a", "date_create": 1709251200}\n')
    return f"file://{tmp_path}/audit.jsonl"


def test_the_reconciliation_defers_its_settle_wait_like_the_export(tmp_path):
    oldest, latest = just_ended()
    op = SlackAuditLogsReconcileOperator(
        task_id="reconcile", path=exported_object(tmp_path), oldest=oldest, latest=latest, deferrable=True
    )
    started = time.monotonic()
    with pytest.raises(TaskDeferred) as deferred:
        op.execute({})
    assert time.monotonic() - started < 10  # it did not wait in the worker first
    assert deferred.value.trigger.moment == datetime.fromtimestamp(latest + 1 + op.settle_seconds, tz=timezone.utc)
    assert deferred.value.method_name == "execute_settled"
    # the object found has no manifest: the resumed run must find none either
    assert deferred.value.kwargs == {"window": [oldest, latest], "manifest_sha256": None}


def test_the_reconciliation_fails_on_a_missing_object_before_deferring(tmp_path):
    oldest, latest = just_ended()
    op = SlackAuditLogsReconcileOperator(
        task_id="reconcile", path=f"file://{tmp_path}/none.jsonl", oldest=oldest, latest=latest, deferrable=True
    )
    with pytest.raises(AirflowFailException, match="does not exist"):
        op.execute({})


def test_a_resumed_reconciliation_finds_the_object_again_and_reads_the_deferred_window(tmp_path, monkeypatch):
    path = exported_object(tmp_path)
    seen = {}

    def reconcile(self, context, target, manifest, window, query):
        seen.update(url=target.url, manifest=manifest, window=(window.oldest, window.latest), query=query)
        return {"path": target.url}

    monkeypatch.setattr(SlackAuditLogsReconcileOperator, "_reconcile", reconcile)
    op = SlackAuditLogsReconcileOperator(task_id="reconcile", path=path, oldest=PAST, latest=PAST + 59)
    assert op.execute_settled({}, event=None, window=[PAST, PAST + 59]) == {"path": path}
    assert (seen["url"], seen["manifest"], seen["window"]) == (path, None, (PAST, PAST + 59))
    assert (seen["query"].oldest, seen["query"].latest) == (PAST, PAST + 59)


def test_on_kill_aborts_the_tasks_writer_and_a_writer_opened_after_a_kill_is_aborted(tmp_path):
    op = Recording(task_id="t")
    target = resolve_target(f"file://{tmp_path}/out.jsonl", None)
    writer = op.open_writer(target, overwrite=True, gzip=False)
    assert op._writer is writer
    op.on_kill()
    assert writer.aborted
    assert op.open_writer(target, overwrite=True, gzip=False).aborted
    assert list(tmp_path.iterdir()) == []


class FakeWalk(Recording):
    """A walk over fixed raw pages, that notes when it is closed."""

    def __init__(self, *, pages, **kwargs):
        super().__init__(**kwargs)
        self.pages = pages
        self.closed = False

    def iter_pages(self, window, query, *, raw_entries=False):
        assert raw_entries
        try:
            for page in self.pages:
                yield SimpleNamespace(entries=page)
        finally:
            self.closed = True


def raw(*events: tuple[str, object]) -> RawPage:
    return RawPage([f'{{"id":"{i}"}}'.encode() for i, _ in events], [i for i, _ in events], [s for _, s in events])


def test_the_window_read_leaves_out_events_dated_outside_the_window_and_counts_them():
    pages = [raw(("a", PAST), ("b", PAST + 59)), raw(("c", PAST - 1), ("d", None), ("e", PAST + 60)), raw()]
    op = FakeWalk(pages=pages, task_id="t", oldest=PAST, latest=PAST + 59)
    window, query = op.resolve_query({})
    read = op.read_in_window(window, query)
    assert [page.ids for page in read] == [["a", "b"], ["d"], []]  # one without date_create is kept
    assert read.outside == 2
    assert read.progress.pages == 3
    assert read.progress.events == 3
    assert op.closed
    read.finish()


def test_the_window_read_closes_the_walk_when_its_reader_stops_early():
    op = FakeWalk(pages=[raw(("a", PAST)), raw(("b", PAST))], task_id="t", oldest=PAST, latest=PAST + 59)
    window, query = op.resolve_query({})
    pages = iter(op.read_in_window(window, query))
    next(pages)
    pages.close()
    assert op.closed
