"""Every bad input a user can give, one test each, and the message they see.

Each case runs the object storage operator as a task would (construct, then ``execute()`` with the
run's data interval) against the emulator, and asserts the exception type and the words that tell
the user what is wrong and what to change. The table of docs/errors.rst lists them.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, AirflowNotFoundException
from reliability_helpers import fails_for_good, interval_context

from airflow_provider_slack_audit.client import SlackAuditLogsAuthError, SlackAuditLogsBadRequestError
from airflow_provider_slack_audit.hooks.slack_audit import SlackAuditConnectionError
from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsToObjectStorageOperator

pytestmark = pytest.mark.airflow

T0 = 1709632800  # 2024-03-05T10:00:00Z
CONTEXT = interval_context(T0, T0 + 599)


@pytest.fixture
def emu(slack_audit_emulator, monkeypatch):
    """The emulator as ``slack_audit_default``; no retries, so nothing waits."""
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_AUDIT_DEFAULT", slack_audit_emulator.airflow_conn_json({"max_retries": 0}))
    return slack_audit_emulator


@pytest.fixture
def connection(emu, monkeypatch):
    """``connection(**fields)``: a ``slack_audit_bad`` connection to the emulator with these fields replaced."""

    def make(**fields) -> str:
        conn = json.loads(emu.airflow_conn_json({"max_retries": 0}))
        conn.update(fields)
        monkeypatch.setenv("AIRFLOW_CONN_SLACK_AUDIT_BAD", json.dumps(conn))
        return "slack_audit_bad"

    return make


def export(tmp_path, **kwargs):
    """Run an export task on 10 minutes of 2024-03-05; returns the path it was told to write."""
    kwargs.setdefault("path", f"file://{tmp_path}/out/audit.jsonl")
    SlackAuditLogsToObjectStorageOperator(task_id="export", **kwargs).execute(CONTEXT)
    return kwargs["path"]


def assert_says(err: BaseException, *phrases: str) -> None:
    message = str(err)
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in: {message}"


def assert_nothing_written(tmp_path) -> None:
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


# ---------------------------------------------------------------------------- the token


def test_missing_token(connection, tmp_path):
    with fails_for_good(SlackAuditConnectionError) as err:
        export(tmp_path, slack_audit_conn_id=connection(password=""))
    assert_says(err.value, "'slack_audit_bad' has no token", "in the Password field", "auditlogs:read")
    assert_nothing_written(tmp_path)


def test_wrong_token(connection, tmp_path):
    with fails_for_good(SlackAuditLogsAuthError) as err:
        export(tmp_path, slack_audit_conn_id=connection(password="xoxp-1-2-3-not-the-right-one"))
    assert_says(err.value, "HTTP 401, invalid_authentication", "Slack rejected the token", "org owner")
    assert "xoxp-1-2-3" not in str(err.value)
    assert_nothing_written(tmp_path)


def test_token_without_the_scope(connection, emu, tmp_path):
    with fails_for_good(SlackAuditLogsAuthError) as err:
        export(tmp_path, slack_audit_conn_id=connection(password="xoxp-emulator-missing-scope"))
    assert_says(err.value, "missing_scope", "lacks the auditlogs:read scope", "reinstall the app")
    assert_nothing_written(tmp_path)


def test_org_without_enterprise_grid(connection, tmp_path):
    with fails_for_good(SlackAuditLogsAuthError) as err:
        export(tmp_path, slack_audit_conn_id=connection(password="xoxp-emulator-feature-not-enabled"))
    assert_says(err.value, "feature_not_enabled", "only to Enterprise Grid organizations")
    assert_nothing_written(tmp_path)


# ---------------------------------------------------------------------------- the window and filters


def test_oldest_after_latest(emu, tmp_path):
    with pytest.raises(AirflowFailException) as err:
        export(tmp_path, oldest=T0 + 100, latest=T0)
    assert_says(err.value, "is after latest=", "Make oldest <= latest")
    assert emu.stats["logs"] == 0  # refused before any call


def test_window_before_march_2018(emu, tmp_path):
    with fails_for_good(SlackAuditLogsBadRequestError) as err:
        export(tmp_path, oldest="2017-06-01T00:00:00Z", latest="2017-06-01T00:59:59Z")
    assert_says(err.value, "invalid_range", "never before March 2018")
    assert_nothing_written(tmp_path)


def test_window_in_the_future(emu, tmp_path):
    start = datetime.now(timezone.utc) + timedelta(days=30)
    with pytest.raises(AirflowFailException) as err:
        export(tmp_path, oldest=start, latest=start + timedelta(hours=1))
    assert_says(err.value, "has not ended yet", "cannot be exported whole", "set latest to a past second")
    assert emu.stats["logs"] == 0  # refused before any call
    assert_nothing_written(tmp_path)


def test_window_not_ended_yet(emu, tmp_path):
    # Slack would cut latest to now and answer with part of the window: refuse instead of writing a partial file.
    start = datetime.now(timezone.utc) - timedelta(minutes=30)
    with pytest.raises(AirflowFailException) as err:
        export(tmp_path, oldest=start, latest=start + timedelta(hours=1))
    assert_says(err.value, "has not ended yet")
    assert emu.stats["logs"] == 0
    assert_nothing_written(tmp_path)


@pytest.mark.parametrize("page_size", [0, 10000])
def test_page_size_out_of_range(emu, tmp_path, page_size):
    with pytest.raises(AirflowFailException) as err:
        export(tmp_path, page_size=page_size)
    assert_says(err.value, "page_size", f"not {page_size}", "from 1 to 9999", "Leave it unset")
    assert emu.stats["logs"] == 0


def test_31_actions(emu, tmp_path):
    with pytest.raises(AirflowFailException) as err:
        export(tmp_path, action=[f"action_{n}" for n in range(31)])
    assert_says(err.value, "31 action names", "at most 30", "Split them across queries or tasks")
    assert emu.stats["logs"] == 0


def test_unknown_action(emu, tmp_path):
    with fails_for_good(SlackAuditLogsBadRequestError) as err:
        export(tmp_path, action="user_loggedin")
    assert_says(err.value, "invalid_action", "'user_loggedin' (nearest: user_login", "SlackAuditLogsHook().actions()")
    assert_nothing_written(tmp_path)


# ---------------------------------------------------------------------------- the connection


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({"timeout": "thirty"}, ["extra 'timeout'", "'thirty' is not a number", "e.g. 30"]),
        ({"max_retries": "-1"}, ["extra 'max_retries'", "is negative", "whole number >= 0"]),
        ('{"timeout": 30,', ["the extras are not valid JSON", "a JSON object"]),
        ('["timeout", 30]', ["the extras are a JSON list, not an object", "a JSON object"]),
    ],
    ids=["not-a-number", "negative", "not-json", "not-an-object"],
)
def test_malformed_connection_extras(connection, emu, tmp_path, extra, says):
    with fails_for_good(SlackAuditConnectionError) as err:
        export(tmp_path, slack_audit_conn_id=connection(extra=extra))
    assert_says(err.value, "Slack Audit Logs connection 'slack_audit_bad'", *says)
    assert emu.stats["logs"] == 0


def test_http_base_url_to_a_remote_host(connection, tmp_path):
    with fails_for_good(SlackAuditConnectionError) as err:
        export(tmp_path, slack_audit_conn_id=connection(extra={"base_url": "http://slack.example.com/audit/v1/"}))
    # The client's check (client.config.check_base_url), behind the connection and the field.
    assert_says(
        err.value,
        "Slack Audit Logs connection 'slack_audit_bad', extra 'base_url'",
        "would send the token unencrypted",
        "must be https://",
    )


def test_connection_that_does_not_exist(emu, tmp_path):
    with fails_for_good(AirflowNotFoundException) as err:
        export(tmp_path, slack_audit_conn_id="slack_audit_nowhere")
    assert_says(
        err.value, "'slack_audit_nowhere' is not defined", "airflow connections add", "AIRFLOW_CONN_SLACK_AUDIT_NOWHERE"
    )


# ---------------------------------------------------------------------------- the storage path


def test_storage_path_without_scheme(emu, tmp_path):
    with pytest.raises(AirflowFailException) as err:
        export(tmp_path, path=f"{tmp_path}/out/audit.jsonl")
    assert_says(err.value, "has no scheme", "file:///data/slack/audit.jsonl.gz")
    assert emu.stats["logs"] == 0


def test_storage_path_without_bucket(emu, tmp_path):
    # Airflow 3 refuses the path when the task is defined (the object is declared as an Asset outlet),
    # Airflow 2 when the task runs.
    with pytest.raises((ValueError, AirflowFailException)) as err:
        export(tmp_path, path="s3:///slack/audit.jsonl")
    assert_says(err.value, "path='s3:///slack/audit.jsonl'", "s3://<bucket>/<key>")
    assert emu.stats["logs"] == 0


def test_overwrite_false_on_an_existing_object(emu, tmp_path):
    target = tmp_path / "out" / "audit.jsonl"
    target.parent.mkdir()
    target.write_text("an earlier export\n")
    with pytest.raises(AirflowFailException) as err:
        export(tmp_path, overwrite=False)
    assert_says(err.value, "exists and overwrite=False", "set overwrite=True")
    assert target.read_text() == "an earlier export\n"
    assert emu.stats["logs"] == 0
