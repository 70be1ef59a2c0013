"""What the deployment runs: the example DAGs (as files for its DAGs folder) and the names the tests use."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.dag_runs import AIRFLOW_3

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "example_dags"
CONN_ID = "slack_audit_default"
EXPORT_DAG = "slack_audit_hourly_export"
SENSOR_DAG = "slack_audit_risky_action_alert"
WATCHER_EXAMPLE = EXAMPLES / "example_slack_audit_watcher.py"
#: The sensor example polls every 300 s, as it should against real Slack; a test cannot wait that long.
SENSOR_POLL_SECONDS = 2.0

SKIP_ON_AIRFLOW_2 = pytest.mark.skipif(
    not AIRFLOW_3,
    reason="the deployment test runs Airflow 3's components (api-server, dag-processor, triggerer, "
    "Task SDK workers) and its /api/v2; Airflow 2.11 is covered by the dag.test() end-to-end tests",
)

# The sensor example as it ships, with only the poll interval shortened (the worker parses this file too).
SENSOR_DAG_FILE = f'''"""The Airflow DAG {SENSOR_DAG} of example_dags, polling every {SENSOR_POLL_SECONDS} s."""
import runpy

dag = runpy.run_path({str(EXAMPLES / "example_slack_audit_sensor.py")!r})["dag"]
dag.get_task("wait_for_risky_action").poll_interval = {SENSOR_POLL_SECONDS}
'''


def dag_files() -> dict[str, str]:
    """The example DAGs the deployment runs: the export DAG as shipped, the sensor DAG, the watcher if present."""
    files = {
        "example_slack_audit_export.py": (EXAMPLES / "example_slack_audit_export.py").read_text(),
        "example_slack_audit_sensor.py": SENSOR_DAG_FILE,
    }
    if WATCHER_EXAMPLE.exists():
        files[WATCHER_EXAMPLE.name] = WATCHER_EXAMPLE.read_text()
    return files


