"""One request budget shared by worker PROCESSES, against an emulator limited org-wide like Slack.

Three worker processes (``budget_worker.py``, each one Airflow worker's export tasks) start at once and
export hourly windows of one org. The emulator allows 180 calls a minute to the whole org (bursts of 2).
Each worker paced on its own at 120 a minute, they add up past the limit: Slack answers 429s, which the
client retries and each export's manifest counts. With one shared budget of 120 a minute (Redis) the
same workers get no 429 at all, and the slots the budget gave out are one interval apart. A store that
goes away in the middle of the walks fails the exports with the typed error: no call goes unpaced.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from reliability_helpers import SUMMARY, ids_in_file

from tests.fixtures.redis import running_redis

WORKER = Path(__file__).with_name("budget_worker.py")
ROOT = Path(__file__).resolve().parents[2]
H0 = int(datetime(2024, 6, 3, tzinfo=timezone.utc).timestamp())
#: The org's limit at the emulator, and each budget below it (headroom, as the docs advise).
ORG_LIMIT_PER_MINUTE = 180
BUDGET_PER_MINUTE = 120
WORKERS = 3


def hours(first: int, count: int) -> list[list[int]]:
    return [[H0 + 3600 * h, H0 + 3600 * h + 3599] for h in range(first, first + count)]


def start_workers(emu: Any, extra: dict[str, Any], root: Path, windows: list[list[list[int]]], **spec: Any):
    """Start one process per list of windows (same connection), each waiting for the go."""
    conn_id = "slack_audit_budget_worker"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    env[f"AIRFLOW_CONN_{conn_id.upper()}"] = emu.airflow_conn_json(extra=extra)
    procs = []
    for number, own in enumerate(windows):
        worker_spec = {"conn_id": conn_id, "root": str(root / f"worker-{number}"), "windows": own, **spec}
        procs.append(
            subprocess.Popen(
                [sys.executable, str(WORKER), json.dumps(worker_spec)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                cwd=ROOT,
            )
        )
    for proc in procs:  # everything imported and built: what is left is the walks
        for line in proc.stdout:
            if line.strip() == "ready":
                break
        else:
            raise AssertionError(f"a worker ended before it was ready:\n{proc.stderr.read()}")
    return procs


def go(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()


def reports(procs: list[subprocess.Popen]) -> list[dict[str, Any]]:
    """Each worker's JSON report (its last line), once it ended."""
    found = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-3000:]
        found.append(json.loads([line for line in out.splitlines() if line.startswith("{")][-1]))
    return found


def manifests_and_check_files(emu: Any, root: Path, windows: list[list[list[int]]]) -> list[dict[str, Any]]:
    """Every window's manifest, once its file holds exactly the window's events."""
    found = []
    for number, own in enumerate(windows):
        for oldest, latest in own:
            path = root / f"worker-{number}" / str(oldest) / "audit.jsonl"
            assert ids_in_file(path) == [e["id"] for e in emu.events(oldest, latest)], path
            found.append(json.loads(path.with_name("audit.jsonl.manifest.json").read_text()))
    return found


@pytest.fixture
def org(slack_audit_emulator_factory):
    """One org whose limit is shared by every reader (the emulator's limit is org-wide), small and strict."""
    return slack_audit_emulator_factory(rate_limit=ORG_LIMIT_PER_MINUTE, rate_limit_burst=2)


def test_workers_pacing_themselves_get_429s_which_are_retried_and_counted_in_the_manifests(org, tmp_path):
    windows = [hours(5 * n, 5) for n in range(WORKERS)]
    procs = start_workers(org, {"requests_per_minute": BUDGET_PER_MINUTE}, tmp_path, windows)
    go(procs)
    for report in reports(procs):
        assert all("error" not in r for r in report["results"]), report
        assert report["slots"] == []  # no shared budget: each process paced itself
    manifests = manifests_and_check_files(org, tmp_path, windows)
    refused = [r for r in org.all_requests if r.status == 429]
    assert refused, "per-process pacers added up past the org's limit, yet no 429 came: the test proves nothing"
    # Every 429 was retried (each export is exact) and counted in the manifest of the export it hit.
    assert sum(m["rate_limited"] for m in manifests) == len(refused)
    assert sum(m["calls"] for m in manifests) == len(org.all_requests)
    SUMMARY.add_line(f"shared budget: per-process pacers calls={len(org.all_requests)} 429s={len(refused)}")


