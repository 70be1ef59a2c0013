"""The shared request budget through the hook: the two extras, the secrets, the connection test, and the
same pacer for the sync client, the async one and the triggers (real redis-server and emulator)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from urllib.parse import quote

import pytest
import redis
from airflow.providers.common.compat.sdk import redact

from airflow_provider_slack_audit.client.budget import (
    KEY_PREFIX,
    AsyncSharedRequestPacer,
    SharedRequestPacer,
    budget_key,
)
from airflow_provider_slack_audit.hooks import slack_audit as hook_module
from airflow_provider_slack_audit.hooks.connection_extras import FIELDS_BY_NAME, conn_fields
from airflow_provider_slack_audit.hooks.slack_audit import SlackAuditConnectionError, SlackAuditLogsHook
from airflow_provider_slack_audit.triggers.slack_audit import SlackAuditLogsTrigger
from tests.fixtures.redis import running_redis

PASSWORD = "st0re-pa#ss-" + "a1b2c3d4e5"
H0 = int(datetime(2024, 3, 1, tzinfo=timezone.utc).timestamp())


def define(monkeypatch: pytest.MonkeyPatch, conn_id: str, value: str) -> str:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", value)
    return conn_id


def test_the_two_extras_are_in_the_connection_form():
    assert {"rate_limit_storage_uri", "rate_limit_key"} <= set(FIELDS_BY_NAME)
    fields = conn_fields()
    assert "Redis" in fields["rate_limit_storage_uri"]["label"]
    assert "org's id" in fields["rate_limit_key"]["description"]


def test_a_connection_with_a_store_builds_the_shared_pacer(slack_audit_emulator, monkeypatch):
    uri = f"redis://:{quote(PASSWORD, safe='')}@127.0.0.1:6399/2"
    extra = {"requests_per_minute": 40, "rate_limit_storage_uri": uri, "rate_limit_key": "E0123ABCD"}
    hook = SlackAuditLogsHook(define(monkeypatch, "sa_budget", slack_audit_emulator.airflow_conn_json(extra)))
    pacer = hook.client.pacer
    assert isinstance(pacer, SharedRequestPacer)
    assert (pacer.key, pacer.requests_per_minute, pacer.store) == (
        KEY_PREFIX + "E0123ABCD",
        40.0,
        "redis://:***@127.0.0.1:6399/2",
    )
    settings = hook.get_connection_settings()
    for text in (repr(settings), str(settings), repr(pacer), repr(hook.client)):
        assert "a1b2c3d4e5" not in text
    hook.close()


def test_a_uri_connection_carries_the_extras_as_strings(slack_audit_emulator, monkeypatch):
    uri = "redis://127.0.0.1:6399/0"
    conn = slack_audit_emulator.airflow_conn_uri({"requests_per_minute": "30", "rate_limit_storage_uri": uri})
    hook = SlackAuditLogsHook(define(monkeypatch, "sa_budget_uri", conn))
    pacer = hook.client.pacer
    assert isinstance(pacer, SharedRequestPacer)
    assert pacer.key == budget_key(None, slack_audit_emulator.base_url, slack_audit_emulator.token)
    assert pacer.interval == 2.0
    hook.close()


def test_hook_arguments_win_over_the_extras(slack_audit_emulator, monkeypatch):
    extra = {"requests_per_minute": 40, "rate_limit_storage_uri": "redis://127.0.0.1:6399/0"}
    conn_id = define(monkeypatch, "sa_budget_args", slack_audit_emulator.airflow_conn_json(extra))
    hook = SlackAuditLogsHook(conn_id, rate_limit_key="E_FROM_ARGUMENT", requests_per_minute=20)
    assert hook.client.pacer.key == KEY_PREFIX + "E_FROM_ARGUMENT"
    assert hook.client.pacer.requests_per_minute == 20.0
    hook.close()


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({"requests_per_minute": 40, "rate_limit_storage_uri": "http://h:6379/0"}, "is not a Redis URI"),
        ({"requests_per_minute": 40, "rate_limit_storage_uri": "redis://h:6379/x"}, "must be a whole number"),
        ({"requests_per_minute": 40, "rate_limit_storage_uri": 6379}, "must be a URI string"),
        ({"rate_limit_storage_uri": "redis://h:6379/0"}, "requests_per_minute is not set"),
        ({"requests_per_minute": 40, "rate_limit_key": "E0123"}, "rate_limit_storage_uri, and that is not set"),
        (
            {"requests_per_minute": 40, "rate_limit_storage_uri": "redis://h/0", "rate_limit_key": "a b"},
            "rate_limit_key",
        ),
    ],
)
def test_bad_budget_extras_fail_naming_the_connection_and_the_fix(slack_audit_emulator, monkeypatch, extra, says):
    hook = SlackAuditLogsHook(define(monkeypatch, "sa_budget_bad", slack_audit_emulator.airflow_conn_json(extra)))
    with pytest.raises(SlackAuditConnectionError, match=says) as err:
        hook.get_connection_settings()
    assert "'sa_budget_bad'" in str(err.value)


def test_a_bad_uri_never_shows_its_password(slack_audit_emulator, monkeypatch):
    extra = {"requests_per_minute": 40, "rate_limit_storage_uri": f"redis://:{PASSWORD}@/0"}
    hook = SlackAuditLogsHook(define(monkeypatch, "sa_budget_leak", slack_audit_emulator.airflow_conn_json(extra)))
    with pytest.raises(SlackAuditConnectionError, match="password with #, / or \\? not percent-encoded") as err:
        hook.get_connection_settings()
    assert "a1b2c3d4e5" not in str(err.value)


def test_the_stores_password_is_registered_with_the_secrets_masker(slack_audit_emulator, monkeypatch):
    calls: list[str] = []
    real = hook_module.mask_secret

    def spy(secret, *args, **kwargs):
        calls.append(secret)
        return real(secret, *args, **kwargs)

    monkeypatch.setattr(hook_module, "mask_secret", spy)
    encoded = quote(PASSWORD, safe="")
    extra = {"requests_per_minute": 40, "rate_limit_storage_uri": f"redis://:{encoded}@127.0.0.1:6399/0"}
    hook = SlackAuditLogsHook(define(monkeypatch, "sa_budget_mask", slack_audit_emulator.airflow_conn_json(extra)))
    hook.get_connection_settings()
    assert PASSWORD in calls  # as redis-py sends it
    assert encoded in calls  # as the URI writes it
    assert redact(f"store password {PASSWORD}") == "store password ***"


def test_the_async_client_for_triggers_builds_the_same_budget(slack_audit_emulator, monkeypatch):
    extra = {"requests_per_minute": 40, "rate_limit_storage_uri": "redis://127.0.0.1:6399/0"}
    hook = SlackAuditLogsHook(define(monkeypatch, "sa_budget_async", slack_audit_emulator.airflow_conn_json(extra)))

    async def build() -> AsyncSharedRequestPacer:
        client = await hook.get_async_client()
        async with client:
            return client.pacer

    pacer = asyncio.run(build())
    assert isinstance(pacer, AsyncSharedRequestPacer)
    sync = hook.client.pacer
    assert (pacer.key, pacer.store, pacer.interval, pacer.burst) == (sync.key, sync.store, sync.interval, sync.burst)
    hook.close()


def test_the_sensors_trigger_draws_its_calls_from_the_shared_budget(slack_audit_emulator, redis_server, monkeypatch):
    """The trigger asks the hook for its client: its calls book slots in the budget's key."""
    extra = {"requests_per_minute": 600, "rate_limit_storage_uri": redis_server.url(), "rate_limit_key": "E_TRIG"}
    define(monkeypatch, "slack_audit_default", slack_audit_emulator.airflow_conn_json(extra))
    trigger = SlackAuditLogsTrigger(
        oldest=H0, latest=H0 + 3599, action=["user_login"], poll_interval=0.1, timeout_at=time.time() + 30
    )

    async def first_event():
        async for event in trigger.run():
            return event
        return None

    event = asyncio.run(asyncio.wait_for(first_event(), timeout=60))
    assert event.payload["status"] == "success", event.payload
    store = redis.Redis.from_url(redis_server.url())
    assert store.exists(KEY_PREFIX + "E_TRIG") == 1  # booked by the trigger's calls (it expires when idle)
    store.close()


