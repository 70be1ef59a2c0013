"""Two messages that must point at the fix: an unknown action name (with the nearest valid ones, read
once per client from the ``actions`` method) and a host whose name cannot be resolved (DNS).

Both clients: the sync one through requests-mock, the async one through an httpx MockTransport.
"""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
import requests
from client_helpers import BASE, LOGS, TOKEN

from airflow_provider_slack_audit.client import (
    AsyncSlackAuditLogsClient,
    SlackAuditLogsArgumentError,
    SlackAuditLogsBadRequestError,
    SlackAuditLogsClient,
    SlackAuditLogsConnectionError,
)
from airflow_provider_slack_audit.client.query import check_actions, known_actions

ACTIONS = BASE + "actions"
ACTIONS_BODY = {
    "actions": {
        "user": ["user_login", "user_logout", "user_login_failed"],
        "file": ["file_downloaded", "file_uploaded"],
        "app": ["app_installed"],
    }
}
REFUSED = {"ok": False, "error": "invalid_action"}
EMPTY_PAGE = {"entries": [], "response_metadata": {"next_cursor": ""}}
H0, H1 = 1709251200, 1709254799


# --- the rule ------------------------------------------------------------------------------------------


def test_the_rule_names_each_unknown_action_with_its_nearest_valid_ones():
    known = known_actions(ACTIONS_BODY)
    check_actions(("user_login", "file_uploaded"), known)  # all known: nothing to say
    check_actions(("user_loginn",), None)  # no list: nothing checked
    with pytest.raises(SlackAuditLogsArgumentError) as info:
        check_actions(("user_loginn", "file_downloaded", "zzz"), known)
    message = str(info.value)
    assert "2 unknown actions" in message
    assert "'user_loginn' (nearest: user_login, user_logout, user_login_failed)" in message
    assert "'zzz' (no close match)" in message
    assert "file_downloaded" not in message
    assert info.value.error == "invalid_action"


def test_known_actions_reads_any_category_and_refuses_other_bodies():
    assert known_actions({"actions": {"new_category": ["x_done"], "user": ["user_login"]}}) == {"x_done", "user_login"}
    assert known_actions({"ok": False, "error": "internal_error"}) is None
    assert known_actions(["user_login"]) is None


# --- the sync client -------------------------------------------------------------------------------------


def test_sync_refused_action_is_named_with_the_nearest_and_the_list_is_read_once(make_client, requests_mock):
    logs = requests_mock.get(LOGS, status_code=400, json=REFUSED)
    actions = requests_mock.get(ACTIONS, json=ACTIONS_BODY)
    client = make_client()
    with pytest.raises(SlackAuditLogsBadRequestError, match=r"'user_loginn' \(nearest: user_login"):
        client.logs(oldest=H0, latest=H1, action=["user_loginn", "file_downloaded"])
    assert (logs.call_count, actions.call_count) == (1, 1)

    # The list is known now: the next query with an unknown name is refused before any call.
    with pytest.raises(SlackAuditLogsArgumentError, match=r"'app_instaled' \(nearest: app_installed\)"):
        list(client.iter_logs(oldest=H0, latest=H1, action="app_instaled"))
    assert (logs.call_count, actions.call_count) == (1, 1)

    # Known names go straight to Slack; the list is not read again.
    logs = requests_mock.get(LOGS, json=EMPTY_PAGE)
    assert list(client.iter_logs(oldest=H0, latest=H1, action="user_login")) == []
    assert (logs.call_count, actions.call_count) == (1, 1)


def test_sync_without_the_list_slack_refusal_is_returned_as_today(make_client, requests_mock):
    logs = requests_mock.get(LOGS, status_code=400, json=REFUSED)
    actions = requests_mock.get(ACTIONS, exc=requests.exceptions.ConnectTimeout("no route"))
    client = make_client()
    for _ in range(2):
        response = client.logs(action="user_loginn")
        with pytest.raises(SlackAuditLogsBadRequestError, match=r"An action name is unknown.*client\.actions\(\)"):
            response.validate()
    assert (logs.call_count, actions.call_count) == (2, 1)  # a failed read is not tried again


