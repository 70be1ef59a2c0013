"""The example DAGs in a real Airflow 3 deployment: separate scheduler, DAG processor, triggerer, workers, API.

Everything is checked the way an operator of the deployment sees it: through the REST API (``/api/v2``
with a JWT from ``/auth/token``), the exported files and the component and task logs.
"""

from __future__ import annotations

import calendar
import contextlib
import gzip
import json
import re
import runpy
import time
import urllib.parse
from datetime import datetime

import pytest

from tests.deployment.examples import EXPORT_DAG, SENSOR_DAG, SKIP_ON_AIRFLOW_2, WATCHER_EXAMPLE, WATCHER_START
from tests.deployment.harness import TERMINAL_TI_STATES, DeploymentError, wait_for

pytestmark = [pytest.mark.airflow, pytest.mark.deployment, SKIP_ON_AIRFLOW_2]

HOUR = 3600
BACKFILL_START = calendar.timegm((2024, 3, 1, 0, 0, 0))  # 2024-03-01T00:00:00Z
BACKFILL_HOURS = 3
RISKY_ACTIONS = ["app_installed", "role_change_to_admin", "role_change_to_owner", "role_assigned"]


def window_file(export_root, start: int):
    day, hour = time.strftime("%Y-%m-%d", time.gmtime(start)), time.strftime("%H", time.gmtime(start))
    return export_root / f"dt={day}" / f"hour={hour}" / f"{start}-{start + HOUR - 1}.jsonl.gz"


def partials(export_root) -> list[str]:
    return sorted(str(p.relative_to(export_root)) for p in export_root.rglob("*.partial"))


def test_the_provider_loads_in_every_component(deployment):
    providers = {p["package_name"] for p in deployment.api("GET", "/providers?limit=200")["providers"]}
    assert "airflow-provider-slack-audit" in providers
    assert deployment.api("GET", "/importErrors")["import_errors"] == []


def test_backfill_of_the_export_example_writes_exactly_the_emulators_events(deployment, emulator):
    deployment.unpause(EXPORT_DAG)
    last = BACKFILL_START + (BACKFILL_HOURS - 1) * HOUR
    deployment.airflow(
        "backfill", "create", "--dag-id", EXPORT_DAG,
        "--from-date", time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(BACKFILL_START)),
        "--to-date", time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(last)),
    )  # fmt: skip

    def backfill_runs() -> list[dict]:
        runs = [r for r in deployment.dag_runs(EXPORT_DAG) if r["run_type"] == "backfill"]
        done = [r for r in runs if r["state"] in ("success", "failed")]
        return runs if len(runs) == BACKFILL_HOURS and len(done) == BACKFILL_HOURS else []

    runs = wait_for("the backfill's runs", backfill_runs, timeout=150, interval=1, explain=deployment.log_tails)
    assert [r["state"] for r in runs] == ["success"] * BACKFILL_HOURS, runs
    starts = sorted(calendar.timegm(time.strptime(r["data_interval_start"][:19], "%Y-%m-%dT%H:%M:%S")) for r in runs)
    assert starts == [BACKFILL_START + i * HOUR for i in range(BACKFILL_HOURS)]

    export_root = deployment.export_root
    for start in starts:
        path = window_file(export_root, start)
        ids = [json.loads(line)["id"] for line in gzip.decompress(path.read_bytes()).splitlines()]
        expected = [e["id"] for e in emulator.events(start, start + HOUR - 1)]
        assert ids == expected, f"{path.name}: {len(ids)} events written, the emulator has {len(expected)}"
    assert partials(export_root) == []

    # Each run recorded one asset event whose extra is the export's summary.
    for run in runs:
        query = urllib.parse.urlencode({"source_dag_id": EXPORT_DAG, "source_run_id": run["dag_run_id"]})
        events = deployment.api("GET", f"/assets/events?{query}")["asset_events"]
        assert len(events) == 1, events
        extra = events[0]["extra"]
        start = calendar.timegm(time.strptime(run["data_interval_start"][:19], "%Y-%m-%dT%H:%M:%S"))
        assert extra["events"] == emulator.count(start, start + HOUR - 1)
        assert extra["path"].endswith(window_file(export_root, start).name)


