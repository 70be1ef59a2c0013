"""The trigger always ends with an event: bodies it cannot read, a poll the deadline cuts, a surprise."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from airflow.triggers.base import TriggerEvent

from airflow_provider_slack_audit.triggers import matching
from airflow_provider_slack_audit.triggers.slack_audit import SlackAuditLogsTrigger

sys.path.insert(0, str(Path(__file__).parent.parent / "client"))
from raw_server import http_response, raw_server, send, trickle

TOKEN = "xoxp-5555555555-6666666666-7777777777-triggertrigger0123"


def conn_on(monkeypatch, base_url: str, **extra) -> None:
    extra = {"base_url": base_url, "max_retries": 1, "max_retry_wait": 0.01, **extra}
    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_AUDIT_DEFAULT", json.dumps({"conn_type": "slack_audit", "password": TOKEN, "extra": extra})
    )


def events_of(trigger: SlackAuditLogsTrigger, limit: float = 30) -> list[TriggerEvent]:
    async def collect() -> list[TriggerEvent]:
        return [event async for event in trigger.run()]

    return asyncio.run(asyncio.wait_for(collect(), limit))


def trigger(**kwargs) -> SlackAuditLogsTrigger:
    return SlackAuditLogsTrigger(oldest=1_700_000_000, latest=1_700_003_599, poll_interval=0.05, **kwargs)


def test_a_body_nested_5000_deep_ends_in_an_error_event(monkeypatch):
    with raw_server(send(http_response("[" * 5000 + "]" * 5000))) as server:
        conn_on(monkeypatch, server.base_url)
        (event,) = events_of(trigger(timeout_at=time.time() + 20))
    assert event.payload["status"] == "error"
    assert event.payload["kind"] == "server"
    assert "cut short or not JSON" in event.payload["message"]
    assert server.calls == 2  # retried once, as the connection says
    assert TOKEN not in json.dumps(event.payload)


def test_the_deadline_cuts_a_poll_a_trickling_server_drags_out(monkeypatch):
    """Each attempt may take 10 s (timeout), but the sensor's deadline is 1 s away: the poll is cut at it."""
    with raw_server(trickle(http_response({"entries": [], "response_metadata": {"next_cursor": ""}}), 0.2)) as server:
        conn_on(monkeypatch, server.base_url, timeout=10)
        started = time.monotonic()
        (event,) = events_of(trigger(timeout_at=time.time() + 1))
        took = time.monotonic() - started
    assert event.payload["status"] == "timeout"
    assert took < 3, f"the trigger ran {took:.1f}s past a 1 s deadline"


def test_an_unexpected_exception_ends_in_an_error_event_not_a_dead_trigger(monkeypatch):
    with raw_server(send(http_response({"entries": [{"id": "a", "date_create": 1_700_000_001}]}))) as server:
        conn_on(monkeypatch, server.base_url)

        def broken(self, entry):
            raise KeyError("surprise")

        monkeypatch.setattr(matching.MatchCollector, "add", broken)
        (event,) = events_of(trigger(timeout_at=time.time() + 20))
    assert event.payload["status"] == "error"
    assert event.payload["kind"] == "error"
    assert "surprise" in event.payload["message"]


def test_every_hook_setting_reaches_the_async_client(monkeypatch):
    from airflow_provider_slack_audit.hooks.slack_audit import SlackAuditLogsHook

    conn_on(monkeypatch, "http://127.0.0.1:9/audit/v1/", timeout=7, max_retries=3, requests_per_minute=30)
    hook = SlackAuditLogsHook(max_total_wait=12.0, user_agent_suffix="probe")

    async def both():
        client = await hook.get_async_client()
        async with client:
            return client

    aclient, client = asyncio.run(both()), hook.client
    for attribute in ("base_url", "timeout", "retry_settings", "default_headers", "max_body_bytes"):
        if attribute == "default_headers":
            assert aclient.default_headers["User-Agent"].endswith("probe")
            assert client.default_headers["User-Agent"].endswith("probe")
        else:
            assert getattr(aclient, attribute) == getattr(client, attribute), attribute
    assert aclient.pacer.requests_per_minute == client.pacer.requests_per_minute == 30
    assert aclient.retry_settings.max_total_wait == 12.0
    hook.close()