def test_sync_a_name_that_cannot_be_resolved_says_so(make_client, requests_mock):
    gaierror = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    requests_mock.get(LOGS, exc=requests.exceptions.ConnectionError(gaierror))
    with pytest.raises(SlackAuditLogsConnectionError) as info:
        make_client(max_retries=1).logs(oldest=H0, latest=H1)
    message = str(info.value)
    assert "the host api.slack.com cannot be resolved" in message
    assert "Check base_url" in message
    assert "DNS" in message
    assert "proxy" in message
    assert "temporary" not in message
    assert isinstance(info.value.reason, socket.gaierror)
    assert info.value.attempts == 2


def test_sync_a_refused_connection_keeps_its_message(make_client, requests_mock):
    requests_mock.get(LOGS, exc=requests.exceptions.ConnectionError(ConnectionRefusedError(111, "refused")))
    with pytest.raises(SlackAuditLogsConnectionError, match="usually temporary"):
        make_client(max_retries=0).logs()


# --- the async client ------------------------------------------------------------------------------------


def _async_client(handler, **kwargs) -> AsyncSlackAuditLogsClient:
    client = AsyncSlackAuditLogsClient(TOKEN, base_url=BASE, max_retry_wait=0.01, **kwargs)
    client._http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return client


def test_async_refused_action_is_named_with_the_nearest_and_the_list_is_read_once():
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        endpoint = request.url.path.rsplit("/", 1)[-1]
        calls.append(endpoint)
        if endpoint == "actions":
            return httpx.Response(200, json=ACTIONS_BODY)
        if "user_loginn" in request.url.params.get("action", ""):
            return httpx.Response(400, json=REFUSED)
        return httpx.Response(200, json=EMPTY_PAGE)

    async def scenario() -> None:
        async with _async_client(handler) as client:
            with pytest.raises(SlackAuditLogsBadRequestError, match=r"'user_loginn' \(nearest: user_login"):
                await client.logs(action="user_loginn")
            assert calls == ["logs", "actions"]
            with pytest.raises(SlackAuditLogsArgumentError, match=r"'file_uplaoded' \(nearest: file_uploaded"):
                [e async for e in client.iter_logs(oldest=H0, latest=H1, action="file_uplaoded")]
            assert [e async for e in client.iter_logs(oldest=H0, latest=H1, action="user_login")] == []
            assert calls == ["logs", "actions", "logs"]

    asyncio.run(scenario())


def test_async_a_name_that_cannot_be_resolved_says_so():
    def handler(request: httpx.Request) -> httpx.Response:
        # As httpx raises it: its ConnectError from httpcore's, from the resolver's gaierror.
        try:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        except socket.gaierror as exc:
            raise httpx.ConnectError("[Errno -2] Name or service not known", request=request) from exc

    async def scenario() -> SlackAuditLogsConnectionError:
        async with _async_client(handler, max_retries=1) as client:
            with pytest.raises(SlackAuditLogsConnectionError) as info:
                await client.logs(oldest=H0, latest=H1)
            return info.value

    error = asyncio.run(scenario())
    message = str(error)
    assert "the host api.slack.com cannot be resolved" in message
    assert "Check base_url" in message
    assert "temporary" not in message
    assert isinstance(error.reason, socket.gaierror)


# --- against the emulator, once ----------------------------------------------------------------------------


def test_the_emulator_serves_the_list_that_names_the_nearest_action(slack_audit_emulator):
    emulator = slack_audit_emulator
    with (
        SlackAuditLogsClient(emulator.token, base_url=emulator.base_url) as client,
        pytest.raises(SlackAuditLogsBadRequestError, match=r"'user_logn' \(nearest: user_login"),
    ):
        list(client.iter_logs(oldest=H0, latest=H1, action=["user_logn"]))
    assert [r.endpoint for r in emulator.all_requests] == ["logs", "actions"]
