"""The emulated API against every rule of SLACK_AUDIT_API.md, with plain HTTP requests."""

from __future__ import annotations

import http.client as httpclient
import json
from urllib.parse import quote

import pytest
import requests
from emulator_helpers import HOUR, T0, auth, get_logs, read_all

from airflow_provider_slack_audit.emulator import AUDIT_LOGS_EPOCH, ERROR_TOKENS
from airflow_provider_slack_audit.emulator.catalog import KNOWN_ACTIONS


@pytest.fixture
def http() -> requests.Session:
    with requests.Session() as session:
        yield session


def test_schemas_and_actions_need_no_token(slack_audit_emulator, http):
    schemas = http.get(slack_audit_emulator.base_url + "schemas", timeout=10)
    actions = http.get(slack_audit_emulator.base_url + "actions", timeout=10)
    assert schemas.status_code == actions.status_code == 200
    types = {s["type"] for s in schemas.json()["schemas"]}
    assert {"user", "channel", "file", "app", "workspace", "enterprise", "message", "huddle"} <= types
    categories = actions.json()["actions"]
    assert {"workspace_or_org", "user", "file", "channel", "app", "huddle", "anomaly", "canvas"} <= set(categories)
    assert "user_login" in categories["user"]
    assert "ok" not in schemas.json()
    assert "ok" not in actions.json()


@pytest.mark.parametrize(
    ("headers", "status", "error"),
    [
        ({}, 401, "missing_authentication"),
        ({"Authorization": "xoxp-no-scheme"}, 401, "missing_authentication"),
        ({"Authorization": "Bearer "}, 401, "missing_authentication"),
        ({"Authorization": "Bearer xoxp-1-2-3-not-the-token"}, 401, "invalid_authentication"),
    ],
)
def test_logs_needs_the_token(slack_audit_emulator, http, headers, status, error):
    response = http.get(slack_audit_emulator.base_url + "logs", headers=headers, timeout=10)
    assert response.status_code == status
    assert response.json() == {"ok": False, "error": error}


@pytest.mark.parametrize(("token", "expected"), sorted(ERROR_TOKENS.items()))
def test_error_tokens_emulate_refusing_orgs(slack_audit_emulator, http, token, expected):
    code, status = expected
    response = http.get(slack_audit_emulator.base_url + "logs", headers=auth(token), timeout=10)
    assert (response.status_code, response.json()) == (status, {"ok": False, "error": code})
    assert slack_audit_emulator.error_tokens[code] == token or code == "invalid_authentication"


def test_unknown_endpoint_and_wrong_method(slack_audit_emulator, http):
    missing = http.get(slack_audit_emulator.base_url + "nope", timeout=10)
    assert (missing.status_code, missing.json()["error"]) == (404, "bad_endpoint")
    post = http.post(slack_audit_emulator.base_url + "logs", data=b"{}", timeout=10)
    assert (post.status_code, post.json()["error"]) == (405, "method_not_allowed")


def test_success_body_shape_and_newest_first(slack_audit_emulator, http):
    response = get_logs(http, slack_audit_emulator, oldest=T0, latest=T0 + 600, limit=200)
    body = response.json()
    assert set(body) == {"entries", "response_metadata"}
    dates = [e["date_create"] for e in body["entries"]]
    assert dates == sorted(dates, reverse=True)
    assert all(T0 <= d <= T0 + 600 for d in dates)


def test_bounds_are_inclusive(slack_audit_emulator, http):
    emu = slack_audit_emulator
    # find two adjacent non-empty seconds so both bounds are exercised
    second = next(
        s for s in range(T0, T0 + HOUR) if emu.dataset.count_in_second(s) and emu.dataset.count_in_second(s + 5)
    )
    entries, _ = read_all(http, emu, oldest=second, latest=second + 5, limit=1000)
    dates = {e["date_create"] for e in entries}
    assert {second, second + 5} <= dates
    assert len(entries) == emu.count(second, second + 5)


def test_paging_with_bounds_on_every_call_gets_exactly_the_window(slack_audit_emulator, http):
    emu = slack_audit_emulator
    entries, pages = read_all(http, emu, oldest=T0, latest=T0 + 1800, limit=50)
    assert len(pages) > 3
    assert entries == emu.events(T0, T0 + 1800)
    ids = [e["id"] for e in entries]
    assert len(ids) == len(set(ids))
    # the emulator saw the bounds with every cursor
    assert all(r["oldest"] == str(T0) and r["latest"] == str(T0 + 1800) for r in emu.requests)
    assert sum(1 for r in emu.requests if r.cursor) == len(pages) - 1


