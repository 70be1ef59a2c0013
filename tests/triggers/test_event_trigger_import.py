"""The event trigger's module on every supported Airflow: it imports, and it needs Airflow 3 to be built."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.dag_runs import AIRFLOW_3

ROOT = Path(__file__).resolve().parents[2]


def test_the_public_path_imports_on_every_airflow_and_building_needs_airflow_3():
    from airflow_provider_slack_audit.triggers.slack_audit import SlackAuditLogsEventTrigger

    if AIRFLOW_3:
        trigger = SlackAuditLogsEventTrigger(action="app_installed")
        assert trigger.serialize()[1]["action"] == ["app_installed"]
    else:
        with pytest.raises(RuntimeError, match=r"needs Apache Airflow 3\.0 or newer.*this is Airflow 2\."):
            SlackAuditLogsEventTrigger(action="app_installed")


def test_the_trigger_module_loads_no_requests():
    """The triggerer's event loop must not pull in the blocking HTTP stack just to load the trigger
    (Airflow 2 imports requests itself: there the module must add nothing to what Airflow loaded)."""
    code = (
        "import sys; import airflow.triggers.base, airflow.providers.common.compat.sdk; "
        "before = 'requests' in sys.modules; "
        "import airflow_provider_slack_audit.triggers.audit_event_trigger; "
        "print(before, 'requests' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    before, after = out.stdout.split()
    assert after == before
    if AIRFLOW_3:
        assert after == "False"
