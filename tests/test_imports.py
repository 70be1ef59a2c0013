"""What importing the trigger module costs the triggerer: no requests, no operator code."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys, time
started = time.perf_counter()
import airflow_provider_slack_audit.triggers.slack_audit
took = time.perf_counter() - started
mods = sorted(sys.modules)
print(json.dumps({"seconds": took, "modules": mods}))
"""


def test_the_trigger_module_imports_neither_requests_nor_task_code():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=300)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    modules = set(report["modules"])
    print(f"importing the trigger module took {report['seconds']:.2f}s in a fresh interpreter")
    assert "requests" not in modules
    assert "airflow_provider_slack_audit.client.sync_client" not in modules
    ours = {m for m in modules if m.startswith("airflow_provider_slack_audit")}
    assert not {
        m for m in ours if m.startswith(("airflow_provider_slack_audit.operators", "airflow_provider_slack_audit.task"))
    }
    assert "airflow_provider_slack_audit.sensors.slack_audit" not in ours
