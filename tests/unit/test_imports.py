"""What importing the trigger module costs the triggerer: no requests, no operator code."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys, time
started = time.perf_counter()
import airflow.triggers.base  # what any trigger module needs
airflow_done = time.perf_counter()
airflow_loads_requests = "requests" in sys.modules  # Airflow 2.11 imports it itself; Airflow 3 does not
import airflow_provider_slack_audit.triggers.slack_audit
done = time.perf_counter()
print(json.dumps({
    "airflow_seconds": airflow_done - started,
    "ours_seconds": done - airflow_done,
    "airflow_loads_requests": airflow_loads_requests,
    "modules": sorted(sys.modules),
}))
"""


def test_the_trigger_module_imports_neither_requests_nor_task_code():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    modules = set(report["modules"])
    print(
        f"fresh interpreter: airflow.triggers.base {report['airflow_seconds']:.2f}s, then the trigger module "
        f"{report['ours_seconds']:.2f}s"
    )
    if not report["airflow_loads_requests"]:
        assert "requests" not in modules
    assert "airflow_provider_slack_audit.client.sync_client" not in modules
    assert "airflow_provider_slack_audit.client.session" not in modules
    ours = {m for m in modules if m.startswith("airflow_provider_slack_audit")}
    task_code = (
        "airflow_provider_slack_audit.operators",
        "airflow_provider_slack_audit.export",
        "airflow_provider_slack_audit.arguments.query",
    )
    assert not {m for m in ours if m.startswith(task_code)}
    assert "airflow_provider_slack_audit.sensors.slack_audit" not in ours


OPENLINEAGE_PROBE = """
import json, sys
import airflow.providers.common.compat.sdk  # what any operator module needs
before = set(sys.modules)
from airflow_provider_slack_audit.operators.slack_audit import (
    SlackAuditLogsReconcileOperator, SlackAuditLogsToObjectStorageOperator,
)
SlackAuditLogsToObjectStorageOperator(task_id="export", path="file:///tmp/unused.jsonl")
SlackAuditLogsReconcileOperator(task_id="reconcile", path="file:///tmp/unused.jsonl")
print(json.dumps(sorted(m for m in set(sys.modules) - before if "openlineage" in m)))
"""


def test_the_operators_import_and_build_without_importing_openlineage():
    """The provider is installed here (the lineage tests use it): our import must not be what loads it."""
    out = subprocess.run([sys.executable, "-c", OPENLINEAGE_PROBE], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
