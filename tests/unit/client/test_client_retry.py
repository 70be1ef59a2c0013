"""Default retries: what is retried, how long it waits, the bounds, the logs; slack_sdk's handlers."""

from __future__ import annotations

import logging
import random
import re
from email.utils import formatdate

import pytest
import requests
from client_helpers import BASE, LOGS, TOKEN, entry, page

from airflow_provider_slack_audit.client import (
    RetrySettings,
    SlackAuditLogsAuthError,
    SlackAuditLogsBadRequestError,
    SlackAuditLogsError,
    SlackAuditLogsRateLimitError,
    SlackAuditLogsServerError,
)
from airflow_provider_slack_audit.client.retry_rules import backoff_wait, parse_retry_after

GOOD = {"json": page([entry("a", 5)])}


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_with_backoff(make_client, requests_mock, fake_time, caplog, status):
    requests_mock.get(LOGS, [{"status_code": status, "text": "<html>oops</html>"}] * 2 + [GOOD])
    client = make_client()
    response = client.logs(oldest=1, latest=9)
    assert response.status_code == 200
    assert response.typed_body.entries[0].id == "a"
    assert requests_mock.call_count == 3
    # Equal jitter around 1s then 2s: [0.5, 1] then [1, 2].
    assert len(fake_time.sleeps) == 2
    assert 0.5 <= fake_time.sleeps[0] <= 1.0
    assert 1.0 <= fake_time.sleeps[1] <= 2.0
    assert client.stats.retries == 2
    assert client.stats.calls == 3
    assert client.stats.waited_seconds == pytest.approx(sum(fake_time.sleeps))
    messages = warnings_of(caplog)
    assert len(messages) == 2
    assert f"HTTP {status}" in messages[0]
    assert "retry 1 of 8 in" in messages[0]
    assert "/audit/v1/logs" in messages[0]


@pytest.mark.parametrize("error", [400, 404, 501])
def test_other_errors_are_returned_not_retried(make_client, requests_mock, error):
    requests_mock.get(LOGS, status_code=error, json={"ok": False, "error": "invalid_arguments"})
    response = make_client().logs(action="nope")
    assert response.status_code == error
    assert requests_mock.call_count == 1


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (401, "missing_authentication"),
        (401, "invalid_authentication"),
        (403, "user_not_authorized"),
        (403, "team_not_authorized"),
        (403, "feature_not_enabled"),
        (401, "not_authed"),
        (401, "invalid_auth"),
        (403, "missing_scope"),
        (200, "invalid_auth"),
        (400, "invalid_authentication"),
        (401, None),
        (403, None),
    ],
)
def test_auth_and_plan_errors_are_never_retried(make_client, requests_mock, fake_time, status, code):
    body = {"ok": False, "error": code} if code else {"ok": False}
    requests_mock.get(LOGS, status_code=status, json=body)
    client = make_client()
    response = client.logs(oldest=1, latest=2)
    assert requests_mock.call_count == 1
    assert fake_time.sleeps == []
    with pytest.raises(SlackAuditLogsAuthError) as info:
        response.validate()
    assert info.value.status_code == status
    assert info.value.error == code
    assert info.value.response is response
    message = str(info.value)
    assert "xoxp" in message
    assert "auditlogs:read" in message
    assert "installed on the organization" in message
    with pytest.raises(SlackAuditLogsAuthError):
        list(client.iter_logs(oldest=1, latest=2))
    assert requests_mock.call_count == 2


@pytest.mark.parametrize("code", ["ratelimited", "rate_limited"])
def test_429_waits_retry_after_seconds(make_client, requests_mock, fake_time, caplog, code):
    requests_mock.get(
        LOGS, [{"status_code": 429, "headers": {"Retry-After": "7"}, "json": {"ok": False, "error": code}}, GOOD]
    )
    client = make_client()
    assert client.logs().status_code == 200
    assert len(fake_time.sleeps) == 1
    assert 7 <= fake_time.sleeps[0] <= 8  # Retry-After plus up to 1s of jitter
    assert client.stats.rate_limited == 1
    assert client.stats.retries == 1
    assert "rate limited (HTTP 429)" in warnings_of(caplog)[0]


def test_rate_limit_code_without_429_is_retried(make_client, requests_mock, fake_time):
    requests_mock.get(LOGS, [{"status_code": 400, "json": {"ok": False, "error": "ratelimited"}}, GOOD])
    client = make_client()
    assert client.logs().status_code == 200
    assert client.stats.rate_limited == 1


def test_retry_after_as_http_date(make_client, requests_mock, fake_time):
    when = formatdate(fake_time.wall() + 20, usegmt=True)
    requests_mock.get(LOGS, [{"status_code": 429, "headers": {"Retry-After": when}}, GOOD])
    make_client().logs()
    assert 19 <= fake_time.sleeps[0] <= 21


def test_retry_after_is_capped_by_max_retry_wait(make_client, requests_mock, fake_time):
    requests_mock.get(LOGS, [{"status_code": 429, "headers": {"Retry-After": "3600"}}, GOOD])
    make_client(max_retry_wait=30).logs()
    assert fake_time.sleeps == [30]


