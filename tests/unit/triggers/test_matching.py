"""The sensor's and its trigger's matching: which events answer a poke, and up to which second to ask."""

from __future__ import annotations

from airflow_provider_slack_audit.triggers.matching import MatchCollector, query_latest


def test_collector_keeps_each_id_once_and_stops_when_it_has_enough():
    collector = MatchCollector(min_events=2, max_events_returned=3)
    assert collector.needed == 3
    assert not collector.add({"id": "a"})
    assert not collector.add({"id": "a"})  # Slack repeats entries within a page
    assert not collector.done
    assert not collector.add({"id": "b"})
    assert collector.done
    assert collector.add({"id": "c"})
    assert [e["id"] for e in collector.returned] == ["a", "b", "c"]


def test_collector_asks_for_pages_just_big_enough_unless_told():
    assert MatchCollector(min_events=1, max_events_returned=100).page_size(None) == 100
    assert MatchCollector(min_events=20_000, max_events_returned=5).page_size(None) == 9999
    assert MatchCollector(min_events=1, max_events_returned=0).page_size(None) == 1
    assert MatchCollector(min_events=1, max_events_returned=100).page_size(250) == 250


def test_collector_reads_up_to_min_events_even_when_returning_fewer():
    collector = MatchCollector(min_events=3, max_events_returned=1)
    assert [collector.add({"id": str(i)}) for i in range(3)] == [False, False, True]
    assert collector.done
    assert [e["id"] for e in collector.returned] == ["0"]


def test_query_latest_stops_at_the_current_second():
    assert query_latest(100, now=200.7) == 100
    assert query_latest(300, now=200.7) == 200
