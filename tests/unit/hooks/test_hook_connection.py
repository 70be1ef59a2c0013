"""SlackAuditLogsHook: from a connection (environment variables) to a configured client; no network."""

from __future__ import annotations

import asyncio
import json
import threading
from urllib.parse import quote

import pytest
from airflow.providers.common.compat.sdk import AirflowNotFoundException, redact

from airflow_provider_slack_audit.client import SlackAuditLogsClient
from airflow_provider_slack_audit.hooks import slack_audit as hook_module
from airflow_provider_slack_audit.hooks.slack_audit import SlackAuditConnectionError, SlackAuditLogsHook

TOKEN = "xoxp-9999-8888-7777-0123456789abcdef"


@pytest.fixture
def set_conn(monkeypatch):
    """Define connection ``conn_id`` through ``AIRFLOW_CONN_<ID>``, as JSON (a dict) or a URI (a str)."""

    def define(conn_id: str, value: dict | str) -> str:
        text = value if isinstance(value, str) else json.dumps(value)
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", text)
        return conn_id

    return define


def json_conn(extra: dict | None = None, password: str | None = TOKEN, **fields) -> dict:
    conn = {"conn_type": "slack_audit", "password": password, **fields}
    if extra is not None:
        conn["extra"] = extra
    return conn


def test_class_attributes():
    assert SlackAuditLogsHook.conn_type == "slack_audit"
    assert SlackAuditLogsHook.conn_name_attr == "slack_audit_conn_id"
    assert SlackAuditLogsHook.default_conn_name == "slack_audit_default"
    assert SlackAuditLogsHook.hook_name == "Slack Audit Logs"
    assert SlackAuditLogsHook().slack_audit_conn_id == "slack_audit_default"