def test_workers_sharing_one_budget_get_no_429_and_calls_are_spaced_as_it_says(org, redis_server, tmp_path):
    windows = [hours(5 * n, 5) for n in range(WORKERS)]
    extra = {"requests_per_minute": BUDGET_PER_MINUTE, "rate_limit_storage_uri": redis_server.url()}
    procs = start_workers(org, extra, tmp_path, windows)
    began = time.monotonic()
    go(procs)
    found = reports(procs)
    took = time.monotonic() - began
    for report in found:
        assert all("error" not in r for r in report["results"]), report
    manifests = manifests_and_check_files(org, tmp_path, windows)
    assert [r for r in org.all_requests if r.status == 429] == []
    assert [m["rate_limited"] for m in manifests] == [0] * len(manifests)
    # Every call the org saw had its slot in the budget, and the slots are one interval apart (server clock).
    slots = sorted(slot for report in found for slot in report["slots"])
    assert len(slots) == len(org.all_requests) == sum(m["calls"] for m in manifests)
    interval = 60 / BUDGET_PER_MINUTE
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert min(gaps) >= interval - 1e-6
    SUMMARY.add_line(
        f"shared budget: {WORKERS} processes calls={len(slots)} 429s=0 wall={took:.1f}s "
        f"calls/budget={len(slots) * interval:.1f}s"
    )


def test_a_store_that_goes_away_mid_walk_fails_the_exports_and_no_call_goes_unpaced(org, tmp_path):
    windows = [hours(5 * n, 3) for n in range(WORKERS)]
    with running_redis() as server:
        extra = {"requests_per_minute": BUDGET_PER_MINUTE, "rate_limit_storage_uri": server.url()}
        procs = start_workers(org, extra, tmp_path, windows, page_size=250)  # ~4 pages an hour: a walk of calls
        go(procs)
        deadline = time.monotonic() + 120
        while len(org.all_requests) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.kill()
        found = reports(procs)
    errors = [r["error"] for report in found for r in report["results"] if "error" in r]
    assert errors, "the store went away, yet every export succeeded"
    for chain in errors:
        assert "SlackAuditLogsBudgetStoreError" in {link["type"] for link in chain}, chain
        text = json.dumps(chain)
        assert "could not be reached to book a slot" in text
    # Each failed window left nothing at its target; each finished one is exact.
    for number, own in enumerate(windows):
        for (oldest, latest), result in zip(own, found[number]["results"], strict=True):
            path = tmp_path / f"worker-{number}" / str(oldest) / "audit.jsonl"
            if "error" in result:
                assert not path.exists()
            else:
                assert ids_in_file(path) == [e["id"] for e in org.events(oldest, latest)]
    # No call went unpaced: every call the org saw had booked its slot before the store went away.
    assert len(org.all_requests) == sum(len(report["slots"]) for report in found)


def test_a_429_that_still_comes_under_the_budget_is_retried_and_counted_in_the_manifest(
    slack_audit_emulator, redis_server, export_runner
):
    """Another app's burst: Slack answers 429 although the budget was kept; the export retries and says so."""
    extra = {"requests_per_minute": 600, "rate_limit_storage_uri": redis_server.url(), "rate_limit_key": "E_429"}
    runner = export_runner(slack_audit_emulator, **extra)
    slack_audit_emulator.faults.add("rate_limit_burst", retry_after=1)
    oldest, latest = hours(0, 1)[0]
    result = runner.run(oldest, latest)
    assert result.ok, result.error
    assert result.faults == 1
    assert result.written_ids() == result.expected
    manifest = json.loads(result.path.with_name("audit.jsonl.manifest.json").read_text())
    assert (manifest["rate_limited"], manifest["retries"], manifest["calls"]) == (1, 1, 2)
