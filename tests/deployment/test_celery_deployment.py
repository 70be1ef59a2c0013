"""Two Slack orgs at once on a CeleryExecutor deployment, each org's calls drawn from one budget in Redis.

The deployment (``tests/deployment/celery_deployment.py``) runs on PostgreSQL, with Redis as Celery's broker
and result backend and as the request-budget store, the scheduler, the DAG processor, the triggerer, two
Celery workers and (Airflow 3) the API server. Two emulators are the two orgs, each limiting calls org-wide
as Slack does (a 429 with ``Retry-After`` beyond the limit). Every connection of an org names the same
``rate_limit_key`` and ``rate_limit_storage_uri``, so every process reading that org (the export tasks on
both workers, the sensor's first check on a worker and its polls in the triggerer, the watcher in the
triggerer) paces itself on one budget.

One scenario runs everything at once (:func:`scenario`): a backfill of a few hours of the many-orgs example
(one export mapped over both orgs' connections), the sensor example in deferrable mode on an hour whose risky
actions reach "Slack" late, and (Airflow 3) the watcher example catching up a day of org A. The tests check
what it left: the files, the emulators' request logs, the metadata database and Celery's results.
"""

from __future__ import annotations

import calendar
import gzip
import json
import runpy
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from airflow_provider_slack_audit.emulator.server import Emulator
from tests.deployment.celery_dags import (
    MANY_ORGS_DAG,
    ORG_CONN_IDS,
    PAGE_SIZE,
    celery_dag_files,
    example_env,
    window_file,
)
from tests.deployment.celery_deployment import WORKERS, CeleryDeployment
from tests.deployment.examples import SENSOR_DAG, WATCHER_EXAMPLE, WATCHER_START
from tests.deployment.harness import wait_for
from tests.fixtures.dag_runs import AIRFLOW_3
from tests.fixtures.redis import RedisServer, running_redis

pytestmark = [pytest.mark.airflow, pytest.mark.deployment]

HOUR = 3600
BACKFILL_START = calendar.timegm((2024, 3, 1, 8, 0, 0))  # busy hours: about nine pages of 250 each
BACKFILL_HOURS = 3
#: Each emulator's org-wide limit, as Slack's (about 50 a minute) but faster, so that the test is short.
ORG_LIMIT_PER_MINUTE = 120
ORG_BURST = 2
#: Each org's budget (``requests_per_minute`` of its connections): below the limit, leaving headroom.
BUDGET_PER_MINUTE = 100
#: How long the risky actions of the sensor's hour stay out of the API: the sensor's first check (on a
#: worker) finds none, it defers, and the triggerer polls until they appear. Long enough for a loaded machine
#: to start the sensor (up to 36 s seen at a load of 14 on 2 cores); about as long as the backfill lasts.
SENSOR_LATE_SECONDS = 55
SENSOR_RISKY_ACTIONS = ["app_installed", "role_change_to_admin", "role_change_to_owner", "role_assigned"]
SENSOR_TASK = "wait_for_risky_action"
WATCHER_CONSUMER_DAG = "slack_audit_risky_action_watcher"
#: Generous bounds for a loaded 2-core machine (the scenario takes one to two minutes), within pytest's
#: timeout of the whole test with its fixtures.
RUNS_TIMEOUT = 150


@dataclass
class Org:
    """One Slack org: its emulator, its budget's key and the connections that read it."""

    name: str
    key: str
    conn_ids: tuple[str, ...]
    emulator: Emulator


@dataclass
class Outcome:
    """What the scenario left, for the tests to check."""

    export_runs: list[dict[str, Any]]
    sensor_run: dict[str, Any]
    sensor_start: int
    sensor_events_visible_at: float
    timings: dict[str, float]
    workers: dict[tuple, str] = field(default_factory=dict)
    watcher_ids: list[str] = field(default_factory=list)
    watcher_run: dict[str, Any] | None = None


@pytest.fixture(scope="module")
def redis_store() -> Iterator[RedisServer]:
    """Redis on loopback: Celery's broker (db 0) and result backend (db 1), the request budgets (db 2)."""
    with running_redis() as server:
        yield server


