"""AsyncSlackAuditLogsClient, the trigger's HTTP client, against the emulator."""

from __future__ import annotations

import asyncio
import socket
from datetime import datetime, timezone

import pytest

from airflow_provider_slack_audit.client import (
    AsyncSlackAuditLogsClient,
    SlackAuditLogsArgumentError,
    SlackAuditLogsBadRequestError,
    SlackAuditLogsServerError,
)

H0 = int(datetime(2024, 3, 1, tzinfo=timezone.utc).timestamp())
HOUR_END = H0 + 3599


def collect(client: AsyncSlackAuditLogsClient, **query) -> list[dict]:
    async def go() -> list[dict]:
        async with client:
            return [entry async for entry in client.iter_logs(**query)]

    return asyncio.run(asyncio.wait_for(go(), timeout=60))


def client_for(emu, **kwargs) -> AsyncSlackAuditLogsClient:
    kwargs.setdefault("max_retries", 3)
    kwargs.setdefault("max_retry_wait", 0.05)
    return AsyncSlackAuditLogsClient(emu.token, base_url=emu.base_url, **kwargs)


def test_walks_every_page_once_despite_repeats_and_a_rejected_cursor(slack_audit_emulator):
    emu = slack_audit_emulator
    emu.faults.add("duplicate_entries", count=2, duplicates=3)
    emu.faults.add("reject_cursor", count=1, skip=2)
    got = collect(client_for(emu), oldest=H0, latest=HOUR_END, limit=100)
    assert got == emu.events(H0, HOUR_END)
    assert len(got) > 300  # several pages
    assert all(r["oldest"] == str(H0) and r["limit"] == "100" for r in emu.requests)
    assert emu.stats.faults == {"duplicate_entries": 2, "reject_cursor": 1}


def test_filters_are_sent_with_every_cursor(slack_audit_emulator):
    emu = slack_audit_emulator
    got = collect(client_for(emu), oldest=H0, latest=HOUR_END, action=["user_login", "user_logout"], limit=20)
    assert got == emu.events(H0, HOUR_END, action=["user_login", "user_logout"])
    paged = [r for r in emu.requests if r.cursor]
    assert paged
    assert all(r["action"] == "user_login,user_logout" and r["latest"] == str(HOUR_END) for r in paged)


@pytest.mark.parametrize("fault", ["reset", "not_json", "http_500", "http_504"])
def test_transient_failures_are_retried(slack_audit_emulator, fault):
    emu = slack_audit_emulator
    emu.faults.add(fault, count=2)
    assert collect(client_for(emu), oldest=H0, latest=H0 + 59) == emu.events(H0, H0 + 59)
    assert emu.stats.faults == {fault: 2}


def test_bodies_cut_short_past_the_retries_say_so(slack_audit_emulator):
    emu = slack_audit_emulator
    emu.faults.add("cut_body", count=None)
    with pytest.raises(SlackAuditLogsServerError, match=r"after 4 attempts: a body cut short"):
        collect(client_for(emu), oldest=H0, latest=HOUR_END)
    assert len(emu.requests) == 4


def test_bad_requests_are_not_retried(slack_audit_emulator):
    emu = slack_audit_emulator
    with pytest.raises(SlackAuditLogsBadRequestError, match="invalid_action"):
        collect(client_for(emu), oldest=H0, latest=HOUR_END, action="no_such_action")
    assert len(emu.requests) == 1
    assert [r.endpoint for r in emu.all_requests] == ["logs", "actions"]  # the list read once, to name the nearest


def test_arguments_are_checked_before_any_call(slack_audit_emulator):
    with pytest.raises(SlackAuditLogsArgumentError, match="oldest"):
        collect(client_for(slack_audit_emulator), oldest=HOUR_END, latest=H0)
    assert slack_audit_emulator.requests == []


def test_an_unreachable_server_fails_after_the_retries_without_the_token():
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    token = "xoxp-unreachable-secret-token"
    client = AsyncSlackAuditLogsClient(
        token, base_url=f"http://127.0.0.1:{port}/audit/v1/", max_retries=2, max_retry_wait=0.01
    )
    with pytest.raises(SlackAuditLogsServerError, match="after 3 attempt") as info:
        collect(client, oldest=H0, latest=HOUR_END)
    assert token not in str(info.value)
    assert client.stats.calls == 3


def test_repr_hides_the_token_and_plain_http_is_for_loopback_only(slack_audit_emulator):
    client = client_for(slack_audit_emulator)
    assert slack_audit_emulator.token not in repr(client)
    asyncio.run(client.aclose())
    with pytest.raises(ValueError, match="unencrypted"):
        AsyncSlackAuditLogsClient("xoxp-1", base_url="http://audit.example.com/audit/v1/")
    with pytest.raises(ValueError, match="CA bundle"):
        AsyncSlackAuditLogsClient("xoxp-1", ssl="/no/such/ca-bundle.pem")
