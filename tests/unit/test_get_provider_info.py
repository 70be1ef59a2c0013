"""``get_provider_info()``: valid for the installed Airflow, and discovered by its CLI."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import airflow
import jsonschema
import pytest

from airflow_provider_slack_audit.get_provider_info import get_provider_info
from airflow_provider_slack_audit.hooks.connection_extras import EXTRA_FIELDS

AIRFLOW_DIR = Path(airflow.__file__).parent


def _schema(name: str) -> dict:
    return json.loads((AIRFLOW_DIR / name).read_text())


def _connection_type() -> dict:
    (conn,) = get_provider_info()["connection-types"]
    return conn


def test_valid_against_airflows_provider_info_schema():
    jsonschema.validate(get_provider_info(), _schema("provider_info.schema.json"))


def test_provider_info_imports_nothing_from_airflow():
    # Airflow calls get_provider_info() for every provider while it discovers them: keep it cheap.
    code = (
        "import sys; from airflow_provider_slack_audit.get_provider_info import get_provider_info; "
        "get_provider_info(); print(sorted(m for m in sys.modules if m.split('.')[0] == 'airflow'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_connection_type_valid_against_provider_yaml_schema():
    # provider_info.schema.json does not describe conn-fields / ui-field-behaviour; Airflow's
    # provider.yaml schema does (format, allowed hidden fields, field schema keys).
    definition = _schema("provider.yaml.schema.json")["properties"]["connection-types"]
    jsonschema.validate(get_provider_info()["connection-types"], definition)


def test_ui_field_behaviour_passes_the_providers_managers_own_validator():
    behaviour = _connection_type()["ui-field-behaviour"]
    as_python = {
        "hidden_fields": behaviour["hidden-fields"],
        "relabeling": behaviour["relabeling"],
        "placeholders": behaviour["placeholders"],
    }
    jsonschema.validate(as_python, _schema("customized_form_field_behaviours.schema.json"))
    assert set(behaviour["hidden-fields"]) == {"host", "schema", "login", "port"}
    assert behaviour["relabeling"] == {"password": "Slack user token (xoxp-...)"}


def test_conn_fields_are_valid_json_schemas_and_cover_every_extra():
    fields = _connection_type()["conn-fields"]
    assert list(fields) == [
        "base_url",
        "timeout",
        "proxy",
        "verify",
        "max_retries",
        "max_retry_wait",
        "requests_per_minute",
        "rate_limit_storage_uri",
        "rate_limit_key",
    ]
    assert [f.name for f in EXTRA_FIELDS] == list(fields)
    for definition in fields.values():
        jsonschema.Draft7Validator.check_schema(definition["schema"])
        assert "null" in definition["schema"]["type"], "an empty form field must stay valid"


def test_hook_class_and_modules_import_and_agree():
    info = get_provider_info()
    conn = _connection_type()
    module_name, _, class_name = conn["hook-class-name"].rpartition(".")
    hook_class = getattr(importlib.import_module(module_name), class_name)
    assert hook_class.conn_type == conn["connection-type"] == "slack_audit"
    assert hook_class.hook_name == conn["hook-name"]
    for kind in ("hooks", "operators", "sensors", "triggers"):
        for entry in info.get(kind, []):
            for module in entry["python-modules"]:
                importlib.import_module(module)
    assert module_name in info["hooks"][0]["python-modules"]


def test_placeholders_show_the_clients_defaults():
    from airflow_provider_slack_audit.client import SlackAuditLogsClient

    defaults = {name: param.default for name, param in inspect.signature(SlackAuditLogsClient).parameters.items()}
    placeholders = _connection_type()["ui-field-behaviour"]["placeholders"]
    assert placeholders["base_url"] == defaults["base_url"]
    for name in ("timeout", "max_retries", "max_retry_wait"):
        assert float(placeholders[name]) == defaults[name], name
    assert defaults["requests_per_minute"] is None, "the README and the hook docstring say pacing is off"


def test_providers_manager_registers_the_form():
    # The real registry the UI reads: conn-fields/ui-field-behaviour on 3.2+, the hook's methods before.
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    behaviour = manager.field_behaviours["slack_audit"]
    assert behaviour["hidden_fields"] == ["host", "schema", "login", "port"]
    assert behaviour["relabeling"] == {"password": "Slack user token (xoxp-...)"}
    widgets = {key for key in manager.connection_form_widgets if key.startswith("extra__slack_audit__")}
    assert widgets == {f"extra__slack_audit__{f.name}" for f in EXTRA_FIELDS}


def test_legacy_ui_field_behaviour_matches_provider_info():
    from airflow_provider_slack_audit.hooks.slack_audit import SlackAuditLogsHook

    legacy = SlackAuditLogsHook.get_ui_field_behaviour()
    declared = _connection_type()["ui-field-behaviour"]
    assert legacy == {
        "hidden_fields": declared["hidden-fields"],
        "relabeling": declared["relabeling"],
        "placeholders": declared["placeholders"],
    }


def test_legacy_form_widgets_match_conn_fields():
    # Only Airflow < 3.2 (with Flask-AppBuilder) renders these; skipped where FAB is not installed.
    pytest.importorskip("flask_appbuilder")
    from airflow_provider_slack_audit.hooks.slack_audit import SlackAuditLogsHook

    widgets = SlackAuditLogsHook.get_connection_form_widgets()
    fields = _connection_type()["conn-fields"]
    assert list(widgets) == list(fields)
    for name, widget in widgets.items():
        assert str(widget.args[0]) == fields[name]["label"]


def _airflow_cli(*args: str, home: Path) -> subprocess.Popen:
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    return subprocess.Popen(
        [sys.executable, "-m", "airflow", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.airflow
def test_airflow_cli_lists_the_provider_and_its_hook(tmp_path):
    # Both commands run at once: each spends most of its time importing Airflow.
    providers = _airflow_cli("providers", "list", "--output", "json", home=tmp_path)
    hooks = _airflow_cli("providers", "hooks", "--output", "json", home=tmp_path)
    providers_out, providers_err = providers.communicate(timeout=120)
    hooks_out, hooks_err = hooks.communicate(timeout=120)
    assert providers.returncode == 0, providers_err
    assert hooks.returncode == 0, hooks_err

    listed = {row["package_name"]: row for row in json.loads(providers_out)}
    assert listed["airflow-provider-slack-audit"]["version"] == get_provider_info()["versions"][0]

    by_type = {row["connection_type"]: row for row in json.loads(hooks_out)}
    assert by_type["slack_audit"]["class"] == "airflow_provider_slack_audit.hooks.slack_audit.SlackAuditLogsHook"
    assert by_type["slack_audit"]["package_name"] == "airflow-provider-slack-audit"
    assert by_type["slack_audit"]["conn_id_attribute_name"] == "slack_audit_conn_id"
    assert by_type["slack_audit"]["hook_name"] == "Slack Audit Logs"
    assert "slack_audit" not in providers_err + hooks_err, "discovery warned about this provider"
