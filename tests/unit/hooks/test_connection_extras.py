"""The ``slack_audit`` connection's extras: reading, coercion and validation (no Airflow, no network)."""

from __future__ import annotations

import pytest

from airflow_provider_slack_audit.hooks.connection_extras import (
    EXTRA_FIELDS,
    SlackAuditConnectionError,
    SlackAuditConnectionSettings,
    read_extra,
    redact_url_credentials,
    resolve_settings,
    unknown_extras,
)

TOKEN = "xoxp-1111-2222-3333-abcdefabcdef"


def resolve(extra=None, *, password=TOKEN, login=None, overrides=None):
    return resolve_settings("my_slack", password=password, login=login, extra=extra or {}, overrides=overrides)


def test_empty_connection_leaves_every_setting_to_the_client():
    settings = resolve()
    assert settings.token == TOKEN
    assert settings.client_kwargs() == {}


def test_uri_style_strings_are_coerced():
    settings = resolve(
        {
            "base_url": "http://127.0.0.1:8765/audit/v1",
            "timeout": "30",
            "proxy": "http://proxy.internal:3128",
            "verify": "false",
            "max_retries": "3",
            "max_retry_wait": "12.5",
            "requests_per_minute": "40",
        }
    )
    assert settings.client_kwargs() == {
        "base_url": "http://127.0.0.1:8765/audit/v1/",
        "timeout": 30.0,
        "proxy": "http://proxy.internal:3128",
        "ssl": False,
        "max_retries": 3,
        "max_retry_wait": 12.5,
        "requests_per_minute": 40.0,
    }


def test_json_values_are_kept_with_their_types():
    settings = resolve({"timeout": 5, "verify": True, "max_retries": 0, "max_retry_wait": 2})
    assert settings.timeout == 5.0
    assert settings.verify is True
    assert settings.max_retries == 0
    assert settings.max_retry_wait == 2.0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("False", False), ("0", False), ("yes", True), (" off ", False), (1, True)],
)
def test_verify_booleans(raw, expected):
    assert resolve({"verify": raw}).verify is expected


