"""The constructor and the slack_sdk-shaped methods: URLs, headers, proxies, TLS, the token's safety."""

from __future__ import annotations

import logging
import ssl
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from client_helpers import BASE, LOGS, TOKEN, entry, page

import airflow_provider_slack_audit
from airflow_provider_slack_audit.client import SlackAuditLogsArgumentError, SlackAuditLogsClient
from airflow_provider_slack_audit.client.session import DeadlineAdapter


def test_logs_sends_the_query_and_the_token(make_client, requests_mock):
    requests_mock.get(LOGS, json=page([entry("a", 5)]))
    client = make_client()
    response = client.logs(
        oldest=1521214343.0,
        latest="1521300000",
        limit=100,
        action="user_login,user_logout",
        actor="W1",
        entity="C1",
        cursor="abc==",
        additional_query_params={"extra": "1"},
        headers={"X-Per-Call": "yes"},
    )
    assert response.status_code == 200
    request = requests_mock.last_request
    assert parse_qs(urlsplit(request.url).query) == {
        "oldest": ["1521214343"],
        "latest": ["1521300000"],
        "limit": ["100"],
        "action": ["user_login,user_logout"],
        "actor": ["W1"],
        "entity": ["C1"],
        "cursor": ["abc=="],
        "extra": ["1"],
    }
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["X-Per-Call"] == "yes"
    assert TOKEN not in request.url
    assert TOKEN not in response.url


def test_logs_without_arguments_sends_no_query(make_client, requests_mock):
    requests_mock.get(LOGS, json=page([]))
    make_client().logs()
    assert urlsplit(requests_mock.last_request.url).query == ""


def test_logs_checks_its_arguments(make_client, requests_mock):
    with pytest.raises(SlackAuditLogsArgumentError, match="1 to 9999"):
        make_client().logs(limit=10_000)
    assert requests_mock.call_count == 0


def test_schemas_and_actions_need_no_token(make_client, requests_mock):
    requests_mock.get(BASE + "schemas", json={"schemas": []})
    requests_mock.get(BASE + "actions", json={"actions": {}})
    client = make_client(token=None)
    assert client.schemas().body == {"schemas": []}
    assert "Authorization" not in requests_mock.last_request.headers
    assert client.actions(query_params={"x": 1}).body == {"actions": {}}
    assert requests_mock.last_request.qs == {"x": ["1"]}


def test_api_call_joins_paths_and_sends_a_json_body(make_client, requests_mock):
    requests_mock.post(BASE + "custom", json={"ok": True})
    response = make_client().api_call(http_verb="post", path="/custom", body_params={"a": 1})
    assert response.body == {"ok": True}
    assert requests_mock.last_request.json() == {"a": 1}


def test_user_agent_names_the_package_and_keeps_prefix_and_suffix(make_client, requests_mock):
    requests_mock.get(LOGS, json=page([]))
    make_client(user_agent_prefix="acme-dag/2", user_agent_suffix="(compliance)").logs()
    agent = requests_mock.last_request.headers["User-Agent"]
    assert agent.startswith("acme-dag/2 airflow-provider-slack-audit/" + airflow_provider_slack_audit.__version__)
    assert agent.endswith(" (compliance)")


def test_default_headers_are_copied_and_sent(make_client, requests_mock):
    requests_mock.get(LOGS, json=page([]))
    given = {"X-Team": "sec"}
    client = make_client(default_headers=given)
    client.logs(headers={"X-Team": "override"})
    assert requests_mock.last_request.headers["X-Team"] == "override"
    client.logs()
    assert requests_mock.last_request.headers["X-Team"] == "sec"
    assert given == {"X-Team": "sec"}  # never mutated
    assert "User-Agent" in client.default_headers


def test_a_custom_user_agent_in_default_headers_wins(make_client, requests_mock):
    requests_mock.get(LOGS, json=page([]))
    make_client(default_headers={"user-agent": "mine/1"}).logs()
    assert requests_mock.last_request.headers["User-Agent"] == "mine/1"


def test_one_session_is_reused(make_client, requests_mock):
    requests_mock.get(LOGS, json=page([]))
    client = make_client()
    session = client._session
    client.logs()
    client.logs()
    assert client._session is session
    assert isinstance(session, requests.Session)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.slack.com/audit/v1/",
        "https://api.slack.com/audit/v1",
        "http://127.0.0.1:8765/audit/v1/",
        "http://127.5.6.7/audit/v1/",
        "http://localhost:8765/audit/v1/",
        "http://[::1]:8765/audit/v1/",
    ],
)
def test_base_url_accepts_https_and_loopback_http(url):
    client = SlackAuditLogsClient(TOKEN, base_url=url)
    assert client.base_url.endswith("/audit/v1/")
    client.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://api.slack.com/audit/v1/",
        "http://10.0.0.5/audit/v1/",
        "http://localhost.evil.com/audit/v1/",
        "ftp://api.slack.com/",
        "api.slack.com/audit/v1/",
        "https://user:pw@api.slack.com/audit/v1/",
        "https://api.slack.com/audit/v1/?x=1",
        "",
    ],
)
def test_base_url_refuses_plain_http_to_other_hosts(url):
    with pytest.raises(ValueError, match="base_url must"):
        SlackAuditLogsClient(TOKEN, base_url=url)


