"""An event watcher's memory in the asset state store: its keys, what a watcher starts from, what it saves.

A watcher here is the mixin on its own, with the trigger's arguments as attributes and a dict as the store
(``aget``/``aset`` as the triggerer hands them); the trigger's own runs against a real store are in
``test_event_trigger.py``.
"""

from __future__ import annotations

import asyncio
import logging

from airflow_provider_slack_audit.triggers.event_state import WatchState
from airflow_provider_slack_audit.triggers.watcher_memory import (
    CONNECTION_KEY_PREFIX,
    STATE_KEY_PREFIX,
    WatcherMemory,
)


class DictStore:
    def __init__(self, saved: dict | None = None, *, fail_reads: int = 0) -> None:
        self.saved = dict(saved or {})
        self.fail_reads = fail_reads

    async def aget(self, key, default=None):
        if self.fail_reads:
            self.fail_reads -= 1
            raise ConnectionError("metadata database away")
        return self.saved.get(key, default)

    async def aset(self, key, value) -> None:
        self.saved[key] = value


class Watcher(WatcherMemory):
    def __init__(self, store=None, *, action=None, lookback_seconds: int = 300, start="now") -> None:
        self.slack_audit_conn_id = "slack_audit_default"
        self.action = action
        self.actor = None
        self.entity = None
        self.poll_interval = 0.01
        self.lookback_seconds = lookback_seconds
        self.start = start
        self.asset_state_store = store
        self.log = logging.getLogger("watcher")


def test_the_same_query_has_the_same_key_and_the_connection_one_key_for_all_filters():
    a, b, other = Watcher(action=["user_login"]), Watcher(action=["user_login"]), Watcher(action=["file_downloaded"])
    assert a.state_key == b.state_key != other.state_key
    assert a.state_key.startswith(f"{STATE_KEY_PREFIX}:")
    assert a.connection_state_key == other.connection_state_key
    assert a.connection_state_key.startswith(f"{CONNECTION_KEY_PREFIX}:")


def test_without_a_store_the_memory_lives_in_memory_only(caplog):
    with caplog.at_level(logging.WARNING, "watcher"):
        assert asyncio.run(Watcher()._load_state()) is None
    assert "No asset state store" in caplog.text
    asyncio.run(Watcher()._save_state({"version": 2}))  # nothing to save to: no error


def test_a_saved_memory_is_loaded_and_a_read_that_fails_is_tried_again():
    state = WatchState(floor=100, lookback=300, covered=150, fired={"a": 120})
    watcher = Watcher()
    store = DictStore({watcher.state_key: state.to_json()}, fail_reads=2)
    watcher.asset_state_store = store
    assert asyncio.run(watcher._load_state()) == state
    assert store.fail_reads == 0


def test_what_is_saved_goes_under_both_keys_and_a_watcher_with_other_filters_starts_from_it():
    store = DictStore()
    first = Watcher(store, action=["user_login"])
    saved = WatchState(floor=100, lookback=300, covered=150, fired={"a": 120}).to_json()
    asyncio.run(first._save_state(saved))
    assert store.saved[first.state_key] == saved
    assert store.saved[first.connection_state_key] == {"filters": first._filters(), "state": saved}

    changed = Watcher(store, action=["file_downloaded"])  # its filters changed: no memory of its own
    loaded = asyncio.run(changed._load_state())
    assert (loaded.floor, loaded.covered, loaded.fired) == (100, 150, {"a": 120})  # nothing fired fires again


def test_an_unreadable_memory_is_ignored_and_a_fresh_one_starts_at_start():
    watcher = Watcher(start=1_700_000_000)
    watcher.asset_state_store = DictStore({watcher.state_key: {"version": 99}})
    assert asyncio.run(watcher._load_state()) is None
    assert watcher._fresh_state(1_800_000_000.5) == WatchState(floor=1_700_000_000, lookback=300)
    assert Watcher()._fresh_state(1_800_000_000.5).floor == 1_800_000_000  # "now" is Slack's now
