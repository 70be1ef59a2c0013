"""SlackAuditLogsHook against the emulator, with connections from environment variables (JSON and URI)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from airflow_provider_slack_audit.client import LogsQuery, SlackAuditLogsAuthError, SlackAuditLogsServerError
from airflow_provider_slack_audit.hooks.slack_audit import SlackAuditLogsHook

# Ten minutes of the emulator's default data (about 1,000 events an hour).
OLDEST = int(datetime(2024, 3, 5, 14, 0, tzinfo=timezone.utc).timestamp())
LATEST = OLDEST + 600 - 1


@pytest.fixture(params=["json", "uri"])
def conn_id(request, slack_audit_emulator, monkeypatch):
    """A slack_audit connection to the emulator, defined as JSON or as a URI in ``AIRFLOW_CONN_*``."""
    name = f"sa_emulator_{request.param}"
    value = (
        slack_audit_emulator.airflow_conn_json() if request.param == "json" else slack_audit_emulator.airflow_conn_uri()
    )
    monkeypatch.setenv(f"AIRFLOW_CONN_{name.upper()}", value)
    return name


def _define(monkeypatch, name: str, value: str) -> str:
    monkeypatch.setenv(f"AIRFLOW_CONN_{name.upper()}", value)
    return name


def ids(events):
    return [event["id"] for event in events]


def test_iter_events_returns_exactly_the_window(conn_id, slack_audit_emulator):
    expected = slack_audit_emulator.events(OLDEST, LATEST)
    assert len(expected) > 50, "the window should span several pages"
    got = list(SlackAuditLogsHook(conn_id).iter_events(OLDEST, LATEST, page_size=40))
    assert ids(got) == ids(expected)
    assert all(OLDEST <= event["date_create"] <= LATEST for event in got)
    calls = slack_audit_emulator.requests
    assert len(calls) > 1
    for call in calls:  # bounds and page size go with every cursor
        assert call.params["oldest"] == str(OLDEST)
        assert call.params["latest"] == str(LATEST)
        assert call.params["limit"] == "40"


def test_iter_pages_yields_the_same_events_page_by_page(conn_id, slack_audit_emulator):
    pages = list(SlackAuditLogsHook(conn_id).iter_pages(LogsQuery(oldest=OLDEST, latest=LATEST, limit=100)))
    assert len(pages) > 1
    assert ids(entry for page in pages for entry in page.entries) == ids(slack_audit_emulator.events(OLDEST, LATEST))


def test_filters_reach_the_api(conn_id, slack_audit_emulator):
    window = slack_audit_emulator.events(OLDEST, LATEST)
    actions = sorted({event["action"] for event in window})[:2]
    actor = window[0]["actor"]["user"]["id"]
    hook = SlackAuditLogsHook(conn_id)

    by_action = list(hook.iter_events(OLDEST, LATEST, action=actions))
    assert by_action
    assert ids(by_action) == ids(slack_audit_emulator.events(OLDEST, LATEST, action=actions))
    assert slack_audit_emulator.requests[-1].params["action"] == ",".join(actions)

    by_actor = list(hook.iter_events(OLDEST, LATEST, actor=actor))
    assert ids(by_actor) == ids(slack_audit_emulator.events(OLDEST, LATEST, actor=actor))
    assert {event["actor"]["user"]["id"] for event in by_actor} == {actor}


def test_schemas_and_actions(conn_id):
    hook = SlackAuditLogsHook(conn_id)
    assert any(schema["type"] == "user" for schema in hook.schemas()["schemas"])
    assert "user_login" in hook.actions()["actions"]["user"]


def test_test_connection_reads_logs_with_limit_one(conn_id, slack_audit_emulator):
    ok, message = SlackAuditLogsHook(conn_id).test_connection()
    assert ok is True, message
    assert slack_audit_emulator.base_url in message
    (call,) = slack_audit_emulator.all_requests
    assert call.endpoint == "logs"
    assert call.params["limit"] == "1"


@pytest.mark.parametrize(
    "code",
    ["invalid_authentication", "feature_not_enabled", "missing_scope", "team_not_authorized", "user_not_authorized"],
)
def test_test_connection_reports_slacks_error_code(code, slack_audit_emulator, monkeypatch):
    bad_token = slack_audit_emulator.error_tokens[code]
    conn_json = slack_audit_emulator.airflow_conn_json().replace(slack_audit_emulator.token, bad_token)
    hook = SlackAuditLogsHook(_define(monkeypatch, "sa_refused", conn_json))
    ok, message = hook.test_connection()
    assert ok is False
    assert code in message
    assert bad_token not in message
    with pytest.raises(SlackAuditLogsAuthError, match=code):
        next(hook.iter_events(OLDEST, LATEST))


def test_test_connection_with_a_wrong_token(slack_audit_emulator, monkeypatch):
    wrong = "xoxp-1234-5678-wrong-token-abcdef"
    conn_uri = slack_audit_emulator.airflow_conn_uri().replace(slack_audit_emulator.token, wrong)
    ok, message = SlackAuditLogsHook(_define(monkeypatch, "sa_wrong", conn_uri)).test_connection()
    assert ok is False
    assert "invalid_authentication" in message
    assert wrong not in message


def test_test_connection_never_raises(monkeypatch):
    ok, message = SlackAuditLogsHook("sa_test_missing").test_connection()
    assert ok is False
    assert "'sa_test_missing' is not defined" in message
    bad = _define(
        monkeypatch, "sa_test_bad", '{"conn_type": "slack_audit", "password": "xoxp-1-2", "extra": {"timeout": "x"}}'
    )
    ok, message = SlackAuditLogsHook(bad).test_connection()
    assert ok is False
    assert "extra 'timeout'" in message


def test_test_connection_answers_quickly_when_nothing_listens(monkeypatch):
    # Port 9 on loopback: refused at once. The test client makes at most 2 retries, bounded waits.
    extra = '{"base_url": "http://127.0.0.1:9/audit/v1/", "max_retry_wait": 0.01}'
    conn = f'{{"conn_type": "slack_audit", "password": "xoxp-1-2-3", "extra": {extra}}}'
    ok, message = SlackAuditLogsHook(_define(monkeypatch, "sa_nobody", conn)).test_connection()
    assert ok is False
    assert message.startswith("Could not read audit logs at http://127.0.0.1:9/audit/v1/logs: ")
    assert "after 3 attempts" in message, "test_connection bounds the retries (the client's default is 8)"


def test_retry_settings_from_the_connection_are_used(slack_audit_emulator, monkeypatch, capsys):
    slack_audit_emulator.faults.add("http_503", count=2)
    conn = slack_audit_emulator.airflow_conn_uri({"max_retries": 2, "max_retry_wait": 0.01})
    events = list(SlackAuditLogsHook(_define(monkeypatch, "sa_retry", conn)).iter_events(OLDEST, OLDEST + 59))
    assert ids(events) == ids(slack_audit_emulator.events(OLDEST, OLDEST + 59))
    assert [call.status for call in slack_audit_emulator.requests][:3] == [503, 503, 200]
    assert slack_audit_emulator.token not in capsys.readouterr().out

    slack_audit_emulator.faults.add("http_503", count=2)
    conn = slack_audit_emulator.airflow_conn_uri({"max_retries": 1, "max_retry_wait": 0.01})
    with pytest.raises(SlackAuditLogsServerError, match="503"):
        list(SlackAuditLogsHook(_define(monkeypatch, "sa_retry_once", conn)).iter_events(OLDEST, OLDEST + 59))