def _risky_hour(emulator, first: int) -> tuple[int, list[dict]]:
    """The first hour from ``first`` with at least one risky action, and its risky events (newest first)."""
    for start in range(first, first + 48 * HOUR, HOUR):
        events = emulator.events(start, start + HOUR - 1, action=RISKY_ACTIONS)
        if events:
            return start, events
    raise AssertionError("the emulator has no risky action in two days")


def test_deferrable_sensor_defers_polls_in_the_triggerer_and_succeeds_when_late_events_arrive(deployment, emulator):
    start, risky = _risky_hour(emulator, calendar.timegm((2024, 3, 4, 10, 0, 0)))
    latest = start + HOUR - 1
    # The hour's events reach "Slack" late: hidden until the test lets them appear.
    emulator.late_events(start, latest, delay=3600)
    deployment.unpause(SENSOR_DAG)
    run_id = f"deployment_sensor_{start}"
    deployment.trigger(SENSOR_DAG, run_id, start, start + HOUR)

    seen: list = []
    deployment.wait_for_ti(SENSOR_DAG, run_id, "wait_for_risky_action", {"deferred"}, timeout=120, seen=seen)

    def window_calls() -> list:
        return [r for r in emulator.all_requests if r.endpoint == "logs" and r.get("oldest") == str(start)]

    # The worker checked once before deferring; further checks of the window come from the triggerer.
    worker_checks = len(window_calls())
    assert worker_checks >= 1
    wait_for("the triggerer to poll the window", lambda: len(window_calls()) > worker_checks + 1, timeout=60)
    assert deployment.ti_state(SENSOR_DAG, run_id, "wait_for_risky_action") == "deferred"

    emulator.reset()  # the late events arrive
    state = deployment.wait_for_ti(
        SENSOR_DAG, run_id, "wait_for_risky_action", TERMINAL_TI_STATES, timeout=90, seen=seen
    )
    assert state == "success", seen
    assert deployment.wait_for_ti(SENSOR_DAG, run_id, "notify", TERMINAL_TI_STATES, timeout=90) == "success"

    quoted = urllib.parse.quote(run_id, safe="")
    xcom = deployment.api(
        "GET", f"/dags/{SENSOR_DAG}/dagRuns/{quoted}/taskInstances/wait_for_risky_action/xcomEntries/return_value"
    )
    value = xcom["value"] if isinstance(xcom["value"], list) else json.loads(xcom["value"])
    assert [e["id"] for e in value] == [e["id"] for e in risky[:50]]
    assert "poll(s) in the triggerer" in deployment.task_logs(run_id)
    # Unpausing made the scheduler start the latest hour too; it is not this test's business.
    deployment.api("PATCH", f"/dags/{SENSOR_DAG}", {"is_paused": True})
    deployment.fail_scheduled_runs(SENSOR_DAG)


def test_no_token_in_any_log(deployment, emulator):
    assert emulator.token not in deployment.component_logs()
    assert emulator.token not in deployment.task_logs()


def start_export_alone(deployment, run_id: str, start: int, end: int, states: set[str]) -> list:
    """Trigger the export example for ``[start, end)`` and wait for its task to reach ``states``.

    The example allows one active run at a time, and unpausing it makes the scheduler start the latest
    hour too: such scheduled runs are marked failed while waiting, so this run is not queued behind them.
    Returns the task states seen.
    """
    deployment.unpause(EXPORT_DAG)
    deployment.trigger(EXPORT_DAG, run_id, start, end)
    seen: list = []

    def reached() -> bool:
        deployment.fail_scheduled_runs(EXPORT_DAG)
        state = deployment.ti_state(EXPORT_DAG, run_id, "export_audit_logs")
        if not seen or seen[-1] != state:
            seen.append(state)
        return state in states

    wait_for(f"{run_id} to reach {sorted(states)}", reached, timeout=120, explain=lambda: f"seen: {seen}")
    return seen


