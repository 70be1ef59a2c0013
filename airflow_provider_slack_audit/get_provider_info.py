"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point.

Airflow calls this while it discovers providers, before any hook is imported: keep it cheap (it
imports only the connection field table, which imports nothing from Airflow).
"""

from __future__ import annotations

from typing import Any

from airflow_provider_slack_audit import __version__
from airflow_provider_slack_audit.hooks.connection_extras import CONN_TYPE, conn_fields, ui_field_behaviour

INTEGRATION = "Slack Audit Logs"
HOOK_CLASS = "airflow_provider_slack_audit.hooks.slack_audit.SlackAuditLogsHook"


def _modules(*modules: str) -> list[dict[str, Any]]:
    return [{"integration-name": INTEGRATION, "python-modules": list(modules)}]


def get_provider_info() -> dict[str, Any]:
    """Describe this provider to Airflow's ProvidersManager."""
    return {
        "package-name": "airflow-provider-slack-audit",
        "name": "Slack Audit Logs",
        "description": "Export Slack Enterprise Grid audit logs to XCom or object storage on a schedule.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "external-doc-url": "https://api.slack.com/admins/audit-logs",
                "tags": ["service"],
            }
        ],
        "hooks": _modules("airflow_provider_slack_audit.hooks.slack_audit"),
        "operators": _modules("airflow_provider_slack_audit.operators.slack_audit"),
        "sensors": _modules("airflow_provider_slack_audit.sensors.slack_audit"),
        "triggers": _modules("airflow_provider_slack_audit.triggers.slack_audit"),
        "connection-types": [
            {
                "hook-class-name": HOOK_CLASS,
                "hook-name": "Slack Audit Logs",
                "connection-type": CONN_TYPE,
                # Read by Airflow 3.2+ without importing the hook; older Airflow calls the hook's
                # get_connection_form_widgets() / get_ui_field_behaviour(), built from the same table.
                "ui-field-behaviour": ui_field_behaviour(),
                "conn-fields": conn_fields(),
            }
        ],
    }
