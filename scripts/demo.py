#!/usr/bin/env python3
"""The main job, on one machine: export audit logs from the local Slack emulator with real Airflow.

Starts the emulator (the stand-in for Slack), points the ``slack_audit_default`` connection at it, runs
the example DAG ``slack_audit_hourly_export`` for three consecutive hours on a fresh SQLite Airflow home
in ``.airflow-demo/``, writes to ``out/slack-audit/`` and prints a short summary: the files, the events and
ids of each hour checked against the emulator, how to verify them. Airflow's own output goes to
``.airflow-demo/airflow.log``.

Usage: python3 scripts/demo.py [--hours N] [--start 2024-03-01T00:00:00+00:00]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _venv import ROOT, ensure_venv

DEMO_TOKEN = "xoxp-demo-0000000000-emulator-token"  # noqa: S105 - the emulator's, not a secret


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=int, default=3, help="how many consecutive hourly runs (default 3)")
    parser.add_argument("--start", default="2024-03-01T00:00:00+00:00", help="the first run's interval start")
    args = parser.parse_args()

    python = ensure_venv()
    home = ROOT / ".airflow-demo"
    out = ROOT / "out" / "slack-audit"
    shutil.rmtree(home, ignore_errors=True)  # a fresh Airflow home every time
    shutil.rmtree(out, ignore_errors=True)

    emulator = subprocess.Popen(
        [str(python), "-m", "airflow_provider_slack_audit.emulator", "--port", "0", "--token", DEMO_TOKEN],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = emulator.stdout.readline().strip() if emulator.stdout else ""
        if not base_url.startswith("http"):
            print(f"the emulator did not start (it printed {base_url!r})", file=sys.stderr)
            return 1
        print(f"Slack Audit Logs emulator at {base_url}", flush=True)
        env = dict(os.environ)
        env.update(
            AIRFLOW_HOME=str(home),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "example_dags"),
            AIRFLOW_CONN_SLACK_AUDIT_DEFAULT=json.dumps(
                {"conn_type": "slack_audit", "password": DEMO_TOKEN, "extra": {"base_url": base_url}}
            ),
            AIRFLOW_VAR_SLACK_AUDIT_EXPORT_ROOT=out.as_uri(),
        )
        env.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", None)
        log = home / "airflow.log"
        home.mkdir(parents=True, exist_ok=True)
        print(f"Airflow home {home} (SQLite); migrating the metadata database ...", flush=True)
        with open(log, "ab") as airflow_output:
            subprocess.run([str(python), "-m", "airflow", "db", "migrate"], env=env, check=True,
                           stdout=airflow_output, stderr=airflow_output)  # fmt: skip
        runner = ROOT / "scripts" / "_demo_runs.py"
        return subprocess.run(
            [str(python), str(runner), "--start", args.start, "--hours", str(args.hours), "--out", str(out),
             "--log", str(log)],
            env=env,
        ).returncode  # fmt: skip
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