# --- the connection test checks the store ---------------------------------------------------------------


def test_the_connection_test_checks_the_store_and_says_it_works(slack_audit_emulator, monkeypatch):
    with running_redis(password=PASSWORD) as server:
        extra = {"requests_per_minute": 600, "rate_limit_storage_uri": server.url()}
        hook = SlackAuditLogsHook(define(monkeypatch, "sa_budget_ok", slack_audit_emulator.airflow_conn_json(extra)))
        ok, message = hook.test_connection()
        assert ok is True, message
        assert f"the shared request budget's store redis://:***@127.0.0.1:{server.port}/0 works" in message
        store = redis.Redis.from_url(server.url())
        assert store.execute_command("SCRIPT", "EXISTS", hook.client.pacer._script.sha) == [1]  # loaded by the test
        store.close()
        hook.close()
    assert "a1b2c3d4e5" not in message


def test_the_connection_test_says_when_the_store_cannot_be_reached(slack_audit_emulator, monkeypatch):
    with running_redis(password=PASSWORD) as server:
        uri = server.url()
        server.kill()
        extra = {"requests_per_minute": 600, "rate_limit_storage_uri": uri}
        hook = SlackAuditLogsHook(define(monkeypatch, "sa_budget_down", slack_audit_emulator.airflow_conn_json(extra)))
        ok, message = hook.test_connection()
    assert ok is False
    assert "SlackAuditLogsBudgetStoreError" in message
    assert "could not be reached to answer PING" in message
    assert "a1b2c3d4e5" not in message
    assert slack_audit_emulator.all_requests == []  # no call to Slack without its budget


def test_the_connection_test_says_when_the_password_is_wrong(slack_audit_emulator, monkeypatch):
    with running_redis(password=PASSWORD) as server:
        wrong = f"redis://:wrong-password@127.0.0.1:{server.port}/0"
        extra = {"requests_per_minute": 600, "rate_limit_storage_uri": wrong}
        hook = SlackAuditLogsHook(define(monkeypatch, "sa_budget_auth", slack_audit_emulator.airflow_conn_json(extra)))
        ok, message = hook.test_connection()
    assert ok is False
    assert "refused the credentials" in message
    assert "wrong-password" not in message
