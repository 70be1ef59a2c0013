"""The export writes exactly its window's events, each once, in the bytes Slack sent (real DAG runs).

Expected bytes come from the emulator's own renderer (the entries it serves, as text), not from
anything the export uses; faults make Slack repeat entries, cut a body and reject a cursor.
"""

from __future__ import annotations

import gzip
import zlib
from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsToObjectStorageOperator
from tests.fixtures.dag_runs import hourly_dag, run_dag, state_name
from tests.fixtures.s3 import AWS_CONN_ID

pytestmark = [pytest.mark.airflow, pytest.mark.e2e]

H0 = datetime(2024, 3, 2, 0, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
KEY = "{{ data_interval_start.int_timestamp }}-{{ data_interval_end.int_timestamp - 1 }}.jsonl"


@pytest.fixture
def slack_conn(slack_audit_emulator, monkeypatch):
    conn = slack_audit_emulator.airflow_conn_json(extra={"max_retries": 3, "max_retry_wait": 0.05})
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_AUDIT_DEFAULT", conn)
    return slack_audit_emulator



def gzip_members(data: bytes) -> int:
    count = 0
    while data:
        d = zlib.decompressobj(31)
        d.decompress(data)
        assert d.eof
        data = d.unused_data
        count += 1
    return count


@pytest.mark.parametrize("suffix", [".gz", ""], ids=["gzip", "plain"])
@pytest.mark.parametrize("store", ["file", "s3"])
def test_the_file_is_the_window_as_slack_sent_it_each_event_once(
    airflow_db, slack_conn, s3_server, tmp_path, store, suffix
):
    emu = slack_conn
    emu.faults.add("cut_body", on_call=2)  # a 200 cut half-way: retried
    emu.faults.add("reject_cursor", on_call=3)  # a cursor refused mid-walk: restarted at the oldest second
    emu.faults.add("duplicate_entries", count=None, duplicates=7)  # every other page repeats entries
    if store == "file":
        path, conn_id = f"file://{tmp_path}/{KEY}{suffix}", None
    else:
        path, conn_id = f"s3://{s3_server.bucket}/slack/{KEY}{suffix}", AWS_CONN_ID
    with hourly_dag(f"e2e_bytes_{store}_{suffix.strip('.') or 'plain'}", H0) as dag:
        SlackAuditLogsToObjectStorageOperator(task_id="export", path=path, conn_id=conn_id, page_size=100)
    dag_run, _ = run_dag(dag, H0 + HOUR)
    assert state_name(dag_run.state) == "success"

    oldest = int(H0.timestamp())
    name = f"{oldest}-{oldest + 3599}.jsonl{suffix}"
    data = (tmp_path / name).read_bytes() if store == "file" else s3_server.read(f"slack/{name}")
    expected = emu.jsonl(oldest, oldest + 3599)
    assert expected.count(b"\n") > 300  # several pages of 100
    if suffix:
        assert gzip.decompress(data) == expected
        assert data[3] == 0  # no file name in any header: the same events give the same object
    else:
        assert data == expected
    stats = emu.stats
    assert stats.faults.get("duplicate_entries", 0) > 1
    assert stats.faults.get("cut_body") == 1
    assert stats.faults.get("reject_cursor") == 1


def test_a_window_larger_than_a_member_is_one_gzip_file_of_several_members(airflow_db, slack_conn, tmp_path):
    emu = slack_conn
    oldest = int(H0.timestamp())
    latest = oldest + 24 * 3600 - 1
    expected = emu.jsonl(oldest, latest)
    assert len(expected) > 2 << 20, "the window must span more than two 1 MiB members"
    op = SlackAuditLogsToObjectStorageOperator(
        task_id="export", path=f"file://{tmp_path}/one-day.jsonl.gz", oldest=oldest, latest=latest, settle_seconds=0
    )
    summary = op.execute({})
    data = (tmp_path / "one-day.jsonl.gz").read_bytes()
    assert gzip_members(data) == -(-len(expected) // (1 << 20))
    assert gzip.decompress(data) == expected
    with gzip.open(tmp_path / "one-day.jsonl.gz", "rb") as f:
        assert f.read() == expected
    assert summary["events"] == expected.count(b"\n")
    assert summary["bytes"] == len(data)