@pytest.fixture(scope="module")
def orgs() -> Iterator[dict[str, Org]]:
    """Two orgs as two emulators (different data, different tokens), each limited org-wide like Slack."""
    started: dict[str, Org] = {}
    try:
        for seed, name in enumerate(ORG_CONN_IDS, start=1):
            emulator = Emulator(
                seed=seed,
                token=f"xoxp-{name}-{secrets.token_hex(8)}",
                end="now",  # a live stream, for the watcher
                rate_limit=ORG_LIMIT_PER_MINUTE,
                rate_limit_burst=ORG_BURST,
            ).start()
            conn_ids = (ORG_CONN_IDS[name], "slack_audit_default") if name == "org_a" else (ORG_CONN_IDS[name],)
            key = f"E0{name.upper().replace('_', '')}"  # an Enterprise org's id, as Slack spells them
            started[name] = Org(name=name, key=key, conn_ids=conn_ids, emulator=emulator)
        yield started
    finally:
        for org in started.values():
            org.emulator.stop()


def connections(orgs: dict[str, Org], budget_store: str) -> dict[str, str]:
    """``AIRFLOW_CONN_*`` for every connection of every org, all of one org drawing from one budget."""
    env = {}
    for org in orgs.values():
        extra = {
            "requests_per_minute": BUDGET_PER_MINUTE,
            "rate_limit_storage_uri": budget_store,
            "rate_limit_key": org.key,
        }
        for conn_id in org.conn_ids:
            env[f"AIRFLOW_CONN_{conn_id.upper()}"] = org.emulator.airflow_conn_json(extra)
    return env


