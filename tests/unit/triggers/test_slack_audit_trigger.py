"""SlackAuditLogsTrigger: its serialisation, and its async generator run against the emulator."""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from datetime import datetime, timezone

import pytest
from airflow.triggers.base import TriggerEvent

from airflow_provider_slack_audit.triggers.slack_audit import SlackAuditLogsTrigger

H0 = int(datetime(2024, 3, 1, tzinfo=timezone.utc).timestamp())
HOUR_END = H0 + 3599
LOGIN = "user_login"


def run_trigger(trigger: SlackAuditLogsTrigger) -> list[TriggerEvent]:
    """Every event the trigger's async generator yields, run to its end on a fresh event loop."""

    return asyncio.run(asyncio.wait_for(_events(trigger), timeout=60))


@pytest.fixture
def conn(slack_audit_emulator, monkeypatch):
    """slack_audit_default on the emulator, with a small, fast retry budget."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_AUDIT_DEFAULT",
        slack_audit_emulator.airflow_conn_json(extra={"max_retries": 2, "max_retry_wait": 0.05}),
    )
    return slack_audit_emulator


def make_trigger(**overrides) -> SlackAuditLogsTrigger:
    kwargs = {
        "oldest": H0,
        "latest": HOUR_END,
        "action": [LOGIN],
        "min_events": 1,
        "max_events_returned": 5,
        "poll_interval": 0.1,
        "timeout_at": time.time() + 30,
    }
    kwargs.update(overrides)
    return SlackAuditLogsTrigger(**kwargs)


# --------------------------------------------------------------------------- serialisation


def test_serialize_round_trips_through_json_and_the_classpath():
    trigger = SlackAuditLogsTrigger(
        oldest=H0,
        latest=HOUR_END,
        slack_audit_conn_id="audit_prod",
        action=("app_installed", "role_change_to_admin"),
        actor="W123",
        entity="A456",
        page_size=500,
        min_events=2,
        max_events_returned=10,
        poll_interval=30,
        timeout_at=1_900_000_000.5,
        exponential_backoff=True,
        max_wait=600,
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_slack_audit.triggers.slack_audit.SlackAuditLogsTrigger"
    # JSON-safe: exactly what comes back from a JSON round trip (no tuples, datetimes or objects).
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert kwargs == {
        "oldest": H0,
        "latest": HOUR_END,
        "slack_audit_conn_id": "audit_prod",
        "action": ["app_installed", "role_change_to_admin"],
        "actor": "W123",
        "entity": "A456",
        "page_size": 500,
        "min_events": 2,
        "max_events_returned": 10,
        "poll_interval": 30.0,
        "timeout_at": 1_900_000_000.5,
        "exponential_backoff": True,
        "max_wait": 600.0,
    }
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(importlib.import_module(module), name)(**json.loads(json.dumps(kwargs)))
    assert rebuilt.serialize() == (classpath, kwargs)


def test_action_given_as_a_string_is_split_into_names():
    assert make_trigger(action="app_installed, role_assigned").action == ["app_installed", "role_assigned"]
    assert make_trigger(action=None).action is None


def test_serialized_kwargs_never_hold_the_token(conn):
    _, kwargs = make_trigger().serialize()
    assert conn.token not in json.dumps(kwargs)


# --------------------------------------------------------------------------- pure helpers


def test_waits_between_polls_back_off_up_to_max_wait_when_asked():
    assert [make_trigger(poll_interval=2).next_wait(n) for n in (1, 2, 3)] == [2, 2, 2]
    backing_off = make_trigger(poll_interval=2, exponential_backoff=True, max_wait=10)
    assert [backing_off.next_wait(n) for n in (1, 2, 3, 4, 50)] == [2, 4, 8, 10, 10]
    assert make_trigger(poll_interval=1, exponential_backoff=True).next_wait(6) == 32


# --------------------------------------------------------------------------- against the emulator


def test_sees_late_events_once_they_become_visible(conn):
    expected = conn.events(H0, HOUR_END, action=LOGIN)
    assert len(expected) > 5
    conn.late_events(H0, HOUR_END, delay=1.0)
    assert conn.events(H0, HOUR_END, action=LOGIN, include_late=False) == []

    (event,) = run_trigger(make_trigger())

    assert event.payload["status"] == "success"
    assert event.payload["events"] == expected[:5]  # the newest five, as the API orders them
    assert event.payload["count"] == 5
    assert event.payload["polls"] >= 2
    first, *_ = conn.requests
    assert first.entries == 0  # the first poll found nothing: the events were still hidden
    assert all(r["oldest"] == str(H0) and r["latest"] == str(HOUR_END) for r in conn.requests)
    assert all(r["action"] == LOGIN for r in conn.requests)


def test_min_events_counts_distinct_events_across_pages(conn):
    expected = conn.events(H0, HOUR_END, action=LOGIN)
    (event,) = run_trigger(make_trigger(min_events=len(expected), max_events_returned=3, page_size=7))
    assert event.payload["status"] == "success"
    assert event.payload["count"] == len(expected)
    assert event.payload["events"] == expected[:3]
    assert len(conn.requests) > 1
    assert all(r.get("cursor") is None or r["oldest"] == str(H0) for r in conn.requests)


def test_times_out_when_too_few_events_match(conn):
    total = len(conn.events(H0, HOUR_END, action=LOGIN))
    # The deadline leaves whole polls time to finish (each poll is cut at the deadline; see the next test).
    (event,) = run_trigger(make_trigger(min_events=total + 1, timeout_at=time.time() + 3, poll_interval=0.1))
    assert event.payload["status"] == "timeout"
    assert event.payload["count"] == total
    assert f"{total} of {total + 1}" in event.payload["message"]


def test_auth_error_ends_with_an_error_event_carrying_slacks_code(conn, monkeypatch):
    token = conn.error_tokens["missing_scope"]
    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_AUDIT_DEFAULT",
        json.dumps({"conn_type": "slack_audit", "password": token, "extra": {"base_url": conn.base_url}}),
    )
    (event,) = run_trigger(make_trigger())
    assert event.payload["status"] == "error"
    assert event.payload["kind"] == "auth"
    assert event.payload["error"] == "missing_scope"
    assert "auditlogs:read" in event.payload["message"]
    assert token not in json.dumps(event.payload)
    assert len(conn.requests) == 1  # never retried


def test_exhausted_retries_end_with_an_error_event(conn):
    conn.faults.add("http_503", count=None)
    (event,) = run_trigger(make_trigger())
    assert event.payload["status"] == "error"
    assert event.payload["kind"] == "server"
    assert event.payload["status_code"] == 503
    assert "after 3 attempts" in event.payload["message"]
    assert len(conn.requests) == 3  # the first attempt and max_retries=2 retries


def test_rate_limit_and_server_errors_within_the_budget_are_retried(conn, monkeypatch):
    extra = {"max_retries": 3, "max_retry_wait": 0.05}
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_AUDIT_DEFAULT", conn.airflow_conn_json(extra=extra))
    conn.faults.add("rate_limit_burst", count=1, retry_after=0)
    conn.faults.add("http_502", count=1)
    conn.faults.add("cut_body", count=1)
    (event,) = run_trigger(make_trigger())
    assert event.payload["status"] == "success"
    assert event.payload["events"] == conn.events(H0, HOUR_END, action=LOGIN)[:5]
    assert conn.stats.faults == {"rate_limit_burst": 1, "http_502": 1, "cut_body": 1}
    assert len(conn.requests) == 4


def test_missing_connection_ends_with_a_config_error(slack_audit_emulator):
    (event,) = run_trigger(make_trigger(slack_audit_conn_id="no_such_slack_audit_conn"))
    assert event.payload["status"] == "error"
    assert event.payload["kind"] == "config"
    assert "no_such_slack_audit_conn" in event.payload["message"]


def test_a_slow_answer_does_not_block_the_event_loop(conn):
    """While a request waits on a slow answer, other coroutines on the same loop keep running."""
    conn.faults.add("slow", count=1, delay=1.0)
    ticks: list[float] = []

    async def scenario() -> list[TriggerEvent]:
        trigger_task = asyncio.ensure_future(_events(make_trigger()))
        while not trigger_task.done():
            ticks.append(time.time())
            await asyncio.sleep(0.01)
        return trigger_task.result()

    (event,) = asyncio.run(scenario())
    assert event.payload["status"] == "success"
    (slow,) = [r for r in conn.requests if r.fault == "slow"]
    # Had the request blocked the loop, no tick could fall between its arrival and its answer.
    assert any(slow.time < t < slow.time + 1.0 for t in ticks)


async def _events(trigger: SlackAuditLogsTrigger) -> list[TriggerEvent]:
    return [event async for event in trigger.run()]
