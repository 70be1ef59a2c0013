"""Run the example export DAG for consecutive hours with ``dag.test()`` and report what it wrote.

Started by ``scripts/demo.py`` inside the project's virtualenv, with the connections set. Airflow's own
output (logs, warnings, task output) goes to ``--log``; the terminal gets a short summary only.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path

import airflow
from packaging.version import Version

from airflow_provider_slack_audit.cli import main as slack_audit
from airflow_provider_slack_audit.emulator.server import Emulator

if Version(airflow.__version__).major >= 3:  # Airflow 3 moved it (airflow.models.dagbag warns: deprecated)
    from airflow.dag_processing.dagbag import DagBag
else:
    from airflow.models.dagbag import DagBag


def _to_log(path: Path) -> int:
    """Send this process's stdout and stderr (Airflow's logs, warnings, task output) to ``path``;
    returns a descriptor of the terminal's stdout, for the summary."""
    sys.stdout.flush()
    sys.stderr.flush()
    terminal = os.dup(1)
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    return terminal


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--start", required=True)
    parser.add_argument("--hours", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log", required=True, help="where Airflow's own output goes")
    args = parser.parse_args()
    log = Path(args.log)
    terminal = os.fdopen(_to_log(log), "w", buffering=1)

    def say(text: str = "") -> None:
        print(text, file=terminal, flush=True)

    logging.getLogger("airflow").setLevel(logging.WARNING)

    dags_folder = Path(__file__).resolve().parent.parent / "example_dags"
    bag = DagBag(dag_folder=str(dags_folder / "example_slack_audit_export.py"))
    if bag.import_errors:
        say(f"the example DAG did not import: {bag.import_errors} (Airflow's output: {log})")
        return 1
    dag = bag.get_dag("slack_audit_hourly_export")
    start = datetime.fromisoformat(args.start)
    for hour in range(args.hours):
        # A manual run at logical date X of a cron-interval DAG owns the last complete hour, [X - 1h, X).
        interval_start = start + timedelta(hours=hour)
        logical_date = interval_start + timedelta(hours=1)
        say(f"Running slack_audit_hourly_export for [{interval_start:%H:%M}, {logical_date:%H:%M}) ...")
        run = dag.test(logical_date=logical_date)
        if str(getattr(run, "state", "")) not in ("success", "DagRunState.SUCCESS"):
            say(f"the run for {logical_date.isoformat()} ended {run.state}; Airflow's output: {log}")
            return 1

    # The emulator's own generator says which events each window must hold (same seed as the server).
    oracle = Emulator(seed=args.seed)
    files = sorted(Path(args.out).rglob("*.jsonl.gz"))
    say(f"\nThe export wrote {len(files)} files under {args.out}:")
    ids: set[str] = set()
    total, exact = 0, 0
    for path in files:
        got = [json.loads(line)["id"] for line in gzip.decompress(path.read_bytes()).splitlines()]
        oldest, latest = (int(part) for part in path.name.split(".")[0].split("-"))
        expected = [event["id"] for event in oracle.events(oldest, latest)]
        exact += got == expected
        ids.update(got)
        total += len(got)
        check = "= emulator's events(oldest, latest)" if got == expected else f"MISMATCH: emulator: {len(expected)}"
        hour = datetime.fromtimestamp(oldest, tz=start.tzinfo).strftime("%Y-%m-%d %H:00")
        say(f"  {hour}  {len(got):5} events, {len(set(got)):5} distinct ids  {check}")
        say(f"    {path.relative_to(args.out)}")
    say(f"{total} events, {len(ids)} distinct ids in all; {exact} of {len(files)} files hold exactly the emulator's")
    # What an auditor runs: each file against the manifest beside it (its report goes to the log).
    verified = sum(slack_audit(["verify", str(path)]) == 0 for path in files)
    say(f"slack-audit verify: {verified} of {len(files)} files hold against their manifests (report in the log)")
    if files:
        say(f"Verify one yourself:  {Path(sys.executable).parent / 'slack-audit'} verify {files[0]}")
    say(f"Airflow's own output (task logs, warnings): {log}")
    return 0 if files and total == len(ids) and exact == verified == len(files) else 1


if __name__ == "__main__":
    sys.exit(main())