def test_cursor_does_not_carry_the_window(slack_audit_emulator, http):
    """A client that drops oldest/latest on page 2 reads past its window, as with real Slack."""
    emu = slack_audit_emulator
    first = get_logs(http, emu, oldest=T0, latest=T0 + 600, limit=20).json()
    cursor = first["response_metadata"]["next_cursor"]
    second = http.get(emu.base_url + "logs", params={"cursor": cursor, "limit": 500}, headers=auth(emu.token))
    dates = [e["date_create"] for e in second.json()["entries"]]
    assert min(dates) < T0  # history before the window leaks in
    assert second.json()["response_metadata"]["next_cursor"]


def test_cursor_does_not_carry_the_filters(slack_audit_emulator, http):
    emu = slack_audit_emulator
    first = get_logs(http, emu, oldest=T0, latest=T0 + 1800, limit=5, action="user_login").json()
    assert {e["action"] for e in first["entries"]} == {"user_login"}
    cursor = first["response_metadata"]["next_cursor"]
    dropped = get_logs(http, emu, oldest=T0, latest=T0 + 1800, limit=200, cursor=cursor).json()
    assert len({e["action"] for e in dropped["entries"]}) > 1


def test_cursor_is_padded_base64_that_must_be_url_encoded(slack_audit_emulator, http):
    emu = slack_audit_emulator
    cursor = get_logs(http, emu, oldest=T0, latest=T0 + 600, limit=10).json()["response_metadata"]["next_cursor"]
    assert cursor.endswith("=")
    assert "+" in cursor
    raw_url = f"{emu.base_url}logs?oldest={T0}&latest={T0 + 600}&limit=10&cursor={cursor}"  # not encoded
    response = http.get(raw_url, headers=auth(emu.token), timeout=10)
    assert (response.status_code, response.json()) == (400, {"ok": False, "error": "invalid_cursor"})
    encoded = f"{emu.base_url}logs?oldest={T0}&latest={T0 + 600}&limit=10&cursor={quote(cursor, safe='')}"
    assert http.get(encoded, headers=auth(emu.token), timeout=10).status_code == 200


@pytest.mark.parametrize(
    "cursor", ["garbage", "dXNlcjpVMEc5V0ZYTlo=", "+/ABAAAAAGWSDPYamxwLzE6cfA=="]
)  # last: tampered
def test_foreign_or_garbled_cursor_is_invalid(slack_audit_emulator, http, cursor):
    response = get_logs(http, slack_audit_emulator, oldest=T0, latest=T0 + 600, cursor=cursor)
    assert (response.status_code, response.json()) == (400, {"ok": False, "error": "invalid_cursor"})


def test_cursor_of_another_instance_is_rejected(slack_audit_emulator, slack_audit_emulator_factory, http):
    other = slack_audit_emulator_factory(seed=99)
    cursor = get_logs(http, other, oldest=T0, latest=T0 + 600, limit=5).json()["response_metadata"]["next_cursor"]
    response = get_logs(http, slack_audit_emulator, oldest=T0, latest=T0 + 600, cursor=cursor)
    assert response.json()["error"] == "invalid_cursor"


def test_page_runs_past_limit_to_finish_a_burst_second(slack_audit_emulator, http):
    emu = slack_audit_emulator
    burst, size = next((s, c) for s, c in emu.dataset.seconds(T0 + 7 * 24 * HOUR, T0) if c >= 40)
    body = get_logs(http, emu, oldest=burst - 300, latest=burst, limit=5).json()
    assert len(body["entries"]) == size > 5
    assert {e["date_create"] for e in body["entries"]} == {burst}
    # the next page starts with the next second: nothing of the burst second again
    entries, _ = read_all(http, emu, oldest=burst - 300, latest=burst, limit=5)
    assert entries == emu.events(burst - 300, burst)


@pytest.mark.parametrize("limit", ["0", "10000", "-1", "ten", "1.5"])
def test_limit_out_of_bounds(slack_audit_emulator, http, limit):
    response = get_logs(http, slack_audit_emulator, oldest=T0, latest=T0 + 60, limit=limit)
    assert response.status_code == 400
    body = response.json()
    assert body["ok"] is False
    assert body["error"] == "invalid_arguments"
    assert "limit" in body["response_metadata"]["messages"][0]


@pytest.mark.parametrize("limit", [1, 9999])
def test_limit_bounds_accepted(slack_audit_emulator, http, limit):
    response = get_logs(http, slack_audit_emulator, oldest=T0, latest=T0 + 3, limit=limit)
    assert response.status_code == 200