def test_json_connection_configures_the_client(set_conn, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    extra = {
        "base_url": "https://audit.example.com/audit/v1",
        "timeout": 12,
        "proxy": "http://proxy.internal:3128",
        "verify": str(bundle),
        "max_retries": 3,
        "max_retry_wait": 7,
        "requests_per_minute": 40,
    }
    hook = SlackAuditLogsHook(set_conn("sa_json", json_conn(extra)))
    client = hook.get_conn()
    assert isinstance(client, SlackAuditLogsClient)
    assert client is hook.client, "the client is built once per hook"
    assert client.token == TOKEN
    assert client.base_url == "https://audit.example.com/audit/v1/"
    assert client.timeout == 12.0
    assert client.proxy == "http://proxy.internal:3128"
    assert client.ssl == str(bundle)
    assert client.retry_settings.max_retries == 3
    assert client.retry_settings.max_retry_wait == 7.0
    assert client.pacer is not None
    assert client.default_headers["User-Agent"].startswith("airflow-provider-slack-audit/")


def test_uri_connection_strings_are_coerced(set_conn):
    query = "&".join(
        [
            f"base_url={quote('http://127.0.0.1:8765/audit/v1/', safe='')}",
            "timeout=30",
            "verify=false",
            "max_retries=2",
            "max_retry_wait=1.5",
            "requests_per_minute=45",
        ]
    )
    hook = SlackAuditLogsHook(set_conn("sa_uri", f"slack-audit://:{quote(TOKEN, safe='')}@/?{query}"))
    client = hook.client
    assert client.token == TOKEN
    assert client.base_url == "http://127.0.0.1:8765/audit/v1/"
    assert client.timeout == 30.0
    assert client.ssl is False
    assert client.retry_settings.max_retries == 2
    assert client.retry_settings.max_retry_wait == 1.5


def test_empty_extras_leave_the_clients_defaults(set_conn):
    client = SlackAuditLogsHook(set_conn("sa_plain", json_conn())).client
    assert client.base_url == SlackAuditLogsClient.BASE_URL
    assert client.timeout == 30
    assert client.pacer is None, "pacing is off unless the connection asks for it"


def test_hook_arguments_win_over_extras(set_conn):
    conn_id = set_conn(
        "sa_args",
        json_conn({"timeout": 30, "base_url": "https://a.example.com/v1/", "max_retries": 5, "verify": "false"}),
    )
    hook = SlackAuditLogsHook(
        conn_id,
        base_url="https://b.example.com/v1",
        timeout=4,
        proxy="http://p.internal:8080",
        max_retries="1",
        ssl=True,
        max_total_wait=20,
    )
    client = hook.client
    assert client.base_url == "https://b.example.com/v1/"
    assert client.timeout == 4.0
    assert client.proxy == "http://p.internal:8080"
    assert client.retry_settings.max_retries == 1
    assert client.retry_settings.max_total_wait == 20
    assert client.ssl is True


def test_retry_handlers_are_passed_through(set_conn):
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    handler = RateLimitErrorRetryHandler(max_retry_count=1)
    hook = SlackAuditLogsHook(set_conn("sa_handlers", json_conn()), retry_handlers=[handler])
    assert hook.client.retry_handlers == [handler]


def test_bad_hook_arguments_fail_with_what_is_allowed(set_conn):
    with pytest.raises(TypeError, match=r"unknown argument\(s\) verify_ssl.*max_total_wait"):
        SlackAuditLogsHook("x", verify_ssl=False)
    with pytest.raises(ValueError, match="not a connection id"):
        SlackAuditLogsHook("")
    hook = SlackAuditLogsHook(set_conn("sa_bad_arg", json_conn()), base_url="http://remote.example.com/")
    with pytest.raises(SlackAuditConnectionError, match=r"argument 'base_url' \(connection 'sa_bad_arg'\)"):
        hook.get_conn()


def test_unknown_connection_id_says_how_to_create_it():
    hook = SlackAuditLogsHook("sa_does_not_exist")
    with pytest.raises(AirflowNotFoundException) as info:
        hook.get_conn()
    message = str(info.value)
    assert "'sa_does_not_exist' is not defined" in message
    assert "airflow connections add sa_does_not_exist --conn-type slack_audit" in message
    assert "AIRFLOW_CONN_SA_DOES_NOT_EXIST=" in message
    assert isinstance(info.value.__cause__, AirflowNotFoundException)


def test_missing_token(set_conn):
    hook = SlackAuditLogsHook(set_conn("sa_no_token", json_conn(password=None)))
    with pytest.raises(SlackAuditConnectionError, match="'sa_no_token' has no token"):
        hook.get_conn()


def test_token_in_login_instead_of_password(set_conn):
    hook = SlackAuditLogsHook(set_conn("sa_login", json_conn(password=None, login=TOKEN)))
    with pytest.raises(SlackAuditConnectionError, match="in the Login field") as info:
        hook.get_conn()
    assert TOKEN not in str(info.value)


@pytest.mark.parametrize(
    ("extra", "field", "fix"),
    [
        ({"timeout": "abc"}, "timeout", "Set it to"),
        ({"extra__slack_audit__timeout": "abc"}, "timeout", "Set it to"),
        ({"max_retries": -1}, "max_retries", "Set it to"),
        ({"max_retries": "1.5"}, "max_retries", "Set it to"),
        ({"max_retry_wait": "0"}, "max_retry_wait", "Set it to"),
        ({"requests_per_minute": "lots"}, "requests_per_minute", "Set it to"),
        # base_url is checked by the client (client.config.check_base_url): its message is the fix.
        ({"base_url": "http://api.slack.com/audit/v1/"}, "base_url", "base_url must be https://"),
        ({"base_url": "not a url"}, "base_url", "base_url must be https://"),
        ({"proxy": "proxy.internal:3128"}, "proxy", "Set it to"),
        ({"verify": "/no/such/bundle.pem"}, "verify", "Set it to"),
    ],
)
def test_bad_extra_fails_naming_connection_field_and_fix(set_conn, extra, field, fix):
    hook = SlackAuditLogsHook(set_conn("sa_bad", json_conn(extra)))
    with pytest.raises(SlackAuditConnectionError) as info:
        hook.get_conn()
    message = str(info.value)
    assert f"connection 'sa_bad', extra '{field}'" in message
    assert fix in message
    assert TOKEN not in message


def test_bad_extra_from_a_uri_connection(set_conn):
    hook = SlackAuditLogsHook(set_conn("sa_bad_uri", f"slack-audit://:{TOKEN}@/?timeout=abc"))
    with pytest.raises(SlackAuditConnectionError, match=r"'sa_bad_uri', extra 'timeout': 'abc' is not a number"):
        hook.get_conn()


def test_an_unknown_extra_is_an_error_not_a_warning(set_conn):
    # Issue 24 item 8: a misspelt setting must not be silently ignored (it used to be logged only).
    hook = SlackAuditLogsHook(set_conn("sa_typo", json_conn({"time_out": 5})))
    with pytest.raises(
        SlackAuditConnectionError, match=r"'sa_typo': unknown extra 'time_out' \(did you mean 'timeout'"
    ):
        hook.get_conn()


def test_token_is_registered_with_the_secrets_masker(set_conn, monkeypatch):
    proxy_password = "pr0xy-s3cret-pw"
    calls = []
    real = hook_module.mask_secret

    def spy(secret, *args, **kwargs):
        calls.append(secret)
        return real(secret, *args, **kwargs)

    monkeypatch.setattr(hook_module, "mask_secret", spy)
    extra = {"proxy": f"http://alice:{proxy_password}@proxy.internal:3128"}
    SlackAuditLogsHook(set_conn("sa_mask", json_conn(extra))).get_conn()
    assert TOKEN in calls
    assert proxy_password in calls
    # The real masker now redacts both wherever they would be logged.
    assert redact(f"token {TOKEN} via {proxy_password}") == "token *** via ***"


def test_repr_never_shows_the_token(set_conn):
    hook = SlackAuditLogsHook(set_conn("sa_repr", json_conn({"timeout": 3})))
    client = hook.client
    settings = hook.get_connection_settings()
    for text in (repr(hook), str(hook), repr(client), repr(settings), str(settings)):
        assert TOKEN not in text
    assert repr(hook) == "SlackAuditLogsHook(slack_audit_conn_id='sa_repr')"


def test_async_settings_match_sync_ones(set_conn):
    hook = SlackAuditLogsHook(set_conn("sa_async", json_conn({"timeout": "9"})), max_retries=1)
    settings = asyncio.run(hook.aget_connection_settings())
    assert settings == hook.get_connection_settings()
    assert settings.timeout == 9.0
    assert settings.max_retries == 1
    with pytest.raises(AirflowNotFoundException, match="'sa_async_missing' is not defined"):
        asyncio.run(SlackAuditLogsHook("sa_async_missing").aget_connection_settings())


def test_async_settings_are_read_with_common_compat_and_built_off_the_event_loop(set_conn, monkeypatch):
    """The connection comes from common-compat's get_async_connection (through this hook); decoding the
    extras and masking the token, which talk to the supervisor on Airflow 3, run in a worker thread."""
    from airflow_provider_slack_audit import _compat

    looked_up: list[tuple[str, object]] = []
    real_lookup = _compat.get_async_connection

    async def spy_lookup(conn_id, hook):
        looked_up.append((conn_id, hook))
        return await real_lookup(conn_id, hook)

    built_on: list[int] = []
    real_settings_from = SlackAuditLogsHook._settings_from

    def spy_settings_from(self, conn):
        built_on.append(threading.get_ident())
        return real_settings_from(self, conn)

    monkeypatch.setattr(hook_module, "get_async_connection", spy_lookup)
    monkeypatch.setattr(SlackAuditLogsHook, "_settings_from", spy_settings_from)
    hook = SlackAuditLogsHook(set_conn("sa_async_thread", json_conn({"timeout": "7"})))

    async def read() -> tuple[object, int]:
        return await hook.aget_connection_settings(), threading.get_ident()

    settings, loop_thread = asyncio.run(read())
    assert settings.timeout == 7.0
    assert looked_up == [("sa_async_thread", hook)]
    assert len(built_on) == 1
    assert built_on[0] != loop_thread
