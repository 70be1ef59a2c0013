"""What one small window's export costs as its folder fills: a backfill writes every window's object and manifest
to one folder, and each export lists that folder for the object's late files.

Runs the object storage operator's ``execute()`` for ``--windows`` hourly windows (about 20 events each, one or
two pages) into a folder already holding the objects and manifests of ``N`` earlier windows, for each ``N`` of
``--files``, and prints the mean milliseconds per window. Before late files were listed by name (a path object
per file of the folder), 12 windows took 43 ms each in an empty folder, 220 ms beside 1,000 files and 2,166 ms
beside 5,000; listed by name, 36, 50 and 104 ms (Airflow 3.3.2, a shared 2-core machine).

Usage: ``PYTHONPATH=. .venv/bin/python bench/export_in_a_full_folder.py [--windows 24] [--files 0 1000 5000]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from airflow_provider_slack_audit.emulator.server import Emulator

START = 1706745600  # 2024-02-01T00:00:00Z


def context(oldest: int) -> dict:
    return {
        "data_interval_start": datetime.fromtimestamp(oldest, timezone.utc),
        "data_interval_end": datetime.fromtimestamp(oldest + 3600, timezone.utc),
    }


def mean_ms(folder: Path, first_hour: int, windows: int) -> float:
    from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsToObjectStorageOperator

    began = time.perf_counter()
    for hour in range(first_hour, first_hour + windows):
        oldest = START + hour * 3600
        SlackAuditLogsToObjectStorageOperator(
            task_id="bench", slack_audit_conn_id="slack_audit_bench", path=f"file://{folder}/{oldest}.jsonl"
        ).execute(context(oldest))
    return (time.perf_counter() - began) / windows * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=24)
    parser.add_argument("--files", type=int, nargs="+", default=[0, 1000, 5000])
    args = parser.parse_args()
    hours = max(args.files) // 2 + 2 * args.windows
    emulator = Emulator(start=START, end=START + hours * 3600 - 1, events_per_hour=20, rate_limit=0).start()
    os.environ["AIRFLOW_CONN_SLACK_AUDIT_BENCH"] = emulator.airflow_conn_json()
    try:
        mean_ms(Path(tempfile.mkdtemp()), 0, 2)  # imports, connections: not the per-window cost
        print("| files in the folder | windows | ms per window |")
        print("|---|---|---|")
        for files in args.files:
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(tmp)
                for earlier in range(files // 2):  # earlier windows: an object and its manifest each
                    (folder / f"{START - (earlier + 1) * 3600}.jsonl").write_bytes(b"")
                    (folder / f"{START - (earlier + 1) * 3600}.jsonl.manifest.json").write_bytes(b"")
                print(f"| {files} | {args.windows} | {mean_ms(folder, 0, args.windows):.1f} |", flush=True)
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
