#!/usr/bin/env python3
"""Run the whole test suite as CI does: lint, then pytest on every supported Airflow version.

Usage: python3 scripts/test.py [--airflow {all,3,2}] [--serial] [--workers N] [pytest arguments]

With no flags it runs the full matrix that CI runs (the README's test command):

1. ``ruff check`` on the whole tree;
2. the whole suite on the newest Airflow 3.x, in ``.venv``;
3. the whole suite on Airflow 2.11, in ``.venv-airflow2``, built with Python 3.10 when the machine
   has it (on PATH or in pyenv): the oldest Airflow on the oldest Python.

Each run of each version gets a fresh Airflow home (and SQLite database) of its own, under
``.airflow-test/`` or ``.airflow-test-2/``, removed afterwards: a local run starts from the same
empty database as CI's clean clone, and runs made at the same time do not share one.

Each virtualenv is pinned by its ``constraints/airflow-<version>.txt``. The two Airflow versions run
at the same time (one per core, each with its own virtualenv, Airflow home and SQLite database) and
their output is printed one after the other; ``--serial`` runs them one at a time and streams the
output instead. ``--airflow 3`` or ``--airflow 2`` runs one version only. Further arguments (test
paths, ``-k``, ``-x`` ...) go to pytest for every version.

Each version's suite runs in ``--workers`` pytest-xdist processes (3 by default; 0: one process),
a test file at a time each (``--dist loadfile``): much of the suite waits on servers, subprocesses and
clocks, and a worker that waits leaves its core to another. Each worker has an Airflow home and
database of its own (``tests/conftest.py``).

The exit status is non-zero when ruff or any pytest run fails, and also when a pytest run
collects no tests (pytest's exit code 5): a matrix entry that tests nothing has not proved anything.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _venv import AIRFLOW_2, NEWEST_AIRFLOW, ROOT, _bin, _python_version, ensure_venv, find_python

#: pytest's exit code when it collected no tests.
NO_TESTS_COLLECTED = 5


@dataclass(frozen=True)
class Target:
    """One entry of the version matrix: an Airflow release, its virtualenv and its Airflow home."""

    key: str
    airflow: str
    venv: str
    #: The folder that holds this version's Airflow homes, a fresh one per run.
    airflow_home: str
    #: The Python (``"3.10"``) to build the virtualenv with, if the machine has it; None: the one running this.
    python: str | None = None

    @property
    def label(self) -> str:
        return f"Airflow {self.airflow}"


MATRIX: dict[str, Target] = {
    "3": Target("3", NEWEST_AIRFLOW, ".venv", ".airflow-test"),
    "2": Target("2", AIRFLOW_2, ".venv-airflow2", ".airflow-test-2", python="3.10"),
}


@dataclass
class Outcome:
    """What one pytest run did."""

    target: Target
    returncode: int
    seconds: float
    python: str
    counts: dict[str, int] = field(default_factory=dict)
    output: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def describe(self) -> str:
        c = self.counts
        if c:
            passed = c["tests"] - c["failures"] - c["errors"] - c["skipped"]
            counts = f"{passed} passed, {c['failures']} failed, {c['errors']} errors, {c['skipped']} skipped"
        else:
            counts = "no test report"
        verdict = "ok" if self.ok else f"FAILED (pytest exit code {self.returncode})"
        if self.returncode == NO_TESTS_COLLECTED:
            verdict = "FAILED: no tests collected"
        label = f"{self.target.label} (Python {self.python})"
        return f"{label:<32} {counts:<52} {self.seconds:7.1f}s  {verdict}"


def _counts(junit: Path) -> dict[str, int]:
    """Sum the test counts of a JUnit XML report (empty when pytest wrote none)."""
    try:
        root = ET.parse(junit).getroot()  # noqa: S314  (our own pytest's report)
    except (OSError, ET.ParseError):
        return {}
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    keys = ("tests", "failures", "errors", "skipped")
    return {k: sum(int(s.get(k, 0)) for s in suites) for k in keys}


def _env(airflow_home: Path) -> dict[str, str]:
    env = dict(os.environ)
    # Tests own their Airflow home: a SQLite database inside the project, never the user's.
    env["AIRFLOW_HOME"] = str(airflow_home)
    env.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", None)
    env.pop("AIRFLOW_CONFIG", None)
    # The bytecode cache on (CI machines often turn it off): the run's hundreds of processes (pytest workers,
    # Airflow CLIs, deployment components) then read the project's modules, and pytest's assertion-rewritten
    # test modules, compiled once instead of compiling them again each.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _pytest_cmd(python: Path, target: Target, pytest_args: list[str], junit: Path, workers: int) -> list[str]:
    return [
        str(python), "-m", "pytest",
        *(["-n", str(workers), "--dist", "loadfile"] if workers else []),
        f"--junitxml={junit}",
        "--durations=25",  # where a run's time goes, in every CI log
        # Runs of different versions may share the tree at the same time: separate caches.
        "-o", f"cache_dir={ROOT / '.pytest_cache' / ('airflow' + target.key)}",
        *pytest_args,
    ]  # fmt: skip


@dataclass
class _Run:
    """A pytest process of one target, and where its report and (when captured) its output go."""

    target: Target
    python: Path
    proc: subprocess.Popen
    junit: Path
    log: Path | None
    airflow_home: Path
    started: float
    ended: float | None = None

    def poll(self) -> bool:
        """Whether the process has ended (noting when it did)."""
        if self.ended is None and self.proc.poll() is not None:
            self.ended = time.monotonic()
        return self.ended is not None

    def outcome(self) -> Outcome:
        self.proc.wait()
        self.poll()
        shutil.rmtree(self.airflow_home, ignore_errors=True)
        output = self.log.read_text(errors="replace") if self.log else ""
        seconds = (self.ended or time.monotonic()) - self.started
        python = _python_version(self.python) or "?"
        return Outcome(self.target, self.proc.returncode, seconds, python, _counts(self.junit), output)


def _start(
    python: Path, target: Target, pytest_args: list[str], workdir: Path, capture: bool, workers: int
) -> _Run:
    junit = workdir / f"junit-airflow{target.key}.xml"
    cmd = _pytest_cmd(python, target, pytest_args, junit, workers)
    (ROOT / target.airflow_home).mkdir(exist_ok=True)
    airflow_home = Path(tempfile.mkdtemp(prefix="run-", dir=ROOT / target.airflow_home))
    print(f"\n=== {target.label}: {' '.join(cmd[1:])}  (AIRFLOW_HOME={airflow_home.relative_to(ROOT)})", flush=True)
    # Captured output goes to a file, not a pipe: a full pipe would stall one version while the other runs.
    log = workdir / f"pytest-airflow{target.key}.log" if capture else None
    with open(log or os.devnull, "w") as out:
        stdout = out if capture else None
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=_env(airflow_home), stdout=stdout, stderr=subprocess.STDOUT if capture else None
        )
    return _Run(target, python, proc, junit, log, airflow_home, time.monotonic())


def build_venvs(targets: list[Target], notes: list[str]) -> dict[str, Path]:
    """Create or update each target's virtualenv and return its Python; what the reader should know goes to notes."""
    pythons = {}
    for t in targets:
        base = None
        if t.python:
            base = find_python(t.python)
            if base is None:
                notes.append(
                    f"{t.label}: no Python {t.python} on this machine (PATH or pyenv), so it ran on "
                    f"Python {sys.version.split()[0]}; the oldest supported Python was not tested."
                )
        pythons[t.key] = ensure_venv(t.venv, t.airflow, python=base)
    return pythons


