"""What the Celery deployment runs: the many-orgs, sensor and watcher examples, as files for its DAGs folder.

Every DAG is active from the start (the deployment sets ``dags_are_paused_at_creation`` off) and makes no
scheduled run of its own (its ``end_date`` lies in 2024, or it is scheduled on an asset): the test starts
exactly the runs it checks, by backfilling them.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.deployment.examples import EXAMPLES, SENSOR_DAG, watcher_dag_file

MANY_ORGS_DAG = "slack_audit_many_orgs_export"
MANY_ORGS_EXAMPLE = EXAMPLES / "example_slack_audit_many_orgs.py"
#: Each org's connection; ``slack_audit_default`` (the sensor's and the watcher's) is org A's second one.
ORG_CONN_IDS = {"org_a": "slack_audit_org_a", "org_b": "slack_audit_org_b"}
#: Pages of 250 events: an hour of the emulator's busy hours (1,600 to 2,600 events) costs seven to eleven
#: calls, enough for an org's calls to be paced by its budget (the example leaves 9999, one or two calls).
PAGE_SIZE = 250
#: Seconds between the sensor's polls in the triggerer (the example's 300 s is for real Slack).
SENSOR_POLL_SECONDS = 3.0


def window_file(export_root: Path, conn_id: str, start: int) -> Path:
    """Where the many-orgs example writes the hour that starts at ``start`` for the org of ``conn_id``."""
    day, hour = time.strftime("%Y-%m-%d", time.gmtime(start)), time.strftime("%H", time.gmtime(start))
    return export_root / f"org={conn_id}" / f"dt={day}" / f"hour={hour}" / f"{start}-{start + 3599}.jsonl.gz"


def example_env(export_root: Path) -> dict[str, str]:
    """The Variables the many-orgs example reads, as the deployment's environment: both orgs, and the root."""
    return {
        "AIRFLOW_VAR_SLACK_AUDIT_ORG_CONN_IDS": ",".join(ORG_CONN_IDS.values()),
        "AIRFLOW_VAR_SLACK_AUDIT_EXPORT_ROOT": f"file://{export_root}",
    }


# The many-orgs example as it ships, but with pages of 250, several hours at once (it reads one at a time:
# each org's budget to one hour) and no scheduled run of today.
MANY_ORGS_DAG_FILE = f'''"""Airflow DAG {MANY_ORGS_DAG} (example_dags): pages of {PAGE_SIZE}, runs at once, ends 2024"""
import runpy
from datetime import datetime, timezone

dag = runpy.run_path({str(MANY_ORGS_EXAMPLE)!r})["dag"]
dag.get_task("export_org_hour").partial_kwargs["page_size"] = {PAGE_SIZE}
dag.max_active_runs = 16
dag.end_date = datetime(2024, 3, 31, tzinfo=timezone.utc)
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


def celery_dag_files() -> dict[str, str]:
    """The DAG files of the Celery deployment: the many-orgs, sensor and watcher examples."""
    return {
        MANY_ORGS_EXAMPLE.name: MANY_ORGS_DAG_FILE,
        "example_slack_audit_sensor.py": SENSOR_DAG_FILE,
        "example_slack_audit_watcher.py": watcher_dag_file(),
    }
