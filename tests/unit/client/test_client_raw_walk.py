"""The raw page walk: the same walk as the dict one, over each entry's bytes, id and date_create."""

from __future__ import annotations

import json
from typing import Any

import pytest
from client_helpers import LOGS
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_slack_audit.client import LogsQuery, SlackAuditLogsEntryError, SlackAuditLogsServerError
from airflow_provider_slack_audit.client.response import _UNREAD, AuditLogsResponse, error_for_response
from airflow_provider_slack_audit.client.retry_rules import is_rate_limited, response_retry_reason
from airflow_provider_slack_audit.client.walk import PageWalk

IDS = st.sampled_from(["a", "b", "c", "d", "e", "f"])
SECONDS = st.one_of(st.integers(95, 100), st.none(), st.just("100"), st.just(True))
PAGES = st.lists(st.lists(st.tuples(IDS, SECONDS), max_size=6), min_size=1, max_size=5)


def body(entries: list[dict[str, Any]], cursor: str = "") -> bytes:
    return json.dumps({"entries": entries, "response_metadata": {"next_cursor": cursor}}).encode()


def answer(data: bytes, *, raw: bool, status: int = 200) -> AuditLogsResponse:
    return AuditLogsResponse(url=LOGS, status_code=status, raw_body=data, headers={}, raw_entries=raw)


def event(entry_id: Any, second: Any, **more: Any) -> dict[str, Any]:
    return {"id": entry_id, "date_create": second, "action": "user_login", **more}


@settings(max_examples=200, deadline=None)
@given(PAGES, st.integers(0, 4))
def test_the_raw_walk_yields_the_events_the_dict_walk_yields(pages: list[list[tuple[Any, Any]]], reject: int) -> None:
    bodies = [
        body([event(i, s, n=n) for n, (i, s) in enumerate(entries)], f"c{k}" if k < len(pages) - 1 else "")
        for k, entries in enumerate(pages)
    ]
    walks = {raw: PageWalk(LogsQuery(limit=6), max_cursor_restarts=1, raw_entries=raw) for raw in (False, True)}
    yielded: dict[bool, list[Any]] = {False: [], True: []}
    for raw, walk in walks.items():
        for k, data in enumerate(bodies):
            assert walk.next_query() is not None
            if k == reject and k > 0:  # a rejected cursor: the walk starts over at the oldest second read
                error = error_for_response(answer(b'{"ok":false,"error":"invalid_cursor"}', raw=raw, status=400))
                assert walk.restart_after(error)
                assert walk.next_query() is not None
            page = walk.accept(answer(data, raw=raw))
            if raw:
                decoded = [json.loads(bytes(line)) for line in page.entries.lines]
                assert page.entries.ids == [e["id"] if isinstance(e["id"], str) else None for e in decoded]
                assert page.entries.seconds == [e["date_create"] for e in decoded]
                yielded[raw] += decoded
            else:
                yielded[raw] += page.entries
            assert page.raw_count - page.duplicates_dropped == len(page.entries)
        assert walk.next_query() is None
    assert yielded[True] == yielded[False]


def test_a_raw_answer_is_read_once_and_its_body_only_on_demand() -> None:
    data = body([event("a", 5), event("b", 4)], "next")
    response = answer(data, raw=True)
    assert response.raw_page is not None
    assert response._body is _UNREAD  # not decoded yet
    assert error_for_response(response) is None
    assert not is_rate_limited(response)
    assert response_retry_reason(response) is None
    assert response.body == json.loads(data)  # decoded when read, for whoever asks
    assert response.raw_body == data.decode()
    assert response.ok


@pytest.mark.parametrize(
    ("data", "status", "what"),
    [
        (b'{"ok":false,"error":"ratelimited"}', 429, "rate limited"),
        (b'{"ok":false,"error":"internal_error"}', 500, "HTTP 500"),
        (b'{"entries":[{"id":"a"', 200, "cut short or not JSON"),
        (b"<html>", 200, "cut short or not JSON"),
    ],
)
def test_a_raw_answer_that_is_not_a_good_page_is_checked_and_retried_as_before(
    data: bytes, status: int, what: str
) -> None:
    response = answer(data, raw=True, status=status)
    assert response.raw_page is None
    assert error_for_response(response) is not None
    assert what in (response_retry_reason(response) or "")


def test_a_good_answer_that_is_not_a_page_fails_the_raw_walk_with_what_it_is() -> None:
    walk = PageWalk(LogsQuery(limit=6), max_cursor_restarts=1, raw_entries=True)
    walk.next_query()
    with pytest.raises(
        SlackAuditLogsEntryError, match=r"page 1, entry 1 \(byte 33 of the body\): not a JSON object \(int\)"
    ):
        walk.accept(answer(b'{"ok":true,"entries":[{"id":"a"},5]}', raw=True))
    walk = PageWalk(LogsQuery(limit=6), max_cursor_restarts=1, raw_entries=True)
    walk.next_query()
    with pytest.raises(SlackAuditLogsServerError, match="no entries list"):
        walk.accept(answer(b'{"ok":true}', raw=True))


def test_a_page_of_duplicates_keeps_the_first_of_each_id_in_slacks_bytes() -> None:
    walk = PageWalk(LogsQuery(limit=6), max_cursor_restarts=1, raw_entries=True)
    walk.next_query()
    data = (
        b'{"entries":[{"id":"a","date_create":5, "x":1},{"id":"a","date_create":5,"x":2},{"id":"b","date_create":4}]}'
    )
    page = walk.accept(answer(data, raw=True))
    assert [bytes(line) for line in page.entries.lines] == [
        b'{"id":"a","date_create":5, "x":1}',
        b'{"id":"b","date_create":4}',
    ]
    assert (page.raw_count, page.duplicates_dropped) == (3, 1)
