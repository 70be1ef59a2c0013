"""iter_pages / iter_logs: every page, filters re-sent, cursors encoded, repeats dropped, cursor recovery."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from client_helpers import LOGS, entry, page

from airflow_provider_slack_audit.client import (
    SlackAuditLogsArgumentError,
    SlackAuditLogsAuthError,
    SlackAuditLogsBadRequestError,
    SlackAuditLogsEntryError,
    SlackAuditLogsServerError,
)


def query(request) -> dict[str, list[str]]:
    return parse_qs(urlsplit(request.url).query, keep_blank_values=True)


def test_walks_all_pages_and_resends_bounds_and_filters_with_every_cursor(make_client, requests_mock):
    cursor1, cursor2 = "dXNlcjpXMTIzNDU2Nzg5MA==", "c2Vj+b25k/cGFnZQ=="
    requests_mock.get(
        LOGS,
        [
            {"json": page([entry("a", 300), entry("b", 299)], cursor1)},
            {"json": page([entry("c", 250)], cursor2)},
            {"json": page([entry("d", 200)], "")},
        ],
    )
    client = make_client()
    ids = [
        e["id"]
        for e in client.iter_logs(oldest=100, latest=400, action=["user_login", "user_logout"], actor="W1", entity="C9")
    ]
    assert ids == ["a", "b", "c", "d"]
    history = requests_mock.request_history
    assert len(history) == 3
    for _i, request in enumerate(history):
        q = query(request)
        assert q["oldest"] == ["100"]
        assert q["latest"] == ["400"]
        assert q["limit"] == ["9999"]
        assert q["action"] == ["user_login,user_logout"]
        assert q["actor"] == ["W1"]
        assert q["entity"] == ["C9"]
    assert [query(r).get("cursor") for r in history] == [None, [cursor1], [cursor2]]
    # Padded base64 cursors are URL-encoded: '=', '+' and '/' never appear raw in the query.
    assert "cursor=dXNlcjpXMTIzNDU2Nzg5MA%3D%3D" in urlsplit(history[1].url).query
    assert "cursor=c2Vj%2Bb25k%2FcGFnZQ%3D%3D" in urlsplit(history[2].url).query
    assert client.stats.calls == 3


def test_pages_are_numbered_and_counted(make_client, requests_mock):
    requests_mock.get(
        LOGS,
        [
            {"json": page([entry("a", 3), entry("a", 3), entry("b", 2)], "c1")},
            {"json": page([entry("b", 2), entry("c", 1)], None)},
        ],
    )
    pages = list(make_client().iter_pages(oldest=1, latest=3, limit=2))
    assert [p.number for p in pages] == [1, 2]
    assert [[e["id"] for e in p.entries] for p in pages] == [["a", "b"], ["c"]]
    assert [(p.raw_count, p.duplicates_dropped) for p in pages] == [(3, 1), (2, 1)]
    assert pages[0].cursor is None
    assert pages[0].next_cursor == "c1"
    assert pages[1].cursor == "c1"
    assert pages[1].next_cursor is None
    assert query(requests_mock.request_history[0])["limit"] == ["2"]
    assert pages[0].response.status_code == 200


@pytest.mark.parametrize(
    "last",
    [
        page([entry("z", 1)], ""),
        page([entry("z", 1)], None),
        page([entry("z", 1)], metadata=False),
        {"entries": [entry("z", 1)], "response_metadata": None},
    ],
    ids=["empty", "null", "missing-metadata", "null-metadata"],
)
def test_stops_on_empty_null_or_missing_cursor(make_client, requests_mock, last):
    requests_mock.get(LOGS, [{"json": page([entry("y", 2)], "c1")}, {"json": last}])
    assert [e["id"] for e in make_client().iter_logs(oldest=1, latest=2)] == ["y", "z"]
    assert requests_mock.call_count == 2


def test_same_cursor_twice_in_a_row_is_an_error_not_a_loop(make_client, requests_mock):
    requests_mock.get(LOGS, [{"json": page([entry("a", 2)], "same")}, {"json": page([entry("b", 1)], "same")}])
    with pytest.raises(SlackAuditLogsServerError, match="cursor this walk already followed"):
        list(make_client().iter_logs(oldest=1, latest=2))
    assert requests_mock.call_count == 2


def test_repeats_within_and_across_pages_yielded_once(make_client, requests_mock):
    requests_mock.get(
        LOGS,
        [
            {"json": page([entry("a", 9), entry("b", 8), entry("a", 9), entry("c", 7)], "c1")},
            {"json": page([entry("c", 7), entry("b", 8), entry("d", 6), entry("d", 6)], "c2")},
            {"json": page([entry("d", 6), entry("e", 5)], "")},
        ],
    )
    ids = [e["id"] for e in make_client().iter_logs(oldest=1, latest=9)]
    assert ids == ["a", "b", "c", "d", "e"]


@pytest.mark.parametrize(
    ("odd", "problem"),
    [
        ({"date_create": 5, "action": "x"}, "no id"),
        ({"id": ["x"], "date_create": 5}, "an id that is not a string (list)"),
        ({"id": "", "date_create": 5}, "an empty id"),
        ({"id": "a\nb", "date_create": 5}, "an id with a line break"),
        ({"id": "\ud83d", "date_create": 5}, "an id that cannot be written as UTF-8"),
    ],
)
def test_an_entry_without_a_usable_id_is_a_typed_error_that_names_it(make_client, requests_mock, odd, problem):
    # It could not be written once (nor counted in the ids digest): not kept, not retried, named.
    requests_mock.get(LOGS, json=page([entry("a", 6), odd, entry("b", 4)]))
    with pytest.raises(SlackAuditLogsEntryError) as caught:
        list(make_client().iter_logs(oldest=1, latest=9))
    error = caught.value
    assert (error.page, error.index) == (1, 1)
    assert error.problem.startswith(problem)
    assert "page 1, entry 1" in str(error)
    assert problem in str(error)
    assert "Retrying cannot help" in str(error)
    assert error.excerpt.isascii()
    assert "date_create" in error.excerpt
    assert requests_mock.call_count == 1


@pytest.mark.parametrize(
    "odd",
    [{"date_create": 5, "action": "x"}, {"id": ["x"], "date_create": 5}, {"id": "a\nb", "date_create": 5}],
    ids=["no id", "list id", "line break"],
)
def test_keep_unidentified_yields_an_entry_without_a_usable_id_once_and_walks_on(
    make_client, requests_mock, odd, caplog
):
    # For readers that key events themselves (the asset watcher): the entry comes as it is, the walk goes on,
    # and ids still come once across pages.
    requests_mock.get(
        LOGS,
        [
            {"json": page([entry("a", 6), odd, entry("b", 5)], "c1")},
            {"json": page([entry("b", 5), entry("c", 4)], "")},
        ],
    )
    pages = list(make_client().iter_pages(oldest=1, latest=9, keep_unidentified=True))
    assert [e for p in pages for e in p.entries] == [entry("a", 6), odd, entry("b", 5), entry("c", 4)]
    assert "Entry 1 of page 1 has" in caplog.text


def test_keep_unidentified_does_not_go_with_raw_entries(make_client):
    with pytest.raises(ValueError, match="cannot go with raw_entries"):
        list(make_client().iter_pages(oldest=1, latest=9, keep_unidentified=True, raw_entries=True))


def test_each_id_is_yielded_once_across_the_whole_walk_not_only_the_last_two_pages(make_client, requests_mock):
    # An id seen two pages ago (and not at the oldest second): late indexing puts it on a later page.
    requests_mock.get(
        LOGS,
        [
            {"json": page([entry("a", 9)], "c1")},
            {"json": page([entry("b", 8)], "c2")},
            {"json": page([entry("a", 9), entry("c", 7)], "")},
        ],
    )
    assert [e["id"] for e in make_client().iter_logs(oldest=1, latest=9)] == ["a", "b", "c"]


def test_a_cursor_cycle_back_to_the_first_page_yields_each_id_once_then_raises(make_client, requests_mock):
    # No cursor -> page A (next: B); B -> page B (next: A); A -> page A again (next: B, already followed).
    page_a = page([entry("a1", 9), entry("a2", 8)], "B")
    page_b = page([entry("b1", 7)], "A")
    requests_mock.get(LOGS, [{"json": page_a}, {"json": page_b}, {"json": page_a}])
    events = make_client().iter_logs(oldest=1, latest=9)
    assert [next(events)["id"] for _ in range(3)] == ["a1", "a2", "b1"]
    with pytest.raises(SlackAuditLogsServerError, match="page 3 with a cursor this walk already followed"):
        next(events)  # page A again: nothing new, then its cursor B was followed already
    assert [query(r).get("cursor") for r in requests_mock.request_history] == [None, ["B"], ["A"]]


def test_invalid_cursor_mid_window_restarts_without_loss_or_repeats(make_client, requests_mock, caplog):
    # Newest first. Page 1 ends inside second 50 (x1, x2 yielded); the cursor is then rejected.
    # The walk restarts with latest=50 (inclusive, filters re-sent, no cursor) and drops x1, x2.
    requests_mock.get(
        LOGS,
        [
            {"json": page([entry("n", 60), entry("x1", 50), entry("x2", 50)], "c1")},
            {"status_code": 400, "json": {"ok": False, "error": "invalid_cursor"}},
            {"json": page([entry("x1", 50), entry("x2", 50), entry("x3", 50), entry("o", 40)], "c2")},
            {"json": page([entry("p", 30)], "")},
        ],
    )
    client = make_client()
    ids = [e["id"] for e in client.iter_logs(oldest=10, latest=70, action="user_login")]
    assert ids == ["n", "x1", "x2", "x3", "o", "p"]
    history = requests_mock.request_history
    assert query(history[1])["cursor"] == ["c1"]
    restart = query(history[2])
    assert "cursor" not in restart
    assert restart["latest"] == ["50"]
    assert restart["oldest"] == ["10"]
    assert restart["action"] == ["user_login"]
    assert query(history[3])["latest"] == ["50"]
    assert query(history[3])["cursor"] == ["c2"]
    assert client.stats.cursor_restarts == 1
    assert "invalid_cursor" in caplog.text
    assert "latest=50" in caplog.text


def test_invalid_cursor_recovery_drops_ids_of_the_boundary_second_from_earlier_pages(make_client, requests_mock):
    # Second 50 spans pages 1 and 2; page 3's cursor is rejected. The restart at latest=50 repeats
    # x1 (from page 1, no longer the previous page) and x2: both dropped, x3 kept.
    requests_mock.get(
        LOGS,
        [
            {"json": page([entry("n", 60), entry("x1", 50)], "c1")},
            {"json": page([entry("x2", 50)], "c2")},
            {"status_code": 400, "json": {"ok": False, "error": "invalid_cursor"}},
            {"json": page([entry("x1", 50), entry("x2", 50), entry("x3", 50), entry("o", 40)], "")},
        ],
    )
    assert [e["id"] for e in make_client().iter_logs(oldest=10, latest=70)] == ["n", "x1", "x2", "x3", "o"]
    assert query(requests_mock.request_history[3])["latest"] == ["50"]


def test_invalid_cursor_before_anything_was_yielded_restarts_the_whole_window(make_client, requests_mock):
    requests_mock.get(
        LOGS,
        [
            {"json": page([], "c1")},
            {"status_code": 400, "json": {"ok": False, "error": "invalid_cursor"}},
            {"json": page([entry("a", 5)], "")},
        ],
    )
    assert [e["id"] for e in make_client().iter_logs(oldest=1, latest=9)] == ["a"]
    assert query(requests_mock.request_history[2])["latest"] == ["9"]


def test_invalid_cursor_restarts_are_bounded(make_client, requests_mock):
    rejected = {"status_code": 400, "json": {"ok": False, "error": "invalid_cursor"}}
    requests_mock.get(LOGS, [{"json": page([entry("a", 5)], "c")}, rejected] * 3)
    client = make_client(max_cursor_restarts=2)
    with pytest.raises(SlackAuditLogsBadRequestError) as info:
        list(client.iter_logs(oldest=1, latest=9))
    assert info.value.error == "invalid_cursor"
    assert info.value.status_code == 400
    assert client.stats.cursor_restarts == 2


def test_invalid_cursor_on_first_page_is_not_recovered(make_client, requests_mock):
    requests_mock.get(LOGS, status_code=400, json={"ok": False, "error": "invalid_range"})
    with pytest.raises(SlackAuditLogsBadRequestError, match="March 2018"):
        list(make_client().iter_logs(oldest=1, latest=9))


def test_iterators_raise_typed_errors(make_client, requests_mock):
    requests_mock.get(LOGS, [{"json": page([entry("a", 5)], "c")}, {"status_code": 403, "json": {"ok": False}}])
    logs = make_client().iter_logs(oldest=1, latest=9)
    assert next(logs)["id"] == "a"
    with pytest.raises(SlackAuditLogsAuthError, match="auditlogs:read"):
        next(logs)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"response_metadata": {"next_cursor": ""}}, "no entries list"),
        ({"entries": ["x"]}, "not a JSON object"),
        ({"entries": [], "response_metadata": {"next_cursor": 5}}, "not a string"),
    ],
)
def test_malformed_pages_are_errors_not_silent_gaps(make_client, requests_mock, body, message):
    requests_mock.get(LOGS, json=body)
    with pytest.raises((SlackAuditLogsServerError, SlackAuditLogsEntryError), match=message):
        list(make_client().iter_logs(oldest=1, latest=9))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"action": [f"a{i}" for i in range(31)]}, "at most 30"),
        ({"action": ",".join(f"a{i}" for i in range(31))}, "at most 30"),
        ({"action": []}, "action is empty"),
        ({"action": ["ok", 3]}, "not a string"),
        ({"limit": 0}, "1 to 9999"),
        ({"limit": 10000}, "1 to 9999"),
        ({"limit": 2.5}, "1 to 9999"),
        ({"limit": True}, "1 to 9999"),
        ({"oldest": "yesterday"}, "unix seconds"),
        ({"oldest": -1}, ">= 0"),
        ({"latest": float("nan")}, "unix seconds"),
        ({"oldest": 10, "latest": 9}, "after latest"),
        ({"actor": ""}, "non-empty id"),
    ],
)
def test_bad_arguments_are_refused_before_any_call(make_client, requests_mock, kwargs, message):
    client = make_client()
    with pytest.raises(SlackAuditLogsArgumentError, match=message):
        client.iter_pages(**kwargs)
    with pytest.raises(ValueError, match=message):
        client.iter_logs(**kwargs)
    assert requests_mock.call_count == 0
    assert client.stats.calls == 0


def test_thirty_actions_are_accepted(make_client, requests_mock):
    requests_mock.get(LOGS, json=page([]))
    names = [f"a{i}" for i in range(30)]
    assert list(make_client().iter_logs(action=names)) == []
    assert query(requests_mock.last_request)["action"] == [",".join(names)]


@pytest.mark.parametrize(
    ("oldest", "latest", "sent"),
    [
        (1700000000, 1700003600, ("1700000000", "1700003600")),
        (1.7e9, 1.7e9 + 3600, ("1700000000", "1700003600")),
        ("1700000000", " 1700003600 ", ("1700000000", "1700003600")),
        (1700000000.2, 1700003600.8, ("1700000001", "1700003600")),
    ],
)
def test_bounds_are_sent_as_plain_integers(make_client, requests_mock, oldest, latest, sent):
    requests_mock.get(LOGS, json=page([]))
    list(make_client().iter_logs(oldest=oldest, latest=latest))
    q = query(requests_mock.last_request)
    assert (q["oldest"][0], q["latest"][0]) == sent
