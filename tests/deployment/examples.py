"""What the deployment runs: the example DAGs (as files for its DAGs folder) and the names the tests use."""

from __future__ import annotations

import time
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
#: The watcher example starts at "now": it fires for risky actions made after it first runs. The emulator's live
#: stream holds about two risky actions an hour (none for hours at night), far too rare for a test to wait for;
#: the deployment's watcher catches up from a fixed second a day back instead (its ``start``), as a user does
#: who wants the actions of the last day too. Fixed once per session: equal arguments, the same watcher.
WATCHER_START = int(time.time()) - 24 * 3600

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

# The watcher example as it ships, with only its start moved a day back (a literal: every parse, the same trigger).
_WATCHER_POLL_LINE = "poll_interval=60,  # seconds between polls"


def watcher_dag_file() -> str:
    """The text of the watcher example catching up from :data:`WATCHER_START`."""
    text = WATCHER_EXAMPLE.read_text()
    assert text.count(_WATCHER_POLL_LINE) == 1, f"{WATCHER_EXAMPLE.name} no longer sets {_WATCHER_POLL_LINE!r}"
    return text.replace(_WATCHER_POLL_LINE, f"start={WATCHER_START},  # the deployment catches up a day\n"
                        f"                    {_WATCHER_POLL_LINE}")


def dag_files() -> dict[str, str]:
    """The example DAGs the deployment runs: the export DAG as shipped, the sensor and watcher DAGs (if present)."""
    files = {
        "example_slack_audit_export.py": (EXAMPLES / "example_slack_audit_export.py").read_text(),
        "example_slack_audit_sensor.py": SENSOR_DAG_FILE,
    }
    if WATCHER_EXAMPLE.exists():
        files[WATCHER_EXAMPLE.name] = watcher_dag_file()
    return files


