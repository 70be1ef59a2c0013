"""Fidelity: slack_sdk's own AuditLogsClient works against the emulator as against Slack."""

from __future__ import annotations

import json

import pytest
from emulator_helpers import HOUR, T0

slack_sdk = pytest.importorskip("slack_sdk")
from slack_sdk.audit_logs import AuditLogsClient  # noqa: E402
from slack_sdk.audit_logs.v1.logs import LogsResponse  # noqa: E402
from slack_sdk.http_retry.builtin_handlers import (  # noqa: E402
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)


@pytest.fixture
def client(slack_audit_emulator) -> AuditLogsClient:
    return AuditLogsClient(token=slack_audit_emulator.token, base_url=slack_audit_emulator.base_url, timeout=30)


def test_schemas_and_actions(client):
    schemas = client.schemas()
    actions = client.actions()
    assert schemas.status_code == actions.status_code == 200
    assert any(s["type"] == "channel" for s in schemas.body["schemas"])
    assert "user_login" in actions.body["actions"]["user"]


def test_filtered_logs_parse_into_the_sdk_model(client, slack_audit_emulator):
    response = client.logs(oldest=T0, latest=T0 + HOUR, limit=200, action="user_login,file_downloaded")
    assert response.status_code == 200
    typed = response.typed_body
    assert isinstance(typed, LogsResponse)
    assert typed.entries
    assert {e.action for e in typed.entries} <= {"user_login", "file_downloaded"}
    assert all(T0 <= e.date_create <= T0 + HOUR for e in typed.entries)
    assert typed.response_metadata.next_cursor


def test_every_entry_of_a_day_parses_in_the_sdk_model(slack_audit_emulator):
    """All actions, entity types and detail shapes of a busy day survive slack_sdk's model."""
    entries = slack_audit_emulator.events(T0, T0 + 2 * HOUR)
    typed = LogsResponse(entries=entries, response_metadata={"next_cursor": ""})
    assert len(typed.entries) == len(entries)


def test_pagination_loop_resending_the_window(client, slack_audit_emulator):
    emu = slack_audit_emulator
    collected, cursor = [], None
    while True:
        response = client.logs(oldest=T0, latest=T0 + 1800, limit=100, actor=None, cursor=cursor)
        assert response.status_code == 200
        collected.extend(response.body["entries"])
        cursor = response.body["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert collected == emu.events(T0, T0 + 1800)
    cursored = [r for r in emu.requests if r.cursor]
    assert cursored
    assert all(r["oldest"] == str(T0) and r["latest"] == str(T0 + 1800) for r in cursored)


def test_rate_limited_call_is_retried_by_the_sdk_handler(slack_audit_emulator):
    emu = slack_audit_emulator
    emu.faults.add("rate_limit_burst", count=1, retry_after=0)
    client = AuditLogsClient(
        token=emu.token, base_url=emu.base_url, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)]
    )
    response = client.logs(oldest=T0, latest=T0 + 60, limit=10)
    assert response.status_code == 200
    assert [r.status for r in emu.requests] == [429, 200]


def test_rate_limited_without_handler_returns_the_429(client, slack_audit_emulator):
    slack_audit_emulator.faults.add("rate_limit_burst", retry_after=3)
    response = client.logs(oldest=T0, latest=T0 + 60, limit=10)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.body == {"ok": False, "error": "ratelimited"}


def test_server_error_retried_by_the_sdk_handler(slack_audit_emulator):
    emu = slack_audit_emulator
    emu.faults.add("http_503", count=1)
    client = AuditLogsClient(token=emu.token, base_url=emu.base_url, retry_handlers=[ServerErrorRetryHandler()])
    assert client.logs(oldest=T0, latest=T0 + 60, limit=10).status_code == 200


def test_errors_come_back_as_bodies(slack_audit_emulator):
    emu = slack_audit_emulator
    wrong = AuditLogsClient(token="xoxp-1-2-3-wrong", base_url=emu.base_url).logs(oldest=T0, latest=T0 + 60)
    assert (wrong.status_code, wrong.body) == (401, {"ok": False, "error": "invalid_authentication"})
    plan = AuditLogsClient(token=emu.error_tokens["feature_not_enabled"], base_url=emu.base_url).logs(limit=1)
    assert (plan.status_code, plan.body["error"]) == (403, "feature_not_enabled")
    bad_range = AuditLogsClient(token=emu.token, base_url=emu.base_url).logs(oldest=T0 + 5, latest=T0)
    assert json.loads(bad_range.raw_body) == {"ok": False, "error": "invalid_range"}
