#!/usr/bin/env python3
"""Run CI's command N times, each on a fresh clone, and report every failure by its test id.

Usage: python3 scripts/repeat_ci.py [-n 5] [--rev HEAD] [--stop-on-failure] [--keep]

Each run clones the committed ``--rev`` of this repository into a new temporary folder (nothing
uncommitted, no virtualenv, no Airflow home: what CI starts from), runs ``.ci/run`` there with
``CI=true`` and keeps its whole output in ``out/repeat-ci/<start time>/run-<i>.log``. At the end it
prints, run by run, the exit status, the wall time, the summary ``scripts/test.py`` printed and the id
of each test that failed or errored; the exit status is non-zero when any run failed.

A flaky test shows up here as a failure in some runs and not others: fix it at its cause. This is
for a developer to run before calling CI reliable; it is not part of CI (five runs take over an hour).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: pytest's short summary lines, ``FAILED tests/x.py::test_y - AssertionError ...``.
FAILURE = re.compile(r"^(FAILED|ERROR) (\S+)", re.MULTILINE)
#: What ``scripts/test.py`` prints under ``=== summary``.
SUMMARY = re.compile(r"^=== summary\n(.*)", re.MULTILINE | re.DOTALL)


@dataclass
class RunResult:
    """One fresh-clone run of ``.ci/run``."""

    number: int
    returncode: int
    seconds: float
    log: Path
    summary: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def describe(self) -> str:
        verdict = "passed" if self.ok else f"FAILED (exit {self.returncode})"
        lines = [f"run {self.number}: {verdict} in {self.seconds:.0f} s", *(f"    {line}" for line in self.summary)]
        lines += [f"    failed: {test}" for test in self.failures]
        lines.append(f"    log: {self.log}")
        return "\n".join(lines)


def parse(output: str) -> tuple[list[str], list[str]]:
    """The summary lines and the failing test ids (``FAILED``/``ERROR`` lines, each id once) of one run."""
    found = SUMMARY.search(output)
    summary = [line for line in found.group(1).splitlines() if line.strip()] if found else []
    failures = list(dict.fromkeys(f"{kind} {test}" for kind, test in FAILURE.findall(output)))
    return summary, failures


def run_once(number: int, rev: str, logs: Path, keep: bool) -> RunResult:
    """Clone ``rev`` into a new folder, run ``.ci/run`` there and return what it did."""
    clone = Path(tempfile.mkdtemp(prefix=f"repeat-ci-{number}-"))
    log = logs / f"run-{number}.log"
    try:
        subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], check=True)
        subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", rev], check=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env["CI"] = "true"
        print(f"run {number}: .ci/run in {clone} (output: {log})", flush=True)
        started = time.monotonic()
        with open(log, "wb") as out:
            proc = subprocess.run(["bash", ".ci/run"], cwd=clone, env=env, stdout=out, stderr=subprocess.STDOUT)
        seconds = time.monotonic() - started
    finally:
        if not keep:
            shutil.rmtree(clone, ignore_errors=True)
    summary, failures = parse(log.read_text(errors="replace"))
    result = RunResult(number, proc.returncode, seconds, log, summary, failures)
    print(result.describe(), flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run .ci/run N times on fresh clones; report failures by test id.")
    parser.add_argument("-n", "--runs", type=int, default=5, help="how many runs (default 5)")
    parser.add_argument("--rev", default="HEAD", help="the commit to test (default HEAD; committed work only)")
    parser.add_argument("--stop-on-failure", action="store_true", help="stop after the first failed run")
    parser.add_argument("--keep", action="store_true", help="keep each clone (and its virtualenvs) afterwards")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, not {args.runs}")
    rev = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", f"{args.rev}^{{commit}}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if rev.returncode != 0:
        parser.error(f"--rev {args.rev!r} is not a commit of this repository")
    commit = rev.stdout.strip()
    logs = ROOT / "out" / "repeat-ci" / time.strftime("%Y%m%dT%H%M%S")
    logs.mkdir(parents=True, exist_ok=True)
    print(f"testing {commit} with .ci/run, {args.runs} fresh clone(s); logs in {logs}", flush=True)
    results = []
    for number in range(1, args.runs + 1):
        results.append(run_once(number, commit, logs, args.keep))
        if args.stop_on_failure and not results[-1].ok:
            break
    passed = sum(r.ok for r in results)
    print(f"\n=== {passed} of {len(results)} run(s) of {commit[:12]} passed")
    for result in results:
        print(result.describe())
    flaky: dict[str, int] = {}
    for result in results:
        for test in result.failures:
            flaky[test] = flaky.get(test, 0) + 1
    for test, times in sorted(flaky.items(), key=lambda kv: -kv[1]):
        print(f"failed in {times} of {len(results)} run(s): {test}")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