def run_matrix(
    targets: list[Target], pythons: dict[str, Path], pytest_args: list[str], serial: bool, workers: int = 0
) -> list[Outcome]:
    """Run pytest for every target (at the same time unless ``serial``), each in ``workers`` xdist processes
    (0: one), and return the outcomes in order."""
    with tempfile.TemporaryDirectory(prefix="slack-audit-test-") as tmp:
        workdir = Path(tmp)
        if serial or len(targets) == 1:
            return [_start(pythons[t.key], t, pytest_args, workdir, False, workers).outcome() for t in targets]
        runs = [_start(pythons[t.key], t, pytest_args, workdir, True, workers) for t in targets]
        print("\n(the versions run side by side; each one's output follows when it is done)", flush=True)
        outcomes = []
        try:
            while not all([run.poll() for run in runs]):  # a list: poll each, to note when each ended
                time.sleep(0.2)
        finally:
            for run in runs:
                if run.proc.poll() is None:  # interrupted: stop what we started
                    run.proc.terminate()
        for run in runs:
            outcome = run.outcome()
            print(f"\n=== {run.target.label}: output", flush=True)
            print(outcome.output, end="", flush=True)
            outcomes.append(outcome)
        return outcomes


def _workers(text: str) -> int:
    try:
        workers = int(text)
    except ValueError:
        workers = -1
    if workers < 0:
        raise argparse.ArgumentTypeError(f"--workers takes a whole number of processes (0 or more), not {text!r}")
    return workers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Lint and run the test suite on every supported Airflow version (the CI command).",
        epilog="Unknown arguments are passed to pytest, e.g. tests/hooks -x -k emulator.",
        allow_abbrev=False,  # a pytest option must never be taken for an abbreviation of ours
    )
    parser.add_argument(
        "--airflow",
        choices=["all", *MATRIX],
        default="all",
        help="which Airflow to test on: 3 (newest 3.x), 2 (2.11) or all (default, as CI)",
    )
    parser.add_argument(
        "--serial", action="store_true", help="run the Airflow versions one after the other with live output"
    )
    parser.add_argument("--no-lint", action="store_true", help="skip ruff (for quick local runs; CI always lints)")
    parser.add_argument(
        "--workers",
        type=_workers,
        default=3,
        help="pytest-xdist processes per Airflow version (default 3; 0 runs each version in one process)",
    )
    args, pytest_args = parser.parse_known_args(argv)
    targets = list(MATRIX.values()) if args.airflow == "all" else [MATRIX[args.airflow]]
    begun = time.monotonic()

    lint_ok = True
    if not args.no_lint:
        python = ensure_venv()
        ruff = subprocess.run([str(_bin(python.parent.parent, "ruff")), "check", str(ROOT)], cwd=ROOT)
        lint_ok = ruff.returncode == 0

    notes: list[str] = []
    pythons = build_venvs(targets, notes)
    outcomes = run_matrix(targets, pythons, pytest_args, args.serial, args.workers)

    print("\n=== summary")
    if not args.no_lint:
        print(f"{'ruff':<32} {'clean' if lint_ok else 'FAILED: ruff found problems (see above)'}")
    for outcome in outcomes:
        print(outcome.describe())
    for note in notes:
        print(f"note: {note}")
    ok = lint_ok and all(o.ok for o in outcomes)
    print(f"{'total (with virtualenvs)':<32} {time.monotonic() - begun:.1f}s  {'ok' if ok else 'FAILED'}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
