"""Shared pieces of the bench scripts: the emulator in its own process, child runs, medians.

Not part of the test run. Every export runs in a child process (``bench/_export.py``) so that its
peak RSS is its own; the emulator runs in another process so that its memory and CPU are not counted.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
TOKEN = "xoxp-bench-0000-not-a-real-token"
#: 2024-03-05T00:00:00Z: the one-day window every throughput run reads.
DAY0 = 1709596800


@contextmanager
def emulator(*args: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """The emulator CLI in a child process on a free loopback port; yields (process, base URL)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_slack_audit.emulator", "--port", "0", "--token", TOKEN, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    try:
        base_url = proc.stdout.readline().strip() if proc.stdout else ""
        if not base_url:
            raise SystemExit("the emulator did not start")
        time.sleep(2)  # let the CLI's background warm-up finish: measure serving, not start-up
        yield proc, base_url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run_export(
    base_url: str, variant: str, out: Path, oldest: int, latest: int, *, keep: bool = False, **options: Any
) -> dict[str, Any]:
    """Run one export in a fresh child process (``bench/_export.py``); its measurements as a dict.

    The output file is deleted afterwards unless ``keep``; ``options`` become ``--key value`` arguments
    (``--key`` alone for True).
    """
    args = [sys.executable, str(BENCH / "_export.py"), variant, base_url, str(out), str(oldest), str(latest)]
    for key, value in options.items():
        if value is True:
            args.append(f"--{key.replace('_', '-')}")
        elif value is not None and value is not False:
            args += [f"--{key.replace('_', '-')}", str(value)]
    env = {**os.environ, "AIRFLOW_HOME": os.environ.get("AIRFLOW_HOME", str(ROOT / ".airflow-bench"))}
    load = os.getloadavg()[0]
    done = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["load"] = load  # the 1-minute load average as the run started (other work on the machine)
    if not keep:
        out.unlink(missing_ok=True)
    return result


def median_run(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median wall time, with every run's wall times kept as ``walls``."""
    ordered = sorted(runs, key=lambda r: r["wall"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["walls"] = [round(r["wall"], 1) for r in runs]
    chosen["loads"] = [round(r.get("load", 0.0), 1) for r in runs]
    chosen["cpu_median"] = statistics.median(r["cpu"] for r in runs)
    return chosen


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def load_average() -> str:
    """The 1/5/15-minute load averages, to say how busy the machine was."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())
