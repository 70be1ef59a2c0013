"""The token never shows: not in logs (DEBUG included), exceptions, reprs, URLs or retry-handler views."""

from __future__ import annotations

import logging

import pytest
import requests
from client_helpers import LOGS, TOKEN, entry, page

from airflow_provider_slack_audit.client import SlackAuditLogsError


def test_token_absent_from_every_log_line_error_and_repr(make_client, requests_mock, caplog):
    caplog.set_level(logging.DEBUG)
    requests_mock.get(
        LOGS,
        [
            {"status_code": 503, "text": "down"},
            {"status_code": 429, "headers": {"Retry-After": "1"}, "json": {"ok": False, "error": "ratelimited"}},
            {"exc": requests.exceptions.ConnectionError(f"boom {LOGS}")},
            {"status_code": 200, "text": "<html>"},
            {"json": page([entry("a", 5)], "c1==")},
            {"status_code": 400, "json": {"ok": False, "error": "invalid_cursor"}},
            {"json": page([entry("a", 5), entry("b", 4)], "")},
            {"status_code": 401, "json": {"ok": False, "error": "invalid_auth"}},
            {"exc": requests.exceptions.ReadTimeout("Read timed out.")},
        ],
    )
    client = make_client(max_retries=4, default_headers={"X-Env": "test"})
    texts: list[str] = [repr(client), repr(client._session.auth)]
    pages = list(client.iter_pages(oldest=1, latest=9, action=["user_login"]))
    texts += [repr(p) for p in pages] + [p.response.url for p in pages] + [repr(p.response) for p in pages]
    for _ in range(2):
        try:
            client.logs(oldest=1).validate()
        except SlackAuditLogsError as exc:
            texts += [str(exc), repr(exc), repr(exc.response), str(exc.__cause__)]
    assert [e["id"] for p in pages for e in p.entries] == ["a", "b"]
    assert len(texts) > 10
    for text in texts:
        assert TOKEN not in text
    # The debug log did show the request headers, with the token's header redacted.
    assert "'Authorization': '(redacted)'" in caplog.text
    assert "'X-Env': 'test'" in caplog.text
    assert TOKEN not in caplog.text
    assert TOKEN[5:] not in caplog.text  # not even without its prefix


def test_redact_is_a_last_line_of_defence(make_client, requests_mock):
    # Even if a transport error quoted the token, the client's message would not.
    requests_mock.get(LOGS, exc=requests.exceptions.ConnectionError(f"proxy said: Bearer {TOKEN}"))
    with pytest.raises(SlackAuditLogsError) as info:
        make_client(max_retries=0).logs()
    assert TOKEN not in str(info.value)
    assert "Bearer ***" in str(info.value)
