"""A trigger ends when the triggerer cancels it, whatever it is waiting on at that moment.

The triggerer cancels a trigger when it stops or hands the trigger to another triggerer: a watcher that
swallowed the cancellation would keep polling (and firing, twice with its successor) for ever, and
whatever awaits it would hang. Here the cancellation arrives at the worst moment, deterministically: in
the same loop step as the awaited result, which ``asyncio.wait_for`` (Python < 3.12) answered by
returning the result and dropping the cancellation.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timezone

import pytest

from airflow_provider_slack_audit.client.async_client import AsyncSlackAuditLogsClient
from tests.fixtures.dag_runs import AIRFLOW_3

H0 = int(datetime(2024, 3, 1, tzinfo=timezone.utc).timestamp())  # in the emulator's default data


@pytest.fixture
def conn(slack_audit_emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_AUDIT_DEFAULT", slack_audit_emulator.airflow_conn_json())
    return slack_audit_emulator


def cancel_as_it_returns(monkeypatch, owner: type, name: str, when: Callable[..., bool], trigger) -> None:
    """Run ``trigger``, cancel it as a call of ``owner.name`` for which ``when(*args)`` holds returns (in that
    call, before its result is handed back), and fail if it goes on working (another such call returns)
    or ends otherwise than cancelled."""
    real = getattr(owner, name)
    state: dict = {"cancelled": False}
    outlived: list[str] = []

    async def returns_then_cancel(*args):
        result = await real(*args)
        if state["cancelled"]:
            outlived.append(f"{name}{args[1:]!r}"[:200])
            state["outlived"].set()
        elif when(*args):
            state["task"].cancel()  # the triggerer cancels it in the same loop step as the result
            state["cancelled"] = True
        return result

    monkeypatch.setattr(owner, name, returns_then_cancel)

    async def consume() -> None:
        async for _ in trigger.run():
            pass

    async def main() -> None:
        state["outlived"] = asyncio.Event()
        state["task"] = task = asyncio.create_task(consume())
        outlived_seen = asyncio.create_task(state["outlived"].wait())
        await asyncio.wait({task, outlived_seen}, return_when=asyncio.FIRST_COMPLETED)
        outlived_seen.cancel()
        if not task.done():  # it outlived the cancellation: stop it for good before the test fails
            task.cancel()
            await asyncio.wait({task})
        state["ended_cancelled"] = task.cancelled()

    asyncio.run(main())
    assert state["cancelled"], f"no matching {name} call returned: the test proves nothing"
    assert not outlived, f"the trigger went on after it was cancelled: {outlived}"
    assert state["ended_cancelled"]


@pytest.mark.skipif(not AIRFLOW_3, reason="asset watchers (BaseEventTrigger) need Airflow 3")
@pytest.mark.parametrize("path", ["schemas", "logs"], ids=["reading Slack's clock", "polling"])
def test_a_watcher_cancelled_as_slacks_answer_arrives_ends(conn, monkeypatch, path):
    from airflow_provider_slack_audit.triggers.slack_audit import SlackAuditLogsEventTrigger

    trigger = SlackAuditLogsEventTrigger(poll_interval=0.05, start=int(time.time()) - 60)
    cancel_as_it_returns(
        monkeypatch,
        AsyncSlackAuditLogsClient,
        "_fetch",
        lambda client, request, body: request.url.endswith(path),
        trigger,
    )


def test_a_sensor_trigger_cancelled_as_a_poll_ends_before_its_deadline_ends(conn, monkeypatch):
    from airflow_provider_slack_audit.triggers.slack_audit import SlackAuditLogsTrigger

    trigger = SlackAuditLogsTrigger(
        oldest=H0, latest=H0 + 59, min_events=10**6, poll_interval=0.05, timeout_at=time.time() + 3600
    )
    cancel_as_it_returns(monkeypatch, SlackAuditLogsTrigger, "_poll", lambda *args: True, trigger)
