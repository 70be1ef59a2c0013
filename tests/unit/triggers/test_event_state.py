"""The watcher's memory (windows, ids fired, batches, checkpoints): the rules without a server."""

from __future__ import annotations

import json

from airflow_provider_slack_audit.triggers.event_state import (
    Checkpoints,
    PollWindow,
    WatchState,
    batches,
    event_key,
)

T0 = 1_800_000_000


def ev(second: int, n: int = 0) -> dict:
    return {"id": f"{second}-{n}", "date_create": second, "action": "app_installed"}


def test_first_window_reads_from_the_floor_later_ones_the_lookback_behind_the_last_end():
    state = WatchState(floor=T0 - 100, lookback=30)
    assert state.window(T0 + 0.9) == PollWindow(T0 - 100, T0)
    state.poll_done(PollWindow(T0 - 100, T0))
    assert state.window(T0 + 10) == PollWindow(T0 - 29, T0 + 10)
    # A stall of an hour: the next poll reaches back to where reading stopped, not to now - lookback.
    state.poll_done(PollWindow(T0 - 29, T0 + 10))
    assert state.window(T0 + 3600) == PollWindow(T0 + 10 + 1 - 30, T0 + 3600)


def test_the_window_never_reaches_below_the_floor_and_waits_for_a_future_start():
    state = WatchState(floor=T0, lookback=300)
    assert state.window(T0 - 5) is None
    state.poll_done(PollWindow(T0, T0 + 1))
    assert state.window(T0 + 2).oldest == T0


def test_each_id_fires_once_newest_first_and_late_arrivals_fire_when_they_appear():
    state = WatchState(floor=T0, lookback=10)
    first = PollWindow(T0, T0 + 5)
    got = state.take_new([ev(T0 + 1), ev(T0 + 4), ev(T0 + 4, 1), ev(T0 + 4)], first)
    assert [e["id"] for e in got] == [f"{T0 + 4}-0", f"{T0 + 4}-1", f"{T0 + 1}-0"]
    state.poll_done(first)
    second = state.window(T0 + 7)
    late = ev(T0 + 2)  # date_create inside the first window, shown only now
    got = state.take_new([ev(T0 + 6), ev(T0 + 4), late, ev(T0 + 1)], second)
    assert [e["id"] for e in got] == [f"{T0 + 6}-0", f"{T0 + 2}-0"]


def test_entries_outside_the_window_or_before_the_floor_are_not_taken():
    state = WatchState(floor=T0, lookback=10)
    window = PollWindow(T0 - 5, T0 + 5)
    assert state.take_new([ev(T0 - 1), ev(T0 + 9), ev(T0)], window) == [ev(T0)]


def test_memory_holds_only_the_ids_a_later_window_can_return():
    state = WatchState(floor=T0, lookback=10)
    for t in range(T0, T0 + 1000):
        window = state.window(t)
        state.take_new([ev(window.latest, n) for n in range(3)], window)
        state.poll_done(window)
        assert all(second >= state.covered + 1 - 10 for second in state.fired.values())
    assert len(state.fired) <= 3 * 10


def test_saved_form_round_trips_is_canonical_and_rejects_garbage():
    state = WatchState(floor=T0, lookback=60, covered=T0 + 9, fired={"b": T0 + 3, "a": T0 + 3, "c": T0 + 7})
    saved = state.to_json()
    assert json.loads(json.dumps(saved)) == saved
    assert saved == {
        "version": 2,
        "floor": T0,
        "covered": T0 + 9,
        "fired": {str(T0 + 3): ["a", "b"], str(T0 + 7): ["c"]},
    }
    again = WatchState.from_json(saved, lookback=120)
    assert (again.floor, again.covered, again.fired, again.lookback) == (T0, T0 + 9, state.fired, 120)
    for bad in (
        None,
        [],
        {"version": 99},
        {**saved, "version": 3},
        {**saved, "floor": "x"},
        {**saved, "fired": {"x": ["a"]}},
        {**saved, "fired": {"1": [3]}},
    ):
        assert WatchState.from_json(bad, lookback=60) is None


def poll(state: WatchState, now: int, entries, answered_at=None) -> list[str]:
    """One poll at Slack time ``now`` that sees ``entries`` (those inside its window): the ids it fires."""
    window = state.window(now)
    got = state.take_new([e for e in entries if window.oldest <= e["date_create"] <= window.latest], window)
    state.poll_done(window, answered_at)
    return [e["id"] for e in got]


def test_floor_rises_to_the_oldest_second_whose_ids_are_remembered():
    state = WatchState(floor=T0, lookback=10)
    poll(state, T0 + 100, [ev(T0 + 50)])
    assert state.floor == T0 + 91  # covered + 1 - lookback: older ids are forgotten...
    assert state.fired == {}
    assert state.window(T0 + 101).oldest == T0 + 91  # ...and never read again
    assert WatchState.from_json(state.to_json(), lookback=10).floor == T0 + 91