@pytest.mark.parametrize("bad", [f"{TOKEN}\n{TOKEN}", "xoxp-abc def", "xoxp-é"])
def test_tokens_that_cannot_be_a_header_are_refused_without_echoing_them(bad):
    with pytest.raises(ValueError, match="token holds") as info:
        SlackAuditLogsClient(bad)
    assert TOKEN not in str(info.value)
    assert "abc" not in str(info.value)


def test_token_surrounding_whitespace_is_dropped(make_client, requests_mock):
    requests_mock.get(LOGS, json=page([]))
    make_client(token=f"  {TOKEN}\n").logs()
    assert requests_mock.last_request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_token_not_in_repr_or_session_auth_repr(make_client):
    client = make_client()
    assert TOKEN not in repr(client)
    assert "***" in repr(client)
    assert TOKEN not in repr(client._session.auth)
    assert TOKEN not in repr(vars(client)).replace(f"'token': '{TOKEN}'", "")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timeout": 0}, "timeout"),
        ({"timeout": "30"}, "timeout"),
        ({"proxy": 3128}, "proxy"),
        ({"ssl": 3}, "ssl"),
        ({"ssl": "/no/such/bundle.pem"}, "does not exist"),
        ({"requests_per_minute": 0}, "requests_per_minute"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_cursor_restarts": -1}, "max_cursor_restarts"),
    ],
)
def test_constructor_refuses_bad_settings(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        SlackAuditLogsClient(TOKEN, **kwargs)


def test_proxy_argument_is_used_for_every_request(make_client, requests_mock, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy:1")
    requests_mock.get(LOGS, json=page([]))
    client = make_client(proxy="http://user:secret@proxy.example:3128")
    assert client.proxy == "http://user:secret@proxy.example:3128"
    client.logs()
    assert requests_mock.last_request.proxies == {
        "http": "http://user:secret@proxy.example:3128",
        "https": "http://user:secret@proxy.example:3128",
    }


@pytest.mark.parametrize("name", ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"])
def test_proxy_from_environment(make_client, requests_mock, monkeypatch, name):
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv(name, "http://env-proxy:3128")
    requests_mock.get(LOGS, json=page([]))
    client = make_client()
    assert client.proxy == "http://env-proxy:3128"
    client.logs()
    assert requests_mock.last_request.proxies["https"] == "http://env-proxy:3128"


def test_no_proxy_is_respected(make_client, requests_mock, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy:3128")
    monkeypatch.setenv("NO_PROXY", "api.slack.com")
    requests_mock.get(LOGS, json=page([]))
    make_client().logs()
    assert "https" not in (requests_mock.last_request.proxies or {})


def test_an_explicit_proxy_ignores_no_proxy(make_client, requests_mock, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "api.slack.com")
    requests_mock.get(LOGS, json=page([]))
    make_client(proxy="http://proxy.example:3128").logs()
    assert requests_mock.last_request.proxies["https"] == "http://proxy.example:3128"


def test_proxy_credentials_are_not_logged(make_client, requests_mock, caplog):
    requests_mock.get(LOGS, json=page([]))
    make_client(proxy="http://user:s3cr3t@proxy.example:3128").logs()
    assert "s3cr3t" not in caplog.text
    assert "proxy=http://***@proxy.example:3128" in caplog.text


def test_ssl_context_is_handed_to_urllib3():
    context = ssl.create_default_context()
    client = SlackAuditLogsClient(TOKEN, ssl=context)
    adapter = client._session.get_adapter("https://api.slack.com/audit/v1/logs")
    assert isinstance(adapter, DeadlineAdapter)
    assert adapter.poolmanager.connection_pool_kw["ssl_context"] is context
    client.close()


@pytest.mark.parametrize("verify", [False, True, __file__])
def test_ssl_accepts_what_requests_takes_for_verify(verify):
    with SlackAuditLogsClient(TOKEN, ssl=verify) as client:
        assert client._session.verify == verify


def test_debug_logging_redacts_authorization(make_client, requests_mock, caplog):
    requests_mock.get(LOGS, json=page([entry("a", 5)]))
    make_client().logs(oldest=1, headers={"Cookie": "d=xoxd-cookie"})
    sent = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Sending")]
    assert "'Authorization': '(redacted)'" in sent[0]
    assert "xoxd-cookie" not in caplog.text
    assert any(r.getMessage().startswith("Received HTTP 200") for r in caplog.records)


def test_nothing_is_logged_below_warning_when_all_goes_well(make_client, requests_mock, caplog):
    requests_mock.get(LOGS, json=page([]))
    caplog.set_level(logging.INFO, logger="airflow_provider_slack_audit")
    make_client().logs()
    assert [r for r in caplog.records if r.name.startswith("airflow_provider_slack_audit")] == []


def test_a_custom_logger_is_used(make_client, requests_mock, caplog):
    requests_mock.get(LOGS, [{"status_code": 503}, {"json": page([])}])
    make_client(logger=logging.getLogger("my.dag.logger")).logs()
    assert [r.name for r in caplog.records if r.levelno == logging.WARNING] == ["my.dag.logger"]


def test_context_manager_closes_the_session(requests_mock):
    requests_mock.get(LOGS, json=page([]))
    with SlackAuditLogsClient(TOKEN) as client:
        client.logs()
        closed = []
        client._session.close = lambda: closed.append(True)
    assert closed == [True]


def test_the_client_does_not_import_airflow():
    import subprocess
    import sys

    code = (
        "import sys; import airflow_provider_slack_audit.client as c; "
        "c.SlackAuditLogsClient('xoxp-1'); "
        "print(sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