def test_429_without_retry_after_backs_off(make_client, requests_mock, fake_time):
    requests_mock.get(LOGS, [{"status_code": 429}, GOOD])
    make_client().logs()
    assert 0.5 <= fake_time.sleeps[0] <= 1


def test_rate_limit_that_outlasts_the_retries(make_client, requests_mock, fake_time):
    requests_mock.get(LOGS, status_code=429, headers={"Retry-After": "2"}, json={"ok": False, "error": "ratelimited"})
    client = make_client(max_retries=3)
    response = client.logs()
    assert response.status_code == 429  # returned, as slack_sdk does
    assert requests_mock.call_count == 4
    with pytest.raises(SlackAuditLogsRateLimitError, match="requests_per_minute") as info:
        response.validate()
    assert info.value.error == "ratelimited"
    with pytest.raises(SlackAuditLogsRateLimitError):
        list(client.iter_logs())
    assert client.stats.rate_limited == 8


def test_total_wait_is_bounded(make_client, requests_mock, fake_time):
    requests_mock.get(LOGS, status_code=429, headers={"Retry-After": "40"})
    client = make_client(max_retries=100, max_retry_wait=60, max_total_wait=100)
    client.logs()
    assert len(fake_time.sleeps) == 2  # 40+j, 40+j; a third would pass 100s
    assert sum(fake_time.sleeps) <= 100
    assert requests_mock.call_count == 3


def test_no_retries_when_disabled(make_client, requests_mock):
    requests_mock.get(LOGS, status_code=503)
    assert make_client(max_retries=0).logs().status_code == 503
    assert requests_mock.call_count == 1


@pytest.mark.parametrize(
    "exc",
    [
        requests.exceptions.ConnectionError,
        requests.exceptions.ReadTimeout,
        requests.exceptions.ConnectTimeout,
        requests.exceptions.ChunkedEncodingError,
    ],
)
def test_transport_errors_are_retried(make_client, requests_mock, fake_time, exc):
    requests_mock.get(LOGS, [{"exc": exc}, {"exc": exc}, GOOD])
    client = make_client()
    assert client.logs().status_code == 200
    assert client.stats.retries == 2


def test_transport_errors_after_retries_raise_server_error(make_client, requests_mock, fake_time, caplog):
    requests_mock.get(LOGS, exc=requests.exceptions.ReadTimeout("Read timed out. (read timeout=30)"))
    client = make_client(max_retries=2)
    with pytest.raises(
        SlackAuditLogsServerError,
        match=r"after 3 attempts: no complete answer within timeout=30\.0s \(a read timed out\)",
    ) as info:
        client.logs()
    # No requests error (which holds the request and its Authorization header) is chained.
    assert info.value.__cause__ is None
    assert info.value.__context__ is None
    assert isinstance(info.value.reason, TimeoutError)
    assert info.value.status_code is None
    messages = warnings_of(caplog)
    assert len(messages) == 2
    first = (
        r"Slack Audit Logs API GET /audit/v1/logs: no complete answer within timeout=30\.0s \(a read timed out\); "
        r"retry 1 of 2 in \d\.\ds"
    )
    assert re.fullmatch(first, messages[0])
    assert "retry 2 of 2 in" in messages[1]


def test_tls_failure_is_not_retried(make_client, requests_mock):
    requests_mock.get(LOGS, exc=requests.exceptions.SSLError("certificate verify failed"))
    with pytest.raises(SlackAuditLogsError, match="ssl="):
        make_client().logs()
    assert requests_mock.call_count == 1


@pytest.mark.parametrize("text", ['{"entries": [{"id": "a", "date_cre', "<html>502 Bad Gateway</html>", "", "[1]"])
def test_2xx_bodies_cut_short_or_not_json_are_retried(make_client, requests_mock, fake_time, caplog, text):
    requests_mock.get(LOGS, [{"status_code": 200, "text": text}, GOOD])
    client = make_client()
    assert client.logs().typed_body.entries[0].id == "a"
    assert "cut short or not JSON" in warnings_of(caplog)[0]


def test_2xx_non_json_after_retries(make_client, requests_mock):
    requests_mock.get(LOGS, status_code=200, text="<html>")
    client = make_client(max_retries=1)
    response = client.logs()
    assert response.body is None
    assert response.typed_body is None
    with pytest.raises(SlackAuditLogsServerError, match="cut short or not JSON"):
        response.validate()
    with pytest.raises(SlackAuditLogsServerError):
        list(client.iter_logs())


def test_bad_request_is_returned_and_typed(make_client, requests_mock):
    requests_mock.get(LOGS, status_code=400, json={"ok": False, "error": "invalid_action"})
    requests_mock.get(BASE + "actions", status_code=503)  # no list to name the nearest: Slack's refusal as it is
    response = make_client().logs(action="bogus")
    with pytest.raises(SlackAuditLogsBadRequestError, match=r"client\.actions\(\)") as info:
        response.validate()
    assert info.value.error == "invalid_action"


