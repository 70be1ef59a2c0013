"""The event trigger's module on every supported Airflow: it imports, and it needs Airflow 3 to be built."""

from __future__ import annotations

import pytest

from tests.fixtures.dag_runs import AIRFLOW_3


def test_the_public_path_imports_on_every_airflow_and_building_needs_airflow_3():
    from airflow_provider_slack_audit.triggers.slack_audit import SlackAuditLogsEventTrigger

    if AIRFLOW_3:
        trigger = SlackAuditLogsEventTrigger(action="app_installed")
        assert trigger.serialize()[1]["action"] == ["app_installed"]
    else:
        with pytest.raises(RuntimeError, match=r"needs Apache Airflow 3\.0 or newer.*this is Airflow 2\."):
            SlackAuditLogsEventTrigger(action="app_installed")


def test_the_trigger_modules_import_top_down_without_a_circle():
    """Each trigger module imports alone in a fresh interpreter; neither needs the sensor, the event
    trigger's module needs nothing of the public one, and both triggers serialize under the public path."""
    import json
    import subprocess
    import sys

    probe = (
        "import json, sys\n"
        "import airflow_provider_slack_audit.triggers.audit_event_trigger as event_module\n"
        "alone = sorted(m for m in sys.modules if m.startswith('airflow_provider_slack_audit.'))\n"
        "import airflow_provider_slack_audit.triggers.slack_audit as public\n"
        "everything = sorted(m for m in sys.modules if m.startswith('airflow_provider_slack_audit.'))\n"
        "print(json.dumps({'alone': alone, 'everything': everything,\n"
        "    'event_classpath': event_module.CLASSPATH,\n"
        "    'same_class': public.SlackAuditLogsEventTrigger is event_module.SlackAuditLogsEventTrigger,\n"
        "    'sensor_trigger_module': public.SlackAuditLogsTrigger.__module__}))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert "airflow_provider_slack_audit.triggers.slack_audit" not in report["alone"]
    assert not [m for m in report["everything"] if m.startswith("airflow_provider_slack_audit.sensors")]
    assert report["event_classpath"] == "airflow_provider_slack_audit.triggers.slack_audit.SlackAuditLogsEventTrigger"
    assert report["same_class"] is True
    assert report["sensor_trigger_module"] == "airflow_provider_slack_audit.triggers.slack_audit"