def test_a_running_export_marked_failed_leaves_nothing_behind(deployment, emulator):
    start = calendar.timegm((2024, 3, 2, 6, 0, 0))
    export_root = deployment.export_root
    before = partials(export_root)
    emulator.faults.add("slow", delay=40, count=None)  # Slack takes its time: the export is mid-flight
    try:
        run_id = f"deployment_kill_{start}"
        start_export_alone(deployment, run_id, start, start + HOUR, {"running"})
        # The export is mid-flight: its temporary file is open and Slack has not answered yet.
        wait_for("the export's temporary file", lambda: partials(export_root) != before, timeout=60)
        quoted = urllib.parse.quote(run_id, safe="")
        deployment.api(
            "PATCH",
            f"/dags/{EXPORT_DAG}/dagRuns/{quoted}/taskInstances/export_audit_logs",
            {"new_state": "failed"},
        )
        # Airflow sends SIGTERM to the task, then SIGKILL after a grace period: give it that long to clean up.
        with contextlib.suppress(DeploymentError):
            wait_for("the export's temporary file to go", lambda: partials(export_root) == before, timeout=20)
    finally:
        emulator.faults.clear()
    assert deployment.ti_state(EXPORT_DAG, run_id, "export_audit_logs") == "failed"
    assert not window_file(export_root, start).exists()
    assert partials(export_root) == before


def test_an_on_time_export_waits_in_deferred_not_running(deployment):
    end = int(time.time())
    run_id = f"deployment_on_time_{end}"
    seen = start_export_alone(deployment, run_id, end - HOUR, end, {"running", "deferred", *TERMINAL_TI_STATES})

    def waiting_or_done() -> bool:
        state = deployment.ti_state(EXPORT_DAG, run_id, "export_audit_logs")
        if not seen or seen[-1] != state:
            seen.append(state)
        if state in {"deferred", *TERMINAL_TI_STATES}:
            return True
        # Sleeping through the settle wait in the worker (the operator logs it before it sleeps): no need to watch.
        return state == "running" and "to settle" in deployment.task_logs(run_id)

    try:
        wait_for("the on-time export to defer", waiting_or_done, timeout=90, interval=1, explain=deployment.log_tails)
    finally:
        quoted = urllib.parse.quote(run_id, safe="")
        deployment.api_status("PATCH", f"/dags/{EXPORT_DAG}/dagRuns/{quoted}", {"state": "failed"})
    assert seen[-1] == "deferred", seen


def start_the_watcher(deployment) -> tuple[list[dict], set[str]]:
    """Unpause the DAGs scheduled on the watcher example's asset, as a user does, and wait until Airflow has
    registered its watcher (it does, and starts its trigger, only while such a DAG is active). Returns the
    watched assets and those DAGs' ids; a second call finds them as the first left them."""
    def scheduled_on_watched_asset() -> list:
        assets = deployment.api("GET", "/assets?limit=100")["assets"]
        return [a for a in assets if a["uri"].startswith("slack-audit://risky-actions") and a["scheduled_dags"]]

    candidates = wait_for("the watcher example's asset", scheduled_on_watched_asset, timeout=120, interval=2)
    consumers = {d["dag_id"] for a in candidates for d in a["scheduled_dags"]}
    for dag_id in consumers:
        deployment.unpause(dag_id)
    watched = wait_for(
        "the asset's watcher to be registered",
        lambda: [a for a in deployment.api("GET", "/assets?limit=100")["assets"] if a.get("watchers")],
        timeout=120,
        interval=2,
    )
    assert {a["uri"] for a in watched} == {a["uri"] for a in candidates}, watched
    return watched, consumers


def test_the_watcher_dag_starts_a_run_from_a_new_event(deployment, emulator):
    assert WATCHER_EXAMPLE.exists(), f"{WATCHER_EXAMPLE.name} is missing"
    watched_actions = runpy.run_path(str(WATCHER_EXAMPLE))["RISKY_ACTIONS"]
    assert emulator.events(WATCHER_START, int(time.time()), action=watched_actions), "nothing for the watcher to fire"
    _, consumers = start_the_watcher(deployment)

    def asset_triggered_runs() -> list:
        return [r for d in consumers for r in deployment.dag_runs(d) if r["run_type"] == "asset_triggered"]

    runs = wait_for(
        "the watcher to start a run",
        asset_triggered_runs,
        timeout=150,
        interval=2,
        explain=lambda: deployment.log_tail("triggerer", 60),
    )
    run = runs[0]
    dag_id = run["dag_id"]
    done = wait_for(
        "the asset-triggered run to finish",
        lambda: next((r for r in deployment.dag_runs(dag_id) if r["dag_run_id"] == run["dag_run_id"] and
                      r["state"] in ("success", "failed")), None),
        timeout=120,
    )  # fmt: skip
    assert done["state"] == "success"


