"""AuditLogsResponse and its typed body: never raises, keeps unknown fields, normalizes known variations."""

from __future__ import annotations

import json
import pickle

import pytest
from client_helpers import BASE, entry, page

from airflow_provider_slack_audit.client import (
    AuditLogsResponse,
    SlackAuditLogsAuthError,
    SlackAuditLogsBadRequestError,
    SlackAuditLogsError,
    SlackAuditLogsRateLimitError,
    SlackAuditLogsServerError,
)

SCHEMAS = {"schemas": [{"type": "workspace", "workspace": {"id": "string", "name": "string"}}]}
ACTIONS = {"actions": {"workspace_or_org": ["workspace_created"], "user": ["user_login"], "brand_new": ["x"]}}


def respond(body, status=200, headers=None, raw=None) -> AuditLogsResponse:
    return AuditLogsResponse(
        url=BASE + "logs?oldest=1",
        status_code=status,
        raw_body=raw if raw is not None else json.dumps(body),
        headers=headers or {"Content-Type": "application/json"},
    )


def test_typed_body_of_a_logs_page():
    e = entry("a", 5, brand_new_field={"x": 1})
    e["entity"] = {"type": "channel", "channel": {"id": "C1", "name": "general", "privacy": "public"}}
    e["details"] = {"succeeded_users": '["W1", "W2"]', "failed_users": ["W3"], "reason": "r"}
    e["context"]["session_id"] = 847288190092
    e["context"]["app"] = {"id": "A1", "name": "bot", "scopes": ["a"]}
    typed = respond(page([e], "c1")).typed_body
    (t,) = typed.entries
    assert t.id == "a"
    assert t.date_create == 5
    assert t.action == "user_login"
    assert t.actor.type == "user"
    assert t.actor.user.id == "W123AB456"
    assert t.actor.user.email == "bird@slack.com"
    assert t.entity.type == "channel"
    assert t.entity.channel.name == "general"
    assert t.entity.id == "C1"
    assert t.entity.user is None
    assert t.context.session_id == "847288190092"
    assert t.context.location.domain == "birdland"
    assert t.context.app.scopes == ["a"]
    assert t.details.succeeded_users == ["W1", "W2"]
    assert t.details.failed_users == ["W3"]
    assert t.details.reason == "r"
    assert t.details.inviter is None  # a field slack_sdk knows but this event lacks: None, as in slack_sdk
    assert t.unknown_fields == {"brand_new_field": {"x": 1}}
    assert t.brand_new_field.x == 1
    assert t.to_dict() == e
    assert typed.response_metadata.next_cursor == "c1"
    assert typed.ok is None
    assert typed.error is None


@pytest.mark.parametrize("session_id", ["847288190092", 847288190092, None])
def test_session_id_in_any_form(session_id):
    e = entry("a", 5)
    e["context"]["session_id"] = session_id
    (t,) = respond(page([e])).typed_body.entries
    assert t.context.session_id == (None if session_id is None else "847288190092")
    assert t.to_dict()["context"]["session_id"] == session_id  # raw kept as sent


@pytest.mark.parametrize(
    ("value", "typed"),
    [(["W1"], ["W1"]), ('["W1","W2"]', ["W1", "W2"]), ("not json", "not json"), ('{"a":1}', '{"a":1}'), (None, None)],
)
def test_succeeded_users_array_or_json_string(value, typed):
    e = entry("a", 5, details={"succeeded_users": value})
    (t,) = respond(page([e])).typed_body.entries
    assert t.details.succeeded_users == typed


@pytest.mark.parametrize(
    "body",
    [SCHEMAS, ACTIONS, {"ok": False, "error": "invalid_auth"}, {"entries": "weird", "response_metadata": 3}, {}],
)
def test_typed_body_never_raises_on_other_bodies(body):
    typed = respond(body).typed_body
    assert typed.to_dict() == body
    assert typed.entries is None
    if "schemas" in body:
        assert typed.schemas[0].workspace.id == "string"
        assert typed.unknown_fields == body
    if "actions" in body:
        assert typed.actions.brand_new == ["x"]
    if "error" in body:
        assert typed.error == "invalid_auth"
        assert typed.ok is False


