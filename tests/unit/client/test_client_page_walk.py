"""PageWalk, the I/O-free page walk both clients drive: queries, de-duplication, cursors, restarts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from client_helpers import LOGS, entry, page

from airflow_provider_slack_audit.client import LogsQuery, SlackAuditLogsEntryError, SlackAuditLogsServerError
from airflow_provider_slack_audit.client.response import AuditLogsResponse, error_for_response
from airflow_provider_slack_audit.client.walk import PageWalk


def answer(body: dict[str, Any], status: int = 200) -> AuditLogsResponse:
    return AuditLogsResponse(url=LOGS, status_code=status, raw_body=json.dumps(body), headers={})


def rejected_cursor() -> Any:
    error = error_for_response(answer({"ok": False, "error": "invalid_cursor"}, 400))
    assert error is not None
    return error


def test_walk_sends_the_cursor_drops_repeats_and_ends_on_an_empty_cursor():
    walk = PageWalk(LogsQuery(oldest=1, latest=400, limit=2), max_cursor_restarts=1)
    assert walk.next_query() == {"oldest": 1, "latest": 400, "limit": 2}
    first = walk.accept(answer(page([entry("a", 300), entry("b", 299)], "c1")))
    assert [e["id"] for e in first.entries] == ["a", "b"]
    assert (first.number, first.cursor, first.next_cursor) == (1, None, "c1")
    assert walk.next_query() == {"oldest": 1, "latest": 400, "limit": 2, "cursor": "c1"}
    second = walk.accept(answer(page([entry("b", 299), entry("c", 250)], "")))
    assert [e["id"] for e in second.entries] == ["c"]
    assert (second.number, second.raw_count, second.duplicates_dropped, second.next_cursor) == (2, 2, 1, None)
    assert walk.next_query() is None
    assert walk.next_query() is None


def test_rejected_cursor_restarts_at_the_oldest_second_read_and_drops_its_ids():
    walk = PageWalk(LogsQuery(oldest=1, latest=400, limit=2), max_cursor_restarts=1)
    walk.next_query()
    walk.accept(answer(page([entry("a", 300), entry("b", 299)], "c1")))
    walk.next_query()
    assert walk.restart_after(rejected_cursor())
    assert walk.next_query() == {"oldest": 1, "latest": 299, "limit": 2}
    again = walk.accept(answer(page([entry("b", 299), entry("c", 299), entry("d", 250)], "c2")))
    assert [e["id"] for e in again.entries] == ["c", "d"]
    assert (again.number, again.cursor, walk.restarts) == (2, None, 1)
    walk.next_query()
    assert not walk.restart_after(rejected_cursor())  # restarts used up: the caller raises


def test_a_rejected_first_page_or_another_error_is_not_restarted():
    walk = PageWalk(LogsQuery(limit=2), max_cursor_restarts=5)
    walk.next_query()
    assert not walk.restart_after(rejected_cursor())  # no cursor was sent: nothing to recover
    walk.accept(answer(page([entry("a", 3)], "c1")))
    walk.next_query()
    other = error_for_response(answer({"ok": False, "error": "invalid_auth"}, 401))
    assert other is not None
    assert not walk.restart_after(other)


def test_the_same_cursor_twice_fails_after_its_page_is_handed_out():
    walk = PageWalk(LogsQuery(limit=2), max_cursor_restarts=5)
    walk.next_query()
    walk.accept(answer(page([entry("a", 3)], "c1")))
    walk.next_query()
    looped = walk.accept(answer(page([entry("b", 2)], "c1")))
    assert [e["id"] for e in looped.entries] == ["b"]
    with pytest.raises(SlackAuditLogsServerError, match="page 2 with a cursor this walk already followed"):
        walk.next_query()
    assert walk.next_query() is None


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"ok": True}, "no entries list"),
        ({"ok": True, "entries": ["x"]}, r"entry 0: not a JSON object \(str\)"),
        ({"ok": True, "entries": [], "response_metadata": {"next_cursor": 0}}, "next_cursor that is not a string"),
    ],
)
def test_unreadable_pages_are_refused(body, needle):
    walk = PageWalk(LogsQuery(limit=2), max_cursor_restarts=5)
    walk.next_query()
    with pytest.raises((SlackAuditLogsServerError, SlackAuditLogsEntryError), match=needle):
        walk.accept(answer(body))
