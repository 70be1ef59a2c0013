"""A long backfill: 30 days of hourly windows (720 task runs) through the object storage operator's
``execute()``, against an emulator whose rate limit is on. Every expected event lands in exactly one
file, in order; the figures (calls, 429s, time) go to the summary line ``backfill: ...``.

The limit is scaled up from Slack's 50 calls a minute to 3,000 with a burst of 2, so the backfill takes
seconds while back-to-back calls still meet 429s and wait out ``Retry-After`` (capped by the
connection's ``max_retry_wait``).
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter

import pytest
from reliability_helpers import SUMMARY, ids_in_file, interval_context

from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsToObjectStorageOperator

pytestmark = pytest.mark.airflow

START = 1706745600  # 2024-02-01T00:00:00Z
HOURS = 30 * 24
PAGE_SIZE = 20  # most hours take two or three calls, so calls come back to back


def test_thirty_days_of_hourly_windows_hold_every_event_exactly_once(
    slack_audit_emulator_factory, monkeypatch, tmp_path
):
    emu = slack_audit_emulator_factory(
        start=START,
        end=START + HOURS * 3600 - 1,
        events_per_hour=20,
        bursts_per_hour=0.05,
        rate_limit=3000,
        rate_limit_burst=2,
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_AUDIT_BACKFILL", emu.airflow_conn_json(extra={"max_retries": 8, "max_retry_wait": 0.02})
    )
    client_retries = 0
    started = time.perf_counter()
    for hour in range(HOURS):
        oldest = START + hour * 3600
        operator = SlackAuditLogsToObjectStorageOperator(
            task_id="backfill",
            slack_audit_conn_id="slack_audit_backfill",
            path=f"file://{tmp_path}/{oldest}.jsonl",
            page_size=PAGE_SIZE,
        )
        summary = operator.execute(interval_context(oldest, oldest + 3599))
        assert (summary["oldest"], summary["latest"]) == (oldest, oldest + 3599)
        # The walk's own client counted the retries and its manifest records them (the operator closes
        # the hook when the walk ends, so operator.hook is a fresh client by now).
        client_retries += json.loads((tmp_path / f"{oldest}.jsonl.manifest.json").read_bytes())["retries"]
    elapsed = time.perf_counter() - started
    stats = emu.stats

    # Newest window first, each file newest first: together exactly the 30 days' events, in order.
    files = [tmp_path / f"{START + hour * 3600}.jsonl" for hour in reversed(range(HOURS))]
    written = list(itertools.chain.from_iterable(ids_in_file(f) for f in files))
    expected = [e["id"] for e in emu.events(START, START + HOURS * 3600 - 1)]
    repeated = sum(n - 1 for n in Counter(written).values() if n > 1)
    lost = len(set(expected) - set(written))
    SUMMARY.add_line(
        f"backfill: windows={HOURS} events={len(written)} expected={len(expected)} lost={lost} "
        f"duplicated={repeated} calls={stats['logs']} 429s={stats.rate_limited} retries={client_retries} "
        f"time={elapsed:.1f}s"
    )
    assert lost == 0
    assert repeated == 0
    assert written == expected
    names = sorted(p.name for p in tmp_path.iterdir())  # one file and its manifest per window, nothing partial
    objects = [n for n in names if n.endswith(".jsonl")]
    assert len(objects) == HOURS
    assert [n for n in names if n not in objects] == [n + ".manifest.json" for n in objects]
    assert stats.responses.get(200, 0) + stats.rate_limited == stats["logs"]
