"""Run the example export DAG for consecutive hours with ``dag.test()`` and report what it wrote.

Started by ``scripts/demo.py`` inside the project's virtualenv, with the connections set.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import sys
from datetime import datetime, timedelta
from pathlib import Path

from airflow.models.dagbag import DagBag

from airflow_provider_slack_audit.emulator.server import Emulator


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--start", required=True)
    parser.add_argument("--hours", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.getLogger("airflow").setLevel(logging.WARNING)

    dags_folder = Path(__file__).resolve().parent.parent / "example_dags"
    bag = DagBag(dag_folder=str(dags_folder / "example_slack_audit_export.py"))
    if bag.import_errors:
        print(f"the example DAG did not import: {bag.import_errors}", file=sys.stderr)
        return 1
    dag = bag.get_dag("slack_audit_hourly_export")
    start = datetime.fromisoformat(args.start)
    for hour in range(args.hours):
        # A manual run at logical date X of a cron-interval DAG owns the last complete hour, [X - 1h, X).
        interval_start = start + timedelta(hours=hour)
        logical_date = interval_start + timedelta(hours=1)
        print(f"Running slack_audit_hourly_export for [{interval_start:%H:%M}, {logical_date:%H:%M}) ...", flush=True)
        run = dag.test(logical_date=logical_date)
        if str(getattr(run, "state", "")) not in ("success", "DagRunState.SUCCESS"):
            print(f"the run for {logical_date.isoformat()} ended {run.state}", file=sys.stderr)
            return 1

    # The emulator's own generator says which events each window must hold (same seed as the server).
    oracle = Emulator(seed=args.seed)
    files = sorted(Path(args.out).rglob("*.jsonl.gz"))
    print(f"\nWrote {len(files)} files under {args.out}:")
    ids: set[str] = set()
    total, exact = 0, 0
    for path in files:
        got = [json.loads(line)["id"] for line in gzip.decompress(path.read_bytes()).splitlines()]
        oldest, latest = (int(part) for part in path.name.split(".")[0].split("-"))
        expected = [event["id"] for event in oracle.events(oldest, latest)]
        exact += got == expected
        ids.update(got)
        total += len(got)
        verdict = "exactly the emulator's events" if got == expected else f"MISMATCH: expected {len(expected)}"
        print(f"  {path.relative_to(args.out)}  {len(got)} events, {path.stat().st_size} bytes ({verdict})")
    print(f"{total} events in all, {len(ids)} distinct ids; {exact} of {len(files)} files match the emulator")
    return 0 if files and total == len(ids) and exact == len(files) else 1


if __name__ == "__main__":
    sys.exit(main())