@pytest.fixture(scope="module")
def celery_deployment(
    airflow_database: Callable[[str], str],
    redis_store: RedisServer,
    orgs: dict[str, Org],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[CeleryDeployment]:
    """The Celery deployment on a new database of the package's PostgreSQL server, its DAGs parsed."""
    root = tmp_path_factory.mktemp("celery-deployment")
    export_root = root / "export"
    deployment = CeleryDeployment(
        root=root,
        dag_files=celery_dag_files(),
        database_url=airflow_database("airflow_celery"),
        migrated=True,
        env={
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            **example_env(export_root),
            **connections(orgs, redis_store.url(2)),
        },
        broker_url=redis_store.url(0),
        result_backend=redis_store.url(1),
    )
    deployment.export_root = export_root  # type: ignore[attr-defined]
    begun = time.monotonic()
    try:
        deployment.start()
        dag_ids = {MANY_ORGS_DAG, SENSOR_DAG} | ({WATCHER_CONSUMER_DAG} if AIRFLOW_3 else set())
        deployment.wait_for_dags_in_db(dag_ids)
        deployment.timings["ready"] = time.monotonic() - begun
        yield deployment
    finally:
        stopping = time.monotonic()
        # Every component but the API server has exited within seconds of SIGTERM; Airflow 3.3's API server
        # takes 15-20 s more after it has logged "Finished server process": nothing to wait for.
        deployment.stop(grace=10)
        deployment.timings["stop"] = time.monotonic() - stopping
        print(f"\ncelery deployment timings (s): { {k: round(v, 1) for k, v in deployment.timings.items()} }")


def risky_hour(emulator: Emulator, first: int) -> int:
    """The first hour from ``first`` with at least one of the sensor's risky actions."""
    for start in range(first, first + 48 * HOUR, HOUR):
        if emulator.events(start, start + HOUR - 1, action=SENSOR_RISKY_ACTIONS):
            return start
    raise AssertionError("the emulator has no risky action in two days")


@pytest.fixture(scope="module")
def scenario(celery_deployment: CeleryDeployment, orgs: dict[str, Org]) -> Outcome:
    """Everything at once, until done: the sensor's hour (first, so that it checks before its events appear),
    the two orgs' backfill and (Airflow 3) the watcher (running since the deployment parsed its DAG)."""
    deployment = celery_deployment
    org_a = orgs["org_a"].emulator
    sensor_start = risky_hour(org_a, calendar.timegm((2024, 3, 4, 10, 0, 0)))
    visible_at = org_a.late_events(sensor_start, sensor_start + HOUR - 1, delay=SENSOR_LATE_SECONDS)
    began = time.monotonic()
    timings = {}
    deployment.backfill(SENSOR_DAG, sensor_start, sensor_start)

    def sensor_queued() -> bool:
        deployment.check_alive()
        states = [t["state"] for t in deployment.task_instances_in_db(SENSOR_DAG) if t["task_id"] == SENSOR_TASK]
        return bool(states) and states[0] not in (None, "scheduled")

    # The backfill starts once the sensor is in Celery's queue, ahead of the exports: it does not wait behind
    # them for a worker slot (it must check before its hour's events appear), and its polls in the triggerer
    # draw from org A's budget while they run.
    wait_for("the sensor to be queued", sensor_queued, timeout=visible_at - time.time(), explain=deployment.log_tails)
    timings["sensor queued"] = time.monotonic() - began
    starts = [BACKFILL_START + i * HOUR for i in range(BACKFILL_HOURS)]
    deployment.backfill(MANY_ORGS_DAG, starts[0], starts[-1])
    export_runs = deployment.wait_for_runs(MANY_ORGS_DAG, starts, timeout=RUNS_TIMEOUT)
    timings["backfill"] = time.monotonic() - began
    (sensor_run,) = deployment.wait_for_runs(SENSOR_DAG, [sensor_start], timeout=RUNS_TIMEOUT)
    timings["sensor"] = time.monotonic() - began
    outcome = Outcome(export_runs, sensor_run, sensor_start, visible_at, timings)
    dag_ids = [MANY_ORGS_DAG, SENSOR_DAG]
    if AIRFLOW_3:
        outcome.watcher_ids, outcome.watcher_run = watch(deployment)
        timings["watcher"] = time.monotonic() - began
        dag_ids.append(WATCHER_CONSUMER_DAG)
    tis = [ti for dag_id in dag_ids for ti in deployment.task_instances_in_db(dag_id) if ti["state"] == "success"]
    outcome.workers = deployment.wait_for_worker_results(tis)
    timings["all"] = time.monotonic() - began
    return outcome


def watch(deployment: CeleryDeployment) -> tuple[list[str], dict[str, Any]]:
    """Wait until the watcher has fired and a run of its consumer DAG has finished; return the ids of every
    event fired so far and that run."""

    def watched_asset_id() -> int | None:
        return next((a["id"] for a in deployment.api("GET", "/assets?limit=100")["assets"] if a.get("watchers")), None)

    asset_id = wait_for("the watcher to be registered", watched_asset_id, timeout=120, interval=1)

    def finished_run() -> dict[str, Any] | None:
        deployment.check_alive()
        runs = deployment.dag_runs_in_db(WATCHER_CONSUMER_DAG)
        return next((r for r in runs if r["state"] in ("success", "failed")), None)

    run = wait_for(
        "a run started by the watcher to finish", finished_run, timeout=RUNS_TIMEOUT, interval=1,
        explain=lambda: deployment.log_tail("triggerer", 60),
    )  # fmt: skip
    events = deployment.api("GET", f"/assets/events?asset_id={asset_id}&limit=100")["asset_events"]
    ids = [e["id"] for ae in events for e in (ae.get("extra") or {}).get("payload", {}).get("events", [])]
    return ids, run


def test_every_window_of_both_orgs_is_exact_and_no_event_is_written_twice(scenario, celery_deployment, orgs):
    assert [r["state"] for r in scenario.export_runs] == ["success"] * BACKFILL_HOURS, scenario.export_runs
    export_root = celery_deployment.export_root
    for org in orgs.values():
        written: list[str] = []
        for run in scenario.export_runs:
            path = window_file(export_root, ORG_CONN_IDS[org.name], run["start"])
            ids = [json.loads(line)["id"] for line in gzip.decompress(path.read_bytes()).splitlines()]
            expected = [e["id"] for e in org.emulator.events(run["start"], run["start"] + HOUR - 1)]
            assert ids == expected, f"{org.name} {path.name}: {len(ids)} written, the emulator has {len(expected)}"
            written += ids
        assert len(written) == len(set(written)), f"{org.name}: an event id written twice"
    assert not list(export_root.rglob("*.partial"))


def test_no_call_of_any_process_was_refused_with_the_shared_budget(scenario, orgs):
    interval = 60 / BUDGET_PER_MINUTE
    times = {name: sorted(r.time for r in org.emulator.all_requests) for name, org in orgs.items()}
    for name, org in orgs.items():
        print(f"\n{name}: {backfill_figures(org.emulator.all_requests)}")
    print(f"scenario timings (s): { {k: round(v, 1) for k, v in scenario.timings.items()} }")
    for name, org in orgs.items():
        assert len(times[name]) > 10, f"{name}: too few calls to say anything about the budget"
        refused = [r for r in org.emulator.all_requests if r.status != 200]
        assert not refused, f"{name}: {len(refused)} call(s) refused, e.g. {refused[:3]}"
        assert org.emulator.stats.rate_limited == 0
        # Loose sanity, not a timing target: no eleven calls of the org, whichever processes made them, came
        # faster than one budget allows (per-process pacers running side by side would).
        tightest = min(b - a for a, b in zip(times[name], times[name][10:], strict=False))
        assert tightest >= 10 * interval - 1.5, f"{name}: 11 calls within {tightest:.1f} s"


def backfill_figures(calls: list) -> str:
    """The org's backfill against its budget: from the export's first call to its last, how many calls the
    org answered (the sensor's and the watcher's too: they draw from the same budget), in how long, and
    how long the budget needs for that many (calls / budget)."""
    exports = [r.time for r in calls if r.get("limit") == str(PAGE_SIZE) and r.get("action") is None]
    first, last = min(exports), max(exports)
    during = [r for r in calls if first <= r.time <= last]
    need = (len(during) - 1) * 60 / BUDGET_PER_MINUTE
    return (
        f"{len(exports)} export calls; {len(during)} calls of the org in the {last - first:.1f} s from the export's "
        f"first to its last; at {BUDGET_PER_MINUTE}/min they need {need:.1f} s (ratio {(last - first) / need:.2f}); "
        f"{len(calls)} calls in all"
    )


def test_the_task_instances_ran_on_both_celery_workers(scenario):
    print(f"\ntask instances run per Celery worker: {dict(Counter(scenario.workers.values()))}")
    assert set(scenario.workers.values()) == set(WORKERS), scenario.workers


def test_the_deferrable_sensor_polled_in_the_triggerer_and_succeeded(scenario, celery_deployment, orgs):
    assert scenario.sensor_run["state"] == "success", scenario.sensor_run
    states = {ti["task_id"]: ti["state"] for ti in celery_deployment.task_instances_in_db(SENSOR_DAG)}
    assert states == {SENSOR_TASK: "success", "notify": "success"}
    checks = [r for r in orgs["org_a"].emulator.requests if r.get("oldest") == str(scenario.sensor_start)]
    assert checks[0].time < scenario.sensor_events_visible_at, (
        f"the sensor first checked its hour after its events had appeared: the deployment took more than "
        f"{SENSOR_LATE_SECONDS} s to start it, so it had nothing to wait for"
    )
    # One check on a worker, then polls in the triggerer until the late events appeared.
    assert len(checks) > 2, checks
    assert "poll(s) in the triggerer" in celery_deployment.task_logs(scenario.sensor_run["run_id"])


@pytest.mark.skipif(not AIRFLOW_3, reason="asset watchers (AssetWatcher, event triggers) are Airflow 3 only")
def test_the_watcher_fired_each_event_of_the_day_once(scenario, orgs):
    assert scenario.watcher_run["state"] == "success", scenario.watcher_run
    fired = scenario.watcher_ids
    assert fired, "the watcher fired nothing"
    assert len(fired) == len(set(fired)), fired
    actions = runpy.run_path(str(WATCHER_EXAMPLE))["RISKY_ACTIONS"]
    # From an hour before its start: the watcher may look back lookback_seconds before where it begins.
    risky = {e["id"] for e in orgs["org_a"].emulator.events(WATCHER_START - HOUR, int(time.time()), action=actions)}
    assert set(fired) <= risky
