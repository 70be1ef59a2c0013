"""Our own client against the emulator: whole windows, through faults, with the window re-sent."""

from __future__ import annotations

import logging

import pytest
from emulator_helpers import HOUR, T0

from airflow_provider_slack_audit.client import (
    SlackAuditLogsAuthError,
    SlackAuditLogsBadRequestError,
    SlackAuditLogsClient,
)


@pytest.fixture
def client(slack_audit_emulator, caplog):
    caplog.set_level(logging.DEBUG)
    sleeps: list[float] = []
    with SlackAuditLogsClient(
        slack_audit_emulator.token, base_url=slack_audit_emulator.base_url, timeout=10, sleep=sleeps.append
    ) as c:
        c.sleeps = sleeps  # type: ignore[attr-defined]
        yield c
    assert slack_audit_emulator.token not in caplog.text


def test_iter_logs_gets_exactly_the_window(client, slack_audit_emulator):
    emu = slack_audit_emulator
    got = list(client.iter_logs(oldest=T0, latest=T0 + HOUR - 1, limit=200))
    assert got == emu.events(T0, T0 + HOUR - 1)
    cursored = [r for r in emu.requests if r.cursor]
    assert cursored
    assert all((r["oldest"], r["latest"]) == (str(T0), str(T0 + HOUR - 1)) for r in cursored)


def test_iter_logs_with_filters(client, slack_audit_emulator):
    got = list(client.iter_logs(oldest=T0, latest=T0 + HOUR, action=["user_login", "file_uploaded"], limit=50))
    assert got == slack_audit_emulator.events(T0, T0 + HOUR, action="user_login,file_uploaded")


def test_survives_every_transient_fault(client, slack_audit_emulator):
    emu = slack_audit_emulator
    for kind in ("http_500", "http_503", "reset", "cut_body", "not_json", "duplicate_entries"):
        emu.faults.add(kind, count=1)
    emu.faults.add("rate_limit_burst", count=2, retry_after=3)
    got = list(client.iter_logs(oldest=T0, latest=T0 + HOUR - 1, limit=100))
    assert got == emu.events(T0, T0 + HOUR - 1)
    assert emu.faults.armed == []  # every fault fired
    assert any(s >= 3 for s in client.sleeps)  # Retry-After honoured (jitter on top)


def test_rejected_cursor_mid_walk_loses_nothing(client, slack_audit_emulator):
    emu = slack_audit_emulator
    emu.faults.add("reject_cursor", on_call=2)
    got = list(client.iter_logs(oldest=T0, latest=T0 + 1800, limit=50))
    assert got == emu.events(T0, T0 + 1800)


def test_refusing_org_raises_auth_error(slack_audit_emulator):
    emu = slack_audit_emulator
    client = SlackAuditLogsClient(emu.error_tokens["feature_not_enabled"], base_url=emu.base_url)
    with client, pytest.raises(SlackAuditLogsAuthError) as info:
        list(client.iter_logs(oldest=T0, latest=T0 + 60))
    assert info.value.error == "feature_not_enabled"


def test_bad_range_raises_bad_request(client):
    with pytest.raises(SlackAuditLogsBadRequestError):
        list(client.iter_logs(oldest=1_000_000_000, latest=1_000_000_100))


@pytest.mark.parametrize("form", ["json", "uri"])
def test_airflow_connection_values_point_the_hook_at_the_emulator(slack_audit_emulator, monkeypatch, form):
    pytest.importorskip("airflow")
    from airflow_provider_slack_audit.hooks.slack_audit import SlackAuditLogsHook

    emu = slack_audit_emulator
    value = emu.airflow_conn_json({"timeout": 20}) if form == "json" else emu.airflow_conn_uri({"timeout": 20})
    monkeypatch.setenv("AIRFLOW_CONN_EMULATOR_TEST", value)
    hook = SlackAuditLogsHook("emulator_test")
    connection = hook.get_connection("emulator_test")
    assert connection.conn_type == "slack_audit"
    assert connection.password == emu.token
    assert hook.client.base_url == emu.base_url
    assert list(hook.iter_events(T0, T0 + 600)) == emu.events(T0, T0 + 600)
