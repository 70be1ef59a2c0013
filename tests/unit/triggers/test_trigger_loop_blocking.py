"""Both triggers' first poll in a fresh triggerer-like process: no first-use work of ours on the event loop.

The triggerer runs every trigger on one shared event loop and warns when a step holds it for more
than 0.2 s. What only the first trigger of a process pays (imports, the TLS trust store) is what it
hits, so each case runs in a new interpreter that has loaded the triggerer's runner module, imports
the trigger class by its classpath (as the triggerer does, on the loop), then runs ``run()`` against
the emulator until its first event. The probe records every module imported on the loop thread
during ``run()`` and the loop's longest stall outside cyclic-GC passes (a full pass over the
process's objects takes 0.1-0.2 s here whoever triggers it, and it holds the GIL: no worker thread
avoids it, so it is reported, not asserted).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fixtures.dag_runs import AIRFLOW_3

ROOT = Path(__file__).resolve().parents[3]
#: The longest the loop may be held by one step of a first poll, GC passes aside (the triggerer warns at 0.2 s).
MAX_STALL = 0.1

PROBE = r"""
import asyncio, gc, importlib, json, sys, threading, time

classpath, kwargs = sys.argv[1], json.loads(sys.argv[2])
import airflow.jobs.triggerer_job_runner  # what the triggerer's trigger runner has loaded

loop_thread = threading.get_ident()
armed = False
imported = []


class Recorder:  # sees every module loaded for the first time, by `import` or importlib alike
    @staticmethod
    def find_spec(name, path=None, target=None):
        if armed and threading.get_ident() == loop_thread and name not in sys.modules:
            imported.append(name)
        return None


sys.meta_path.insert(0, Recorder)
gc_passes = []


def on_gc(phase, info):
    if phase == "start":
        gc_passes.append([time.perf_counter(), None])
    elif gc_passes and gc_passes[-1][1] is None:
        gc_passes[-1][1] = time.perf_counter()


gc.callbacks.append(on_gc)


async def main():
    global armed
    gaps = []

    async def watchdog():
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            gaps.append((before, time.perf_counter()))

    dog = asyncio.create_task(watchdog())
    await asyncio.sleep(0.01)
    module, _, name = classpath.rpartition(".")
    started = time.perf_counter()
    trigger_class = getattr(importlib.import_module(module), name)
    class_import = time.perf_counter() - started
    await asyncio.sleep(0)
    now = int(time.time())
    trigger = trigger_class(**{k: (now + v if k in ("start", "oldest", "latest") else v) for k, v in kwargs.items()})
    armed = True
    events = trigger.run()
    event = await asyncio.wait_for(events.__anext__(), 30)
    armed = False
    await events.aclose()
    dog.cancel()

    def outside_gc(a, b):
        held = b - a
        for start, stop in gc_passes:
            stop = stop or b
            held -= max(0.0, min(b, stop) - max(a, start))
        return held

    stalls = sorted(((b - a, outside_gc(a, b)) for a, b in gaps), key=lambda s: s[1], reverse=True)
    print(json.dumps({
        "imported_on_loop": [name for name in imported if name in sys.modules],  # not failed attempts
        "class_import": class_import,
        "longest_stall": max(s[0] for s in stalls),
        "longest_stall_outside_gc": stalls[0][1],
        "gc_passes": [round(b - a, 4) for a, b in gc_passes if b and b - a > 0.01],
        "count": event.payload.get("count"),
    }))


asyncio.run(main())
"""

CASES = {
    "event_trigger": (
        "airflow_provider_slack_audit.triggers.slack_audit.SlackAuditLogsEventTrigger",
        {"action": ["user_login"], "poll_interval": 60.0, "lookback_seconds": 60, "start": -30},
    ),
    "sensor_trigger": (
        "airflow_provider_slack_audit.triggers.slack_audit.SlackAuditLogsTrigger",
        {"oldest": -1800, "latest": 0, "action": ["user_login"]},
    ),
}


def _airflow_lookup(module: str) -> bool:
    """Imports Airflow itself makes inside ``BaseHook.aget_connection`` (its connection lookup): not ours."""
    return module.startswith("airflow.") or module == "asgiref" or module.startswith("asgiref.")


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_first_poll_in_a_fresh_triggerer_imports_nothing_of_ours_on_the_loop(case, slack_audit_emulator_factory):
    if case == "event_trigger" and not AIRFLOW_3:
        pytest.skip("asset watchers (BaseEventTrigger) need Airflow 3")
    now = int(time.time())
    emulator = slack_audit_emulator_factory(start=now - 3600, end="now", events_per_hour=36_000)
    classpath, kwargs = CASES[case]
    env = {**__import__("os").environ, "AIRFLOW_CONN_SLACK_AUDIT_DEFAULT": emulator.airflow_conn_json()}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, classpath, json.dumps(kwargs)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    print(case, json.dumps(probe))  # the figures, for `pytest -s`

    assert probe["count"] >= 1, "the first poll found no event: the probe measured nothing"
    ours = [m for m in probe["imported_on_loop"] if not _airflow_lookup(m)]
    assert ours == [], f"modules first imported on the event loop during the first poll: {ours}"
    assert probe["longest_stall_outside_gc"] < MAX_STALL, probe