def test_verify_path_stays_a_path(tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert resolve({"verify": str(bundle)}).verify == str(bundle)
    assert resolve({"verify": str(tmp_path)}).client_kwargs()["ssl"] == str(tmp_path)


def test_prefixed_extras_are_read_and_plain_ones_win():
    extra = {"extra__slack_audit__timeout": "7", "extra__slack_audit__max_retries": "2", "max_retries": 4}
    settings = resolve(extra)
    assert settings.timeout == 7.0
    assert settings.max_retries == 4


def test_blank_form_values_count_as_unset():
    extra = {"timeout": "", "verify": "  ", "extra__slack_audit__max_retries": "", "proxy": None}
    assert resolve(extra).client_kwargs() == {}
    # a blank plain key does not hide a filled prefixed one
    assert read_extra({"timeout": "", "extra__slack_audit__timeout": "9"}, "timeout") == "9"


def test_overrides_win_and_are_validated_too():
    settings = resolve({"timeout": "30", "base_url": "https://a.example.com/audit/v1/"}, overrides={"timeout": 3})
    assert settings.timeout == 3.0
    assert settings.base_url == "https://a.example.com/audit/v1/"
    with pytest.raises(SlackAuditConnectionError, match=r"argument 'timeout' \(connection 'my_slack'\)"):
        resolve(overrides={"timeout": "soon"})


SET_IT = "Set it to"
BAD_EXTRAS = [
    ("timeout", "abc", "not a number", SET_IT),
    ("timeout", "-1", "not a positive number", SET_IT),
    ("timeout", 0, "not a positive number", SET_IT),
    ("timeout", "nan", "not a positive number", SET_IT),
    ("timeout", True, "not a number", SET_IT),
    ("timeout", [30], "not a number", SET_IT),
    ("max_retry_wait", "inf", "not a positive number", SET_IT),
    ("requests_per_minute", "0", "not a positive number", SET_IT),
    ("requests_per_minute", "fast", "not a number", SET_IT),
    ("max_retries", "-1", "negative", SET_IT),
    ("max_retries", -2, "negative", SET_IT),
    ("max_retries", "2.5", "not a whole number", SET_IT),
    ("max_retries", 2.5, "not a whole number", SET_IT),
    ("max_retries", "three", "not a whole number", SET_IT),
    ("max_retries", False, "not a whole number", SET_IT),
    ("verify", 2, "neither a boolean nor a path", SET_IT),
    # The client's checks (client.config), with the connection and the field in front of their message.
    ("verify", "/nonexistent/ca-bundle.pem", "CA bundle '/nonexistent/ca-bundle.pem' does not exist", SET_IT),
    ("verify", "ture", "Nor is it true/false", SET_IT),
    ("base_url", "http://slack.example.com/audit/v1/", "would send the token unencrypted", "must be https://"),
    ("base_url", "ftp://api.slack.com/audit/v1/", "is not a URL", "must be https://"),
    ("base_url", "api.slack.com/audit/v1/", "is not a URL", "must be https://"),
    ("base_url", "https://user:pw@api.slack.com/audit/v1/", "must not hold credentials", "remove them"),
    ("base_url", "https://api.slack.com/audit/v1/?x=1", "without ?query or #", "must end with the API's path"),
    ("base_url", 42, "must be a URL string", "like https://api.slack.com/audit/v1/"),
    ("proxy", "proxy.internal:3128", "not a proxy URL", SET_IT),
    ("proxy", 3128, "not a URL", SET_IT),
]


@pytest.mark.parametrize(("name", "value", "problem", "fix"), BAD_EXTRAS)
@pytest.mark.parametrize("prefixed", [False, True])
def test_bad_extra_names_connection_field_and_fix(name, value, problem, fix, prefixed):
    key = f"extra__slack_audit__{name}" if prefixed else name
    with pytest.raises(SlackAuditConnectionError) as info:
        resolve({key: value})
    message = str(info.value)
    assert f"connection 'my_slack', extra '{name}'" in message
    assert problem in message
    assert fix in message, message


def test_http_base_url_credentials_never_shown():
    with pytest.raises(SlackAuditConnectionError) as info:
        resolve({"base_url": "https://user:s3cr3t-pw@api.slack.com/audit/v1/"})
    assert "s3cr3t-pw" not in str(info.value)


def test_http_is_accepted_for_loopback_hosts():
    for url in ("http://localhost:1/", "http://127.0.0.2:8765/audit/v1/", "http://[::1]:8765/x"):
        assert resolve({"base_url": url}).base_url.startswith("http://")


def test_missing_token_says_where_it_belongs():
    for password in (None, "", "   "):
        with pytest.raises(SlackAuditConnectionError, match=r"'my_slack' has no token.*Password field"):
            resolve(password=password)


def test_token_in_login_is_explained_without_showing_it():
    with pytest.raises(SlackAuditConnectionError, match="in the Login field") as info:
        resolve(password=None, login=TOKEN)
    assert TOKEN not in str(info.value)


def test_token_surrounding_whitespace_is_stripped_inner_whitespace_rejected():
    assert resolve(password=f"  {TOKEN}\n").token == TOKEN
    for bad in ("xoxp-abc\ndef", "xoxp-abc def", "xoxp-abc\u00e9def"):
        with pytest.raises(SlackAuditConnectionError, match="line breaks or non-ASCII") as info:
            resolve(password=bad)
        message = str(info.value)
        assert "'my_slack', Password field" in message
        assert "in the Password field of connection 'my_slack'" in message
        assert "xoxp-abc" not in message


def test_proxy_credentials_never_shown():
    proxy = "http://alice:s3cr3t-pw@proxy.internal:3128"
    settings = resolve({"proxy": proxy})
    assert settings.proxy == proxy
    assert "s3cr3t-pw" not in repr(settings)
    assert redact_url_credentials(proxy) == "http://alice:***@proxy.internal:3128"
    with pytest.raises(SlackAuditConnectionError) as info:
        resolve({"proxy": "ftp://alice:s3cr3t-pw@proxy.internal"})
    assert "s3cr3t-pw" not in str(info.value)


def test_settings_repr_hides_the_token():
    settings = resolve({"timeout": 3})
    assert isinstance(settings, SlackAuditConnectionSettings)
    assert TOKEN not in repr(settings)
    assert "token=***" in repr(settings)
    assert TOKEN not in str(settings)


def test_unknown_extras_are_reported():
    extra = {"timeout": 1, "time_out": 2, "extra__slack_audit__verify": "x", "extra__slack_audit__nope": 1}
    assert unknown_extras(extra) == ["extra__slack_audit__nope", "time_out"]


def test_every_field_has_a_coercer_and_a_json_type():
    for spec in EXTRA_FIELDS:
        assert spec.json_schema()["type"][0] in {"string", "number", "integer", "boolean"}
        assert spec.label
        assert spec.description
