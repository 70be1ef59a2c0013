"""An export writes what Slack sent even where msgspec refuses it, and names an event it cannot write once.

Issue 24 item 5: one event with a lone surrogate escape (``"\\ud83d"``, half an emoji) used to make its
window impossible to export (UnicodeEncodeError on every try). The emulator serves such events
(fault ``lone_surrogate``); the object must hold the bytes the server sent. An event without an id
(fault ``entry_without_id``) fails the export with a typed error naming it, after one call, and
leaves nothing at the path.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone

import pytest
import requests
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_slack_audit.client import SlackAuditLogsEntryError
from airflow_provider_slack_audit.emulator.faults import with_lone_surrogate
from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsToObjectStorageOperator

pytestmark = [pytest.mark.airflow, pytest.mark.e2e]

OLDEST = int(datetime(2024, 3, 2, tzinfo=timezone.utc).timestamp())
LATEST = OLDEST + 3599


@pytest.fixture
def slack_conn(slack_audit_emulator, monkeypatch):
    conn = slack_audit_emulator.airflow_conn_json(extra={"max_retries": 3, "max_retry_wait": 0.05})
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_AUDIT_DEFAULT", conn)
    return slack_audit_emulator


def served_entries(emu) -> bytes:
    """The entries of the window exactly as the server sends them now (one page), one per line."""
    answer = requests.get(
        f"{emu.base_url}logs",
        params={"oldest": OLDEST, "latest": LATEST, "limit": 9999},
        headers={"Authorization": f"Bearer {emu.token}"},
        timeout=30,
    )
    body = answer.content
    start, end = body.index(b"[") + 1, body.rindex(b'],"response_metadata"')
    assert json.loads(body)["response_metadata"]["next_cursor"] == ""  # the whole window in one page
    return body[start:end].replace(b"},{", b"}\n{") + b"\n"


@pytest.mark.parametrize("suffix", ["", ".gz"], ids=["plain", "gzip"])
def test_events_with_half_an_emoji_are_written_as_the_bytes_slack_sent(airflow_db, slack_conn, tmp_path, suffix):
    emu = slack_conn
    emu.faults.add("lone_surrogate", count=None)
    sent = served_entries(emu)
    expected = "".join(with_lone_surrogate(line) + "\n" for line in emu.jsonl(OLDEST, LATEST).decode().splitlines())
    assert sent == expected.encode()
    assert sent.count(b'\\ud83d"') > 300  # every event of the hour carries one
    path = tmp_path / f"hour.jsonl{suffix}"
    op = SlackAuditLogsToObjectStorageOperator(
        task_id="export", path=f"file://{path}", oldest=OLDEST, latest=LATEST, page_size=100, settle_seconds=0
    )
    summary = op.execute({})
    data = path.read_bytes()
    assert (gzip.decompress(data) if suffix else data) == sent
    assert summary["events"] == sent.count(b"\n")
    assert all(r.fault == "lone_surrogate" for r in emu.requests)  # every page the export read had them


def test_an_event_without_an_id_fails_the_export_once_with_a_named_error(airflow_db, slack_conn, tmp_path):
    emu = slack_conn
    emu.faults.add("entry_without_id", count=None)
    path = tmp_path / "hour.jsonl"
    op = SlackAuditLogsToObjectStorageOperator(
        task_id="export", path=f"file://{path}", oldest=OLDEST, latest=LATEST, page_size=100, settle_seconds=0
    )
    # final (kind bad_entry): the task fails at once, without spending its retries, with the entry named
    with pytest.raises(AirflowFailException, match=r"page 1, entry 0 \(byte 12 of the body\): no id") as caught:
        op.execute({})
    assert isinstance(caught.value.__cause__, SlackAuditLogsEntryError)
    assert caught.value.__cause__.excerpt.startswith('\'{"date_create":')
    assert len(emu.requests) == 1  # not retried
    assert list(tmp_path.iterdir()) == []  # nothing at the path, no partial file
