"""An unknown connection extra is an error that names it and the nearest known one (issue 24 item 8).

A misspelt setting (``request_per_minute``) used to change nothing and say nothing. Now the first
read of the connection (a task's hook, the connection test) fails with the unknown key, the known
key it is closest to, and every key a slack_audit connection reads. What Airflow itself stores or
sends is accepted: each field of the one table (``EXTRA_FIELDS``), plain or with Airflow 2's
``extra__slack_audit__`` prefix, blank or not. The real paths are run: Airflow 2's form save
(``ConnectionModelView.process_form``) and REST test endpoint, Airflow 3's test endpoint.
"""

from __future__ import annotations

import json
import os
from typing import Any

import airflow
import pytest
from packaging.version import Version

from airflow_provider_slack_audit.hooks.connection_fields import EXTRA_FIELDS, PREFIX
from airflow_provider_slack_audit.hooks.connection_settings import (
    check_known_extras,
    nearest_extra,
    resolve_settings,
    unknown_extras,
)
from airflow_provider_slack_audit.hooks.extra_values import SlackAuditConnectionError
from airflow_provider_slack_audit.hooks.slack_audit import SlackAuditLogsHook

AIRFLOW_3 = Version(airflow.__version__).major >= 3
TOKEN = "xoxp-1111-2222-3333-unknownextras"


def resolve(extra: dict[str, Any]):
    return resolve_settings("my_slack", password=TOKEN, login=None, extra=extra)


@pytest.mark.parametrize(
    ("key", "nearest"),
    [
        ("request_per_minute", "requests_per_minute"),
        ("requests_per_min", "requests_per_minute"),
        ("time_out", "timeout"),
        ("Timeout", "timeout"),
        ("max_retry", "max_retries"),
        ("baseurl", "base_url"),
        (PREFIX + "verfy", "verify"),
        ("token", None),
    ],
)
def test_an_unknown_extra_fails_naming_it_and_the_nearest_known_one(key: str, nearest: str | None) -> None:
    with pytest.raises(SlackAuditConnectionError) as caught:
        resolve({"timeout": 30, key: 40})
    message = str(caught.value)
    assert f"connection 'my_slack': unknown extra {key!r}" in message
    assert (f"(did you mean {nearest!r}?)" in message) == (nearest is not None)
    assert "reads only base_url, timeout" in message
    assert nearest_extra(key) == nearest


def test_several_unknown_extras_are_all_named() -> None:
    with pytest.raises(
        SlackAuditConnectionError, match=r"unknown extras 'max_retry' \(did you mean 'max_retries'\?\), "
    ):
        resolve({"time_out": 1, "max_retry": 2})


def test_every_field_of_the_table_is_known_plain_prefixed_and_blank() -> None:
    """Derived from the one table: a field added to EXTRA_FIELDS is accepted with no other change."""
    blank: dict[str, Any] = {}
    for n, spec in enumerate(EXTRA_FIELDS):
        blank[spec.name] = None if n % 2 else ""  # what an empty form field saves (Airflow 2: null or dropped)
        blank[PREFIX + spec.name] = ""
    assert unknown_extras(blank) == []
    check_known_extras("my_slack", blank)
    assert resolve(blank).timeout is None


def test_the_first_task_that_reads_the_connection_fails_and_the_connection_test_says_why(monkeypatch) -> None:
    conn = {"conn_type": "slack_audit", "password": TOKEN, "extra": {"request_per_minute": 40}}
    monkeypatch.setenv("AIRFLOW_CONN_SA_TYPO", json.dumps(conn))
    with pytest.raises(SlackAuditConnectionError, match=r"unknown extra 'request_per_minute' \(did you mean"):
        SlackAuditLogsHook("sa_typo").get_conn()
    ok, message = SlackAuditLogsHook("sa_typo").test_connection()
    assert not ok
    assert "unknown extra 'request_per_minute' (did you mean 'requests_per_minute'?)" in message
    monkeypatch.setenv("AIRFLOW_CONN_SA_TYPO_URI", f"slack-audit://:{TOKEN}@/?time_out=5")
    with pytest.raises(SlackAuditConnectionError, match=r"unknown extra 'time_out' \(did you mean 'timeout'\?\)"):
        SlackAuditLogsHook("sa_typo_uri").get_conn()


# ------------------------------------------------------------------ Airflow's own paths


def ui_test_extras(values: dict[str, str]) -> dict[str, Any]:
    """The extras the connection form's "Test" sends for these non-empty field values.

    Airflow 2 (``www/static/js/connection_form.js``): each non-empty custom field twice, prefixed and
    plain. Airflow 3: the fields of ``conn-fields`` by name, null when left empty.
    """
    if AIRFLOW_3:
        return {spec.name: values.get(spec.name) for spec in EXTRA_FIELDS}
    extras: dict[str, Any] = {}
    for name, value in values.items():
        extras[PREFIX + name] = value
        extras[name] = value
    return extras