@pytest.mark.parametrize("value", ["1709632800.0", "1.7096328e9", "yesterday"])
def test_non_integer_bounds_are_refused(slack_audit_emulator, http, value):
    response = get_logs(http, slack_audit_emulator, oldest=value, latest=T0 + 60)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_arguments")
    assert "oldest" in response.json()["response_metadata"]["messages"][0]


@pytest.mark.parametrize(
    ("oldest", "latest"),
    [
        (T0 + 10, T0),  # oldest after latest
        (4102444800, 4102448400),  # 2100: in the future
        (AUDIT_LOGS_EPOCH - 86400 * 30, AUDIT_LOGS_EPOCH - 86400),  # before audit logs existed
    ],
)
def test_invalid_range(slack_audit_emulator, http, oldest, latest):
    response = get_logs(http, slack_audit_emulator, oldest=oldest, latest=latest)
    assert (response.status_code, response.json()) == (400, {"ok": False, "error": "invalid_range"})


def test_action_filter_comma_list(slack_audit_emulator, http):
    emu = slack_audit_emulator
    entries, _ = read_all(http, emu, oldest=T0, latest=T0 + HOUR, limit=500, action="file_uploaded,user_logout")
    assert entries
    assert {e["action"] for e in entries} == {"file_uploaded", "user_logout"}
    assert entries == emu.events(T0, T0 + HOUR, action="file_uploaded,user_logout")
    assert entries == emu.events(T0, T0 + HOUR, action=["file_uploaded", "user_logout"])


def test_action_filter_limits(slack_audit_emulator, http):
    emu = slack_audit_emulator
    unknown = get_logs(http, emu, oldest=T0, latest=T0 + 60, action="user_login,not_an_action")
    assert (unknown.status_code, unknown.json()) == (400, {"ok": False, "error": "invalid_action"})
    thirty = ",".join(sorted(KNOWN_ACTIONS)[:30])
    assert get_logs(http, emu, oldest=T0, latest=T0 + 60, action=thirty).status_code == 200
    thirty_one = ",".join(sorted(KNOWN_ACTIONS)[:31])
    too_many = get_logs(http, emu, oldest=T0, latest=T0 + 60, action=thirty_one)
    assert (too_many.status_code, too_many.json()["error"]) == (400, "invalid_arguments")


def test_actor_and_entity_filters_combine_with_and(slack_audit_emulator, http):
    emu = slack_audit_emulator
    day = emu.events(T0, T0 + 600)
    actor = next(e["actor"]["user"]["id"] for e in day if e["action"] == "file_downloaded")
    by_actor, _ = read_all(http, emu, oldest=T0 - 86400 * 2, latest=T0 + 600, limit=100, actor=actor)
    assert by_actor
    assert all(e["actor"]["user"]["id"] == actor for e in by_actor)
    assert by_actor == emu.events(T0 - 86400 * 2, T0 + 600, actor=actor)
    channel = next(e["entity"]["channel"]["id"] for e in day if e["entity"]["type"] == "channel")
    both, _ = read_all(
        http, emu, oldest=T0 - 86400 * 7, latest=T0 + 600, limit=100, entity=channel, action="user_channel_join"
    )
    assert both
    assert all(e["entity"]["channel"]["id"] == channel and e["action"] == "user_channel_join" for e in both)


def test_keep_alive(slack_audit_emulator):
    conn = httpclient.HTTPConnection("127.0.0.1", slack_audit_emulator.port, timeout=10)
    try:
        for _ in range(3):
            conn.request("GET", "/audit/v1/schemas")
            response = conn.getresponse()
            assert response.status == 200
            assert response.getheader("Connection") != "close"
            json.loads(response.read())
        assert conn.sock is not None  # the same socket served all three
    finally:
        conn.close()


def test_stats_and_requests(slack_audit_emulator, http):
    emu = slack_audit_emulator
    http.get(emu.base_url + "schemas", timeout=10)
    get_logs(http, emu, oldest=T0, latest=T0 + 60, limit=1000, action="user_login")
    stats = emu.stats
    assert stats["schemas"] == 1
    assert stats["logs"] == 1
    assert stats.responses == {200: 2}
    [record] = emu.requests
    assert record.params == {"oldest": str(T0), "latest": str(T0 + 60), "limit": "1000", "action": "user_login"}
    assert record.status == 200
    assert record.entries == len(emu.events(T0, T0 + 60, action="user_login"))
    assert [r.endpoint for r in emu.all_requests] == ["schemas", "logs"]


def test_token_never_in_repr(slack_audit_emulator):
    assert slack_audit_emulator.token not in repr(slack_audit_emulator)
