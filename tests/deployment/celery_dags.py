"""What the Celery deployment runs: two orgs' export, the sensor and the watcher, as files for its DAGs folder.

Every DAG is active from the start (the deployment sets ``dags_are_paused_at_creation`` off) and makes no
scheduled run of its own (its ``end_date`` lies in 2024, or it is scheduled on an asset): the test starts
exactly the runs it checks, by backfilling them.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.deployment.examples import EXAMPLES, SENSOR_DAG, watcher_dag_file

TWO_ORGS_DAG = "slack_audit_two_orgs_export"
#: Each org's connection; ``slack_audit_default`` (the sensor's and the watcher's) is org A's second one.
ORG_CONN_IDS = {"org_a": "slack_audit_org_a", "org_b": "slack_audit_org_b"}
#: Pages of 250 events: a window of the emulator's ~1,000 events an hour costs about five calls.
PAGE_SIZE = 250
#: Seconds between the sensor's polls in the triggerer (the example's 300 s is for real Slack).
SENSOR_POLL_SECONDS = 3.0
WINDOW_KEY = (
    "dt={{ data_interval_start.strftime('%Y-%m-%d') }}/hour={{ data_interval_start.strftime('%H') }}/"
    "{{ data_interval_start.int_timestamp }}-{{ data_interval_end.int_timestamp - 1 }}.jsonl.gz"
)


def window_file(export_root: Path, org: str, start: int) -> Path:
    """Where the export of ``org`` writes the hour that starts at ``start``."""
    day, hour = time.strftime("%Y-%m-%d", time.gmtime(start)), time.strftime("%H", time.gmtime(start))
    return export_root / org / f"dt={day}" / f"hour={hour}" / f"{start}-{start + 3599}.jsonl.gz"


def two_orgs_dag_file(export_root: Path) -> str:
    """One export mapped over both orgs' connections, each org under a prefix of its own."""
    return f'''"""Export each hour of two Slack orgs, one mapped task instance per org."""
from datetime import datetime, timezone

from airflow.providers.common.compat.sdk import DAG
from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsToObjectStorageOperator

ORG_CONN_IDS = {ORG_CONN_IDS!r}
WINDOW_KEY = {WINDOW_KEY!r}

with DAG(
    dag_id={TWO_ORGS_DAG!r},
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=datetime(2024, 3, 1, tzinfo=timezone.utc),
    end_date=datetime(2024, 3, 31, tzinfo=timezone.utc),
    catchup=False,
):
    SlackAuditLogsToObjectStorageOperator.partial(task_id="export_audit_logs", page_size={PAGE_SIZE}).expand_kwargs(
        [
            {{"slack_audit_conn_id": conn_id, "path": f"file://{export_root}/{{org}}/" + WINDOW_KEY}}
            for org, conn_id in ORG_CONN_IDS.items()
        ]
    )
'''


# The sensor example as it ships, polling every few seconds and with no scheduled run of today. (The words
# "airflow" and "dag" in the text: Airflow's safe mode skips a DAG file without them.)
SENSOR_DAG_FILE = f'''"""Airflow DAG {SENSOR_DAG} of example_dags: polls every {SENSOR_POLL_SECONDS} s, ends in 2024."""
import runpy
from datetime import datetime, timezone

dag = runpy.run_path({str(EXAMPLES / "example_slack_audit_sensor.py")!r})["dag"]
dag.get_task("wait_for_risky_action").poll_interval = {SENSOR_POLL_SECONDS}
dag.end_date = datetime(2024, 3, 31, tzinfo=timezone.utc)
'''


def celery_dag_files(export_root: Path) -> dict[str, str]:
    """The DAG files of the Celery deployment: the two-org export, the sensor and the watcher examples."""
    return {
        "two_orgs_export.py": two_orgs_dag_file(export_root),
        "example_slack_audit_sensor.py": SENSOR_DAG_FILE,
        "example_slack_audit_watcher.py": watcher_dag_file(),
    }