# --- the math -------------------------------------------------------------------------------------


def test_parse_retry_after_forms():
    now = 1_700_000_000.0
    assert parse_retry_after("30", now) == 30
    assert parse_retry_after(" 2.5 ", now) == 2.5
    assert parse_retry_after(formatdate(now + 42, usegmt=True), now) == pytest.approx(42, abs=1)
    assert parse_retry_after(formatdate(now - 42, usegmt=True), now) == 0
    assert parse_retry_after("-5", now) == 0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("inf", now) is None
    assert parse_retry_after(None, now) is None


def test_backoff_doubles_with_jitter_and_is_capped():
    rng = random.Random(0)
    for n in range(12):
        ceiling = min(60, 1 * 2**n)
        waits = [backoff_wait(n, base=1, cap=60, rng=rng) for _ in range(50)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert len(set(waits)) > 1  # jittered
    assert backoff_wait(10_000, base=1, cap=60) <= 60


@pytest.mark.parametrize(
    "kwargs",
    [{"max_retries": -1}, {"max_retries": 1.5}, {"max_retry_wait": -1}, {"max_total_wait": float("inf")}],
)
def test_policy_refuses_bad_bounds(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        RetrySettings(**kwargs)


# --- slack_sdk's RetryHandler protocol ----------------------------------------------------------


def test_slack_sdk_rate_limit_handler_replaces_the_defaults(make_client, requests_mock, monkeypatch):
    from slack_sdk.http_retry import builtin_handlers
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    slept: list[float] = []
    monkeypatch.setattr(builtin_handlers.time, "sleep", slept.append)
    requests_mock.get(LOGS, [{"status_code": 429, "headers": {"retry-after": "3"}}] * 2 + [GOOD])
    client = make_client(retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)])
    assert client.logs().status_code == 200
    assert len(slept) == 2
    assert all(3 <= s < 4 for s in slept)
    assert client.stats.retries == 2
    assert client.stats.rate_limited == 2


def test_slack_sdk_handlers_bound_themselves_and_replace_defaults(make_client, requests_mock, monkeypatch):
    from slack_sdk.http_retry import handler as handler_module
    from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, ServerErrorRetryHandler

    monkeypatch.setattr(handler_module.time, "sleep", lambda s: None)
    requests_mock.get(LOGS, status_code=503)
    client = make_client(retry_handlers=[ServerErrorRetryHandler(max_retry_count=3)])
    assert client.logs().status_code == 503
    assert requests_mock.call_count == 4
    # 502 is retried by default, but not by the handlers given.
    requests_mock.get(LOGS, status_code=502)
    assert client.logs().status_code == 502
    assert requests_mock.call_count == 5
    # Connection errors reach ConnectionErrorRetryHandler as urllib's URLError, as in slack_sdk.
    requests_mock.get(LOGS, [{"exc": requests.exceptions.ConnectionError}, GOOD])
    client = make_client(retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1)])
    assert client.logs().status_code == 200
    # An empty list of handlers means no retries at all.
    requests_mock.get(LOGS, status_code=503)
    calls = requests_mock.call_count
    assert make_client(retry_handlers=[]).logs().status_code == 503
    assert requests_mock.call_count == calls + 1


def test_appending_a_handler_like_slack_sdk_docs_show(make_client, requests_mock, monkeypatch):
    from slack_sdk.http_retry import builtin_handlers
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    monkeypatch.setattr(builtin_handlers.time, "sleep", lambda s: None)
    client = make_client()
    assert client.retry_handlers == []
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    requests_mock.get(LOGS, [{"status_code": 429, "headers": {"Retry-After": "1"}}, {"status_code": 503}, GOOD])
    assert client.logs().status_code == 503  # the appended handler now decides: 503 is not its business
    assert requests_mock.call_count == 2


def test_custom_handler_sees_slack_sdk_shaped_objects_without_the_token(make_client, requests_mock):
    seen = {}

    class Recorder:
        def can_retry(self, *, state, request, response=None, error=None):
            seen.update(state=state, request=request, response=response, error=error)
            return state.current_attempt < 1

        def prepare_for_next_attempt(self, *, state, request, response=None, error=None):
            state.next_attempt_requested = True
            state.increment_current_attempt()

    requests_mock.get(LOGS, [{"status_code": 500, "headers": {"X-Trace": "t1"}, "json": {"ok": False}}, GOOD])
    assert make_client(retry_handlers=[Recorder()]).logs(oldest=1).status_code == 200
    from urllib.error import HTTPError

    assert seen["state"].current_attempt == 1
    assert seen["request"].method == "GET"
    assert seen["request"].url.startswith(BASE + "logs")
    assert seen["request"].headers["Authorization"] == ["(redacted)"]
    assert TOKEN not in repr(vars(seen["request"]))
    assert seen["response"].status_code == 500
    assert seen["response"].headers["X-Trace"] == ["t1"]
    assert seen["response"].body == {"ok": False}
    assert isinstance(seen["error"], HTTPError)
    assert seen["error"].code == 500
