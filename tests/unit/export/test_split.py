"""export.split: one walk's pages routed to the intervals of its span, handed out once the walk is past them."""

from __future__ import annotations

import json

import pytest

from airflow_provider_slack_audit.arguments.window import AuditWindow
from airflow_provider_slack_audit.client.raw_page import read_raw_page
from airflow_provider_slack_audit.export.split import SpanSplitter, check_intervals

T0 = 1709251200  # 2024-03-01T00:00:00Z
HOUR = 3600


def hours(n: int) -> list[AuditWindow]:
    return [AuditWindow(T0 + i * HOUR, T0 + (i + 1) * HOUR - 1) for i in range(n)]


def entry(event_id: str, second: object) -> bytes:
    return json.dumps({"id": event_id, "date_create": second, "action": "user_login"}, separators=(",", ":")).encode()


def page(*events: tuple[str, object]):
    return read_raw_page(b'{"entries":[' + b",".join(entry(i, s) for i, s in events) + b"]}")


def written(ready) -> tuple[list[bytes], list[str]]:
    """What a writer of the interval gets: the lines and ids of its replayed pages."""
    lines: list[bytes] = []
    ids: list[str] = []
    for replayed in ready.pages():
        lines += [bytes(line) for line in replayed.lines]
        ids += replayed.ids
    ready.close()
    return lines, ids


def drain(splitter: SpanSplitter, pages) -> dict[int, tuple[list[bytes], list[str]]]:
    out = {}
    order = []
    for p in pages:
        for ready in splitter.add(p):
            order.append(ready.index)
            out[ready.index] = written(ready)
    for ready in splitter.finish():
        order.append(ready.index)
        out[ready.index] = written(ready)
    assert order == sorted(order, reverse=True), "handed out newest first"
    return out


def test_events_go_to_their_hour_by_date_create_with_their_bytes_and_order():
    # three pages over three hours; an hour spans a page boundary
    pages = [
        page(("c2", T0 + 2 * HOUR + 10), ("c1", T0 + 2 * HOUR + 5), ("b3", T0 + HOUR + 3000)),
        page(("b2", T0 + HOUR + 20), ("b1", T0 + HOUR), ("a2", T0 + 50)),
        page(("a1", T0)),
    ]
    out = drain(SpanSplitter(hours(3)), pages)
    assert out[2] == ([entry("c2", T0 + 2 * HOUR + 10), entry("c1", T0 + 2 * HOUR + 5)], ["c2", "c1"])
    assert out[1][1] == ["b3", "b2", "b1"]
    assert out[0][1] == ["a2", "a1"]
    assert out[0][0] == [entry("a2", T0 + 50), entry("a1", T0)]


def test_replay_gives_one_page_per_walk_page_that_held_events_of_the_hour():
    pages = [page(("b", T0 + HOUR + 1), ("a3", T0 + 30)), page(("a2", T0 + 20)), page(("a1", T0 + 10))]
    splitter = SpanSplitter(hours(2))
    ready = [r for p in pages for r in splitter.add(p)] + splitter.finish()
    first = {r.index: r for r in ready}[0]
    assert [p.ids for p in first.pages()] == [["a3"], ["a2"], ["a1"]]
    assert [p.seconds for p in first.pages()] == [[T0 + 30], [T0 + 20], [T0 + 10]]


def test_an_hour_is_handed_out_only_a_page_after_the_walk_went_past_it():
    splitter = SpanSplitter(hours(3))
    # page 1 goes past hour 2 (its oldest event is in hour 1): hour 2 is held back one page
    assert splitter.add(page(("c", T0 + 2 * HOUR + 1), ("b", T0 + HOUR + 9))) == []
    ready = splitter.add(page(("b0", T0 + HOUR + 1)))
    assert [r.index for r in ready] == [2]
    # page 3 goes past hour 1, handed out after page 4
    assert splitter.add(page(("a", T0 + 5))) == []
    assert [r.index for r in splitter.add(page())] == [1]
    assert [r.index for r in splitter.finish()] == [0]


def test_an_event_for_an_hour_already_handed_out_goes_to_no_other_hour():
    splitter = SpanSplitter(hours(3))
    splitter.add(page(("c", T0 + 2 * HOUR + 1), ("a", T0 + 100)))
    (ready_c, ready_b) = splitter.add(page(("a0", T0 + 50)))
    assert [ready_c.index, ready_b.index] == [2, 1]
    # Slack sends an event of hour 2 (and one of hour 1) two pages late
    splitter.add(page(("late_c", T0 + 2 * HOUR + 7), ("late_b", T0 + HOUR + 7), ("a_", T0 + 40)))
    assert splitter.disordered == {1, 2}
    (ready_a,) = splitter.finish()
    assert written(ready_a)[1] == ["a", "a0", "a_"]  # the late events are in no other hour
    assert written(ready_c)[1] == ["c"]


def test_an_event_out_of_order_within_the_hold_back_is_routed_to_its_hour():
    splitter = SpanSplitter(hours(2))
    splitter.add(page(("b", T0 + HOUR + 9), ("a", T0 + 9)))
    ready = splitter.add(page(("b_late", T0 + HOUR + 1), ("a0", T0 + 1)))  # one page late: still in time
    assert splitter.disordered == set()
    out = {r.index: written(r)[1] for r in ready + splitter.finish()}
    assert out == {1: ["b", "b_late"], 0: ["a", "a0"]}


def test_hours_without_events_are_handed_out_empty():
    splitter = SpanSplitter(hours(4))
    out = drain(splitter, [page(("d", T0 + 3 * HOUR)), page(("a", T0 + 1))])
    assert out == {3: ([entry("d", T0 + 3 * HOUR)], ["d"]), 2: ([], []), 1: ([], []), 0: ([entry("a", T0 + 1)], ["a"])}


def test_an_event_without_date_create_stays_in_the_hour_the_walk_is_in():
    out = drain(SpanSplitter(hours(2)), [page(("b", T0 + HOUR + 2), ("nodate", None), ("a", T0 + 1))])
    assert out[1][1] == ["b", "nodate"]
    assert out[0][1] == ["a"]


def test_a_dense_hour_spills_to_disk_and_replays_whole():
    splitter = SpanSplitter(hours(1), spool_bytes=256)
    pages = [page(*((f"e{p}-{i}", T0 + 3000 - p * 10 - i) for i in range(50))) for p in range(5)]
    out = drain(splitter, pages)
    assert out[0][1] == [f"e{p}-{i}" for p in range(5) for i in range(50)]


def test_an_event_outside_the_span_is_refused():
    with pytest.raises(ValueError, match="outside the span"):
        SpanSplitter(hours(1)).add(page(("x", T0 + HOUR)))


def test_close_frees_the_spools_of_a_walk_that_failed():
    splitter = SpanSplitter(hours(2))
    splitter.add(page(("b", T0 + HOUR + 2)))
    spool = splitter._spools[1]
    assert spool.file is not None
    splitter.close()
    assert spool.file is None
    assert splitter._spools == {}


@pytest.mark.parametrize(
    ("windows", "message"),
    [
        ([], "no interval"),
        ([AuditWindow(T0, T0 + 9), AuditWindow(T0 + 11, T0 + 20)], "not consecutive"),
        ([AuditWindow(T0 + 10, T0 + 20), AuditWindow(T0, T0 + 9)], "not consecutive"),
    ],
)
def test_intervals_must_be_consecutive_oldest_first(windows, message):
    with pytest.raises(ValueError, match=message):
        check_intervals(windows)