def test_a_sigkilled_triggerer_resumes_the_watcher_and_fires_nothing_twice(deployment, emulator):
    """The triggerer dies at once (SIGKILL to its process group, as the OOM killer or a lost node does) and is
    started again: the watcher resumes from the state Airflow saved for it, reading back from where its last
    saved poll ended (not from ``start``, and without a gap), and no event is fired twice."""
    example = runpy.run_path(str(WATCHER_EXAMPLE))
    watched_actions = ",".join(sorted(example["RISKY_ACTIONS"]))
    assets, _ = start_the_watcher(deployment)  # whether or not another test started it before
    asset_id = assets[0]["id"]

    def fired() -> tuple[list[str], float]:
        """The ids of every event the watcher fired, and when it last fired (epoch seconds)."""
        events = deployment.api("GET", f"/assets/events?asset_id={asset_id}&limit=100")["asset_events"]
        ids = [e["id"] for ae in events for e in (ae.get("extra") or {}).get("payload", {}).get("events", [])]
        newest = max((_epoch(ae["timestamp"]) for ae in events), default=0.0)
        return ids, newest

    wait_for("the watcher to fire", lambda: fired()[0], timeout=180, interval=2)
    # Its state is saved 5 s after a poll's events are fired; the next poll comes 60 s after the last.
    wait_for("the watcher's state to be saved", lambda: time.time() > fired()[1] + 10, timeout=60, interval=1)
    before, _ = fired()
    assert len(before) == len(set(before)), "an event was fired twice before the kill"

    killed_at = time.time()
    deployment.kill("triggerer")
    log_from = deployment.restart("triggerer")

    def polls_after_restart() -> list:
        return [
            r for r in emulator.requests
            if r.time > killed_at and r.params.get("action") == watched_actions and r.status == 200
        ]  # fmt: skip

    # Airflow hands the trigger to the new triggerer once the old one's heartbeat is stale (30 s by default).
    polls = wait_for(
        "the restarted triggerer to poll for the watcher",
        polls_after_restart,
        timeout=240,
        interval=2,
        explain=lambda: deployment.log_since("triggerer", log_from)[-4000:],
    )
    assert "Resuming from saved state" in deployment.log_since("triggerer", log_from)
    oldest = int(polls[0].params["oldest"])
    # resumed: not from start (a day back); reaching back lookback_seconds before the saved poll's end, so
    # before the kill: no gap
    assert WATCHER_START + 3600 < oldest <= killed_at - 300 + 1, (oldest, killed_at)
    # That poll is done once the watcher has saved a state that covers it (after yielding what it fired); by
    # then the triggerer has logged every batch it fired since the restart: wait until all of them are stored.
    poll_latest = int(polls[0].params["latest"])
    wait_for(
        "the watcher to save its state after the first poll since the restart",
        lambda: any(covered >= poll_latest for covered in saved_watcher_coverage(deployment)),
        timeout=60,
        interval=1,
        explain=lambda: deployment.log_since("triggerer", log_from)[-4000:],
    )
    logged = sum(map(int, re.findall(r"Firing (\d+) new audit event", deployment.log_since("triggerer", log_from))))

    def all_stored() -> list[str] | None:
        ids = fired()[0]
        return ids if len(ids) >= len(before) + logged else None

    after = wait_for(f"the {logged} event(s) fired since the restart to be stored", all_stored, timeout=60, interval=1)
    twice = sorted({i for i in after if after.count(i) > 1})
    assert not twice, f"fired twice across the restart: {twice}"
    assert set(before) <= set(after)


def saved_watcher_coverage(deployment) -> list[int]:
    """The ``covered`` second of every watcher state saved in the asset state store (read from the database)."""
    covered = []
    for (value,) in deployment.sql("SELECT value FROM asset_state_store"):
        while isinstance(value, str):
            value = json.loads(value)
        if isinstance(value, dict) and isinstance(value.get("covered"), int):
            covered.append(value["covered"])
    return covered


def _epoch(timestamp: str) -> float:
    """Seconds since the epoch of an API timestamp such as ``2026-12-02T04:30:00.123456Z``."""
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
