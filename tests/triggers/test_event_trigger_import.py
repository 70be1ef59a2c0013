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