def run_test_endpoint(extras: dict[str, Any], token: str, monkeypatch) -> tuple[bool, str]:
    """Airflow's REST "test connection" endpoint of this version, called as the UI's Test button calls it."""
    monkeypatch.setenv("AIRFLOW__CORE__TEST_CONNECTION", "Enabled")
    if AIRFLOW_3:
        from airflow.api_fastapi.core_api.datamodels.connections import ConnectionBody
        from airflow.api_fastapi.core_api.routes.public.connections import test_connection

        class NoReadAccess:  # the caller may not read a stored connection: the body alone is tested
            def is_authorized_connection(self, **kwargs: Any) -> bool:
                return False

        body = ConnectionBody(connection_id="sa_ui", conn_type="slack_audit", password=token, extra=json.dumps(extras))
        answer = test_connection(body, None, NoReadAccess())
        return answer.status, answer.message
    from airflow.api_connexion.endpoints import connection_endpoint
    from flask import Flask

    payload = {"connection_id": "sa_ui", "conn_type": "slack_audit", "password": token, "extra": json.dumps(extras)}
    with Flask(__name__).test_request_context(json=payload):
        answer = connection_endpoint.test_connection.__wrapped__()
    return answer["status"], answer["message"]


@pytest.mark.airflow
def test_the_ui_test_button_path_accepts_the_fields_and_names_a_typo(airflow_db, slack_audit_emulator, monkeypatch):
    emu = slack_audit_emulator
    token = emu.token
    good = ui_test_extras({"base_url": emu.base_url, "timeout": "10", "max_retries": "1"})
    ok, message = run_test_endpoint(good, token, monkeypatch)
    assert ok, message
    assert "Connection successfully tested" in message
    typo = ui_test_extras({"base_url": emu.base_url}) | {"request_per_minute": "40"}
    ok, message = run_test_endpoint(typo, token, monkeypatch)
    assert not ok
    assert "unknown extra 'request_per_minute' (did you mean 'requests_per_minute'?)" in message
    assert token not in message
    assert not [k for k in os.environ if k.startswith("AIRFLOW_CONN_") and "SA_UI" in k]


@pytest.mark.airflow
@pytest.mark.skipif(AIRFLOW_3, reason="Airflow 2's Flask form (Airflow 3's UI saves the conn-fields by name)")
def test_what_airflow_2s_form_saves_is_read_and_a_typo_in_its_extra_box_is_named(airflow_db) -> None:
    from types import SimpleNamespace

    from airflow.models import Connection
    from airflow.www.views import ConnectionModelView

    def saved(extra_box: str, **fields: Any) -> dict[str, Any]:
        data = {"conn_id": "sa_form", "conn_type": "slack_audit", "extra": extra_box}
        for spec in EXTRA_FIELDS:  # an empty field: "" from a text box, None from an integer box
            data[PREFIX + spec.name] = fields.get(spec.name, None if spec.form == "integer" else "")
        form = SimpleNamespace(data=data, extra=SimpleNamespace(data=extra_box))
        view = SimpleNamespace(
            _iter_extra_field_names_and_sensitivity=lambda: ConnectionModelView._iter_extra_field_names_and_sensitivity(
                None
            )
        )
        ConnectionModelView.process_form(view, form, True)
        return json.loads(form.extra.data)

    stored = saved("", timeout="30")
    assert stored == {"timeout": "30", "max_retries": None}  # what Airflow 2.11 writes: an empty integer is null
    conn = Connection(conn_id="sa_form", conn_type="slack_audit", password=TOKEN, extra=json.dumps(stored))
    assert resolve(conn.extra_dejson).timeout == 30.0
    stored = saved('{"request_per_minute": 40}', timeout="30")
    with pytest.raises(SlackAuditConnectionError, match=r"'request_per_minute' \(did you mean 'requests_per_minute'"):
        resolve(Connection(conn_id="sa_form", conn_type="slack_audit", extra=json.dumps(stored)).extra_dejson)


def test_the_message_in_the_connection_guide_is_the_one_raised() -> None:
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[3] / "docs" / "connection.rst").read_text()
    start = guide.index("   Slack Audit Logs connection 'slack_audit_default': unknown extra")
    shown = " ".join(guide[start : guide.index("\n\n", start)].split())
    with pytest.raises(SlackAuditConnectionError) as caught:
        resolve_settings("slack_audit_default", password=TOKEN, login=None, extra={"request_per_minute": 40})
    head, _, tail = shown.partition("...")
    assert str(caught.value).startswith(head.rstrip(" ."))
    assert tail.strip("; ") in str(caught.value)
