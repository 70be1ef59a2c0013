"""The emulator's page cache (for benchmarks): a repeated query gets the same answer, from memory."""

from __future__ import annotations

import pytest
import requests

from tests.unit.emulator.emulator_helpers import HOUR, T0, get_logs, read_all


@pytest.fixture
def http() -> requests.Session:
    with requests.Session() as session:
        yield session


def test_a_cached_window_reads_exactly_as_a_rendered_one(slack_audit_emulator_factory, http):
    plain = slack_audit_emulator_factory(seed=3)
    cached = slack_audit_emulator_factory(seed=3, page_cache_mb=50)
    window = {"oldest": T0, "latest": T0 + HOUR - 1, "limit": 200}
    expected, _ = read_all(http, plain, **window)
    first, pages = read_all(http, cached, **window)
    assert len(pages) > 2
    assert len(cached._page_cache._pages) == len(pages)
    again, _ = read_all(http, cached, **window)
    assert first == expected
    assert again == expected
    assert cached.stats.calls["logs"] == 2 * len(pages)


def test_the_cache_keeps_at_most_its_size(slack_audit_emulator_factory, http):
    cached = slack_audit_emulator_factory(seed=3, page_cache_mb=0.05)  # 50 kB: a few pages of 50
    read_all(http, cached, oldest=T0, latest=T0 + HOUR - 1, limit=50)
    assert 0 < cached._page_cache._size <= 50_000


def test_answers_that_can_change_are_never_cached(slack_audit_emulator_factory, http):
    live = slack_audit_emulator_factory(end="now", page_cache_mb=50)
    assert get_logs(http, live, limit=10).status_code == 200
    assert not live._page_cache._pages
    cached = slack_audit_emulator_factory(seed=3, page_cache_mb=50, rate_limit=0)
    cached.late_events(T0, T0 + 59, delay=60)  # the first minute shows up a minute from now
    read_all(http, cached, oldest=T0, latest=T0 + 599, limit=100)
    assert not cached._page_cache._pages


def test_a_negative_size_is_refused():
    from airflow_provider_slack_audit.emulator.server import Emulator

    with pytest.raises(ValueError, match="page_cache_mb"):
        Emulator(page_cache_mb=-1)
