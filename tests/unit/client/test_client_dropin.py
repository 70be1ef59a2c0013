"""slack_sdk-style code runs unchanged on our client: the same script, two imports, the same results.

The script below is written as a slack_sdk user would write it. It runs once with slack_sdk's
``AuditLogsClient`` and once with ours, each against the same scripted loopback server, and both
runs must observe the same things.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from client_helpers import TOKEN, entry, send_json

PAGE_1 = {
    "entries": [entry("e1", 1700000300), entry("e2", 1700000200)],
    "response_metadata": {"next_cursor": "dXNlcjpXMTIz=="},
}
PAGE_2 = {"entries": [entry("e3", 1700000100)], "response_metadata": {"next_cursor": ""}}
SCHEMAS = {"schemas": [{"type": "workspace", "workspace": {"id": "string"}}]}
DENIED = {"ok": False, "error": "invalid_authentication"}


def slack_sdk_style_script(AuditLogsClient: Any, base_url: str) -> dict[str, Any]:
    """What a slack_sdk user writes; only the class differs between the two runs."""
    seen: dict[str, Any] = {}
    client = AuditLogsClient(token=TOKEN, base_url=base_url, timeout=5, user_agent_prefix="dropin/1")
    ids, cursor = [], None
    while True:
        resp = client.logs(oldest=1700000000, latest=1700000400, limit=2, action="user_login", cursor=cursor)
        assert resp.status_code == 200
        ids += [e["id"] for e in resp.body["entries"]]
        typed = resp.typed_body
        seen.setdefault("actors", []).extend(e.actor.user.id for e in typed.entries)
        seen.setdefault("sessions", []).extend(e.context.session_id for e in typed.entries)
        seen.setdefault("content_types", []).append(resp.headers.get("Content-Type"))
        cursor = typed.response_metadata.next_cursor
        if not cursor:
            break
    seen["ids"] = ids
    seen["schemas"] = client.schemas().body["schemas"][0]["type"]
    denied = client.api_call(path="logs", query_params={"oldest": 1})
    seen["denied"] = (denied.status_code, denied.body["error"])
    seen["url_has_path"] = denied.url.split("?")[0].endswith("/audit/v1/logs")
    return seen


def scripted(loopback) -> None:
    loopback.script += [
        send_json(200, PAGE_1),
        send_json(200, PAGE_2),
        send_json(200, SCHEMAS),
        send_json(401, DENIED),
    ]


def test_the_same_code_runs_on_both_clients(loopback):
    from slack_sdk.audit_logs import AuditLogsClient as SdkClient

    from airflow_provider_slack_audit.client import SlackAuditLogsClient as OurClient

    scripted(loopback)
    theirs = slack_sdk_style_script(SdkClient, loopback.base_url)
    sdk_requests = list(loopback.seen)
    loopback.seen.clear()
    scripted(loopback)
    ours = slack_sdk_style_script(OurClient, loopback.base_url)
    assert ours == theirs
    assert ours["ids"] == ["e1", "e2", "e3"]
    assert ours["denied"] == (401, "invalid_authentication")
    # Both send the same queries (slack_sdk orders parameters at random; compare them parsed).
    assert [parse_qs(urlsplit(r.path).query) for r in loopback.seen] == [
        parse_qs(urlsplit(r.path).query) for r in sdk_requests
    ]
    assert parse_qs(urlsplit(loopback.seen[1].path).query)["cursor"] == ["dXNlcjpXMTIz=="]
    assert all(r.headers.get("Authorization") == f"Bearer {TOKEN}" for r in loopback.seen)


def _sdk_typed(raw: str):
    from slack_sdk.audit_logs.v1.response import AuditLogsResponse as SdkResponse

    return SdkResponse(url="x", status_code=200, raw_body=raw, headers={}).typed_body


def _ours(raw: str, status: int = 200):
    from airflow_provider_slack_audit.client import AuditLogsResponse

    return AuditLogsResponse(url="https://api.slack.com/audit/v1/logs", status_code=status, raw_body=raw, headers={})


@pytest.mark.parametrize(
    ("body", "check"),
    [
        (SCHEMAS, lambda t: t.schemas[0].type == "workspace"),
        ({"actions": {"user": ["user_login"]}}, lambda t: t.actions.user == ["user_login"]),
        (DENIED, lambda t: t.error == "invalid_authentication" and t.entries is None),
        (
            {"entries": [{"details": {"succeeded_users": "W1,W2"}}]},
            lambda t: t.entries[0].details.succeeded_users == "W1,W2",
        ),
        (
            {"entries": [{"details": {"previous_profile": "gone"}}]},
            lambda t: t.entries[0].details.previous_profile == "gone",
        ),
    ],
    ids=["schemas", "actions", "error-body", "succeeded_users-not-json", "string-where-object-expected"],
)
def test_bodies_where_slack_sdk_typed_body_raises_and_ours_does_not(body, check):
    raw = json.dumps(body)
    with pytest.raises((TypeError, ValueError)):
        _sdk_typed(raw)
    typed = _ours(raw).typed_body
    assert check(typed)
    assert typed.to_dict() == body


def test_a_cut_body_breaks_slack_sdk_response_but_not_ours():
    raw = '{"entries": [{"id": "e1"'
    from slack_sdk.audit_logs.v1.response import AuditLogsResponse as SdkResponse

    with pytest.raises(json.JSONDecodeError):
        SdkResponse(url="x", status_code=200, raw_body=raw, headers={})
    assert _ours(raw).body is None


@pytest.mark.parametrize(("value", "expected"), [(1234, "1234"), (None, None), ("847288190092", "847288190092")])
def test_session_id_variants_are_normalized_where_slack_sdk_passes_them_through(value, expected):
    e = entry("e1", 1)
    e["context"]["session_id"] = value
    raw = json.dumps({"entries": [e]})
    assert _sdk_typed(raw).entries[0].context.session_id == value  # slack_sdk: an int where it declares str
    assert _ours(raw).typed_body.entries[0].context.session_id == expected


def test_succeeded_users_json_string_decoded_like_slack_sdk():
    raw = json.dumps({"entries": [entry("e1", 1, details={"succeeded_users": '["W1"]', "failed_users": '["W2"]'})]})
    sdk, ours = _sdk_typed(raw).entries[0].details, _ours(raw).typed_body.entries[0].details
    assert ours.succeeded_users == sdk.succeeded_users == ["W1"]
    assert ours.failed_users == sdk.failed_users == ["W2"]