def test_typed_objects_pickle_and_compare():
    typed = respond(page([entry("a", 5)], "c")).typed_body
    copy = pickle.loads(pickle.dumps(typed))  # noqa: S301 (our own bytes)
    assert copy == typed
    assert copy.entries[0].actor.user.id == "W123AB456"
    assert copy.entries[0] != typed


def test_entries_that_are_not_objects_do_not_break_the_typed_body():
    typed = respond({"entries": [entry("a", 1), "junk", {"context": None, "actor": 5}]}).typed_body
    assert typed.entries[0].id == "a"
    assert typed.entries[1] == "junk"
    assert typed.entries[2].context is None
    assert typed.entries[2].actor == 5


@pytest.mark.parametrize("raw", ["", "<html>", '{"entries": [', "[1, 2]", "null"])
def test_body_is_none_when_not_a_json_object(raw):
    response = respond(None, raw=raw)
    assert response.body is None
    assert response.typed_body is None
    assert response.raw_body == raw


def test_headers_are_case_insensitive_and_typed_objects_are_read_only():
    response = respond({}, headers={"Retry-After": "3", "X-Slack-Req-Id": "r"})
    assert response.headers["retry-after"] == "3"
    assert response.headers["x-slack-req-id"] == "r"
    with pytest.raises(AttributeError, match="read-only"):
        response.typed_body.ok = True
    with pytest.raises(AttributeError):
        _ = response.typed_body._private


@pytest.mark.parametrize(
    ("status", "body", "cls", "words"),
    [
        (200, {"entries": []}, None, ""),
        (400, {"ok": False, "error": "invalid_range"}, SlackAuditLogsBadRequestError, "March 2018"),
        (400, {"ok": False, "error": "invalid_cursor"}, SlackAuditLogsBadRequestError, "without a cursor"),
        (400, {"ok": False, "error": "invalid_action"}, SlackAuditLogsBadRequestError, "client.actions()"),
        (400, {"ok": False}, SlackAuditLogsBadRequestError, "HTTP 400"),
        (404, {"ok": False, "error": "bad_endpoint"}, SlackAuditLogsBadRequestError, "base_url"),
        (429, {"ok": False, "error": "ratelimited"}, SlackAuditLogsRateLimitError, "50 calls"),
        (400, {"ok": False, "error": "rate_limited"}, SlackAuditLogsRateLimitError, "requests_per_minute"),
        (401, {"ok": False, "error": "not_authed"}, SlackAuditLogsAuthError, "No token was sent"),
        (403, {"ok": False, "error": "team_not_authorized"}, SlackAuditLogsAuthError, "not on the Enterprise"),
        (403, {"ok": False, "error": "user_not_authorized"}, SlackAuditLogsAuthError, "not an owner"),
        (403, {"ok": False, "error": "feature_not_enabled"}, SlackAuditLogsAuthError, "Enterprise Grid"),
        (401, {"ok": False, "error": "invalid_authentication"}, SlackAuditLogsAuthError, "org owner's user token"),
        (503, None, SlackAuditLogsServerError, "HTTP 503"),
        (200, None, SlackAuditLogsServerError, "cut short or not JSON"),
        (200, {"ok": False, "error": "internal_error"}, SlackAuditLogsServerError, "an error"),
        (418, {"ok": False, "error": "teapot"}, SlackAuditLogsError, "HTTP 418"),
    ],
)
def test_validate_raises_the_matching_error(status, body, cls, words):
    response = respond(body, status=status, raw=None if body is not None else "<html>")
    if cls is None:
        assert response.validate() is response
        assert response.ok
        return
    assert not response.ok
    with pytest.raises(cls) as info:
        response.validate()
    assert type(info.value) is cls
    assert words in str(info.value)
    assert info.value.status_code == status
    assert info.value.response is response
    assert "/audit/v1/logs" in str(info.value)
    copy = pickle.loads(pickle.dumps(info.value))  # noqa: S301 (our own bytes)
    assert type(copy) is cls
    assert str(copy) == str(info.value)
    assert copy.error == info.value.error


def test_missing_scope_message_names_the_scopes():
    body = {"ok": False, "error": "missing_scope", "needed": "auditlogs:read", "provided": "admin"}
    with pytest.raises(SlackAuditLogsAuthError, match="Needed: auditlogs:read; the token has: admin"):
        respond(body, status=403).validate()


def test_repr_is_short():
    assert repr(respond({}, status=200)) == "<AuditLogsResponse GET /audit/v1/logs status_code=200>"