def test_a_larger_lookback_after_a_restart_fires_nothing_again_and_reaches_back_as_reading_moves_on():
    """Issue 24 item 7: the events forgotten under the small lookback are not fired again by the large one."""
    events = [ev(T0 + s) for s in range(0, 200, 3)]
    state = WatchState(floor=T0, lookback=10)
    fired = []
    for now in range(T0 + 5, T0 + 120, 5):
        fired += poll(state, now, events)
    resumed = WatchState.from_json(state.to_json(), lookback=100)
    assert resumed.reach_lost() == 90
    assert resumed.window(T0 + 125).oldest == state.floor  # not covered + 1 - 100
    late = ev(T0 + 60, 1)  # shown only now, in a second the small lookback had already left: not fired
    again = []
    for now in range(T0 + 125, T0 + 400, 5):
        again += poll(resumed, now, [*events, late])
    assert not set(fired) & set(again)
    assert sorted(fired + again) == sorted(e["id"] for e in events)
    assert resumed.reach_lost() == 0  # 100 s of reading later, the full lookback again
    assert resumed.window(T0 + 400).oldest == resumed.covered + 1 - 100


def test_a_smaller_lookback_after_a_restart_fires_nothing_again():
    events = [ev(T0 + s) for s in range(0, 200, 3)]
    state = WatchState(floor=T0, lookback=100)
    fired = []
    for now in range(T0 + 5, T0 + 120, 5):
        fired += poll(state, now, events)
    resumed = WatchState.from_json(state.to_json(), lookback=5)
    again = []
    for now in range(T0 + 125, T0 + 400, 5):
        again += poll(resumed, now, events)
    assert not set(fired) & set(again)
    assert sorted(fired + again) == sorted(e["id"] for e in events)


def test_a_version_1_state_resumes_after_its_covered_second():
    old = {"version": 1, "floor": T0, "covered": T0 + 50, "fired": {str(T0 + 45): ["a"], str(T0 + 51): ["b"]}}
    state = WatchState.from_json(old, lookback=300)
    assert (state.floor, state.covered, state.fired) == (T0 + 51, T0 + 50, {"b": T0 + 51})
    assert state.window(T0 + 60).oldest == T0 + 51


def test_seconds_slack_had_not_reached_when_it_answered_are_read_again():
    """The triggerer's clock ahead of Slack's: its window reaches past Slack's now; only the seconds up to
    Slack's answer count as read, so the events Slack writes after it still fire."""
    state = WatchState(floor=T0, lookback=2)
    assert poll(state, T0 + 3600, [ev(T0 + 5)], answered_at=T0 + 10) == [f"{T0 + 5}-0"]
    assert state.covered == T0 + 10
    assert state.window(T0 + 3601).oldest == T0 + 9
    assert poll(state, T0 + 3601, [ev(T0 + 12), ev(T0 + 10), ev(T0 + 5)], answered_at=T0 + 13) == [
        f"{T0 + 12}-0",
        f"{T0 + 10}-0",
    ]
    # An answer older than the window (Slack behind the floor) reads nothing for good.
    fresh = WatchState(floor=T0 + 100, lookback=2)
    poll(fresh, T0 + 200, [], answered_at=T0 + 50)
    assert fresh.window(T0 + 201).oldest == T0 + 100


def test_merging_another_memory_of_the_asset_keeps_every_id_either_fired():
    mine = WatchState(floor=T0, lookback=10, covered=T0 + 9, fired={"a": T0 + 2, "b": T0 + 8})
    c = f"{T0 + 12}-0"  # what the other watcher fired: ev(T0 + 12)
    other = WatchState(floor=T0 + 5, lookback=10, covered=T0 + 14, fired={"b": T0 + 8, c: T0 + 12})
    mine.merge(other)
    assert (mine.floor, mine.covered, mine.fired) == (T0 + 5, T0 + 14, {"b": T0 + 8, c: T0 + 12})
    assert poll(mine, T0 + 20, [ev(T0 + 12), ev(T0 + 16)]) == [f"{T0 + 16}-0"]
    assert mine.window(T0 + 21).oldest == T0 + 11


def test_batches_split_newest_first_runs_into_chunks():
    events = [ev(T0 - n) for n in range(7)]
    assert [len(b) for b in batches(events, 3)] == [3, 3, 1]
    assert [e for b in batches(events, 3) for e in b] == events
    assert list(batches([], 3)) == []


def test_checkpoints_hand_out_the_newest_state_once_it_is_old_enough():
    points = Checkpoints(delay=5)
    assert points.ripe(0) is None
    assert points.due() is None
    for t in range(10):
        points.add(t, {"covered": t})
    assert points.due() == 5
    assert points.ripe(4.9) is None
    assert points.ripe(7) == {"covered": 2}
    assert points.due() == 8
    assert points.ripe(7) is None
    assert points.ripe(100) == {"covered": 9}


def test_an_event_without_id_is_known_by_its_content():
    assert event_key({"id": "x", "a": 1}) == "x"
    assert event_key({"b": 1, "a": 2}) == event_key({"a": 2, "b": 1})
