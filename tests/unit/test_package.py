from __future__ import annotations

import re
from importlib.metadata import entry_points, version

import airflow_provider_slack_audit
from airflow_provider_slack_audit.get_provider_info import get_provider_info


def test_version_matches_distribution():
    assert re.fullmatch(r"\d+\.\d+\.\d+", airflow_provider_slack_audit.__version__)
    assert version("airflow-provider-slack-audit") == airflow_provider_slack_audit.__version__


def test_provider_entry_point_resolves_to_get_provider_info():
    eps = entry_points(group="apache_airflow_provider")
    (ep,) = [e for e in eps if e.value.startswith("airflow_provider_slack_audit.")]
    assert ep.load() is get_provider_info
    assert get_provider_info()["package-name"] == "airflow-provider-slack-audit"
