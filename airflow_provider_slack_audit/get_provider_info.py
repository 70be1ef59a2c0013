"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider_slack_audit import __version__


def get_provider_info() -> dict[str, Any]:
    """Describe this provider to Airflow's ProvidersManager."""
    return {
        "package-name": "airflow-provider-slack-audit",
        "name": "Slack Audit Logs",
        "description": "Export Slack Enterprise Grid audit logs to XCom or object storage on a schedule.",
        "versions": [__version__],
    }
