"""SlackAuditLogsEventTrigger against the emulator in live mode: events keep arriving, some of them late.

Each test runs the trigger's real ``run()`` for a few seconds with a short ``poll_interval`` against
an emulator whose data ends "now" and whose events appear up to ``ingest_lag`` seconds after their
``date_create``, then checks what it fired against the emulator's own record of the events.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fixtures.dag_runs import AIRFLOW_3

pytestmark = pytest.mark.skipif(not AIRFLOW_3, reason="asset watchers (BaseEventTrigger) need Airflow 3")

ACTIONS = ["file_downloaded", "user_login"]
LAG = 3  # seconds: the most an event waits before the API shows it
LOOKBACK = 6  # > LAG + poll_interval: every late event is still inside a later window
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def live(slack_audit_emulator_factory, monkeypatch):
    """An emulator streaming 30 events a second up to now, late by up to LAG s; slack_audit_default on it.

    About 5 a second are of ACTIONS: measured over 372 consecutive 8 s windows, at least 27 and 43 on average
    (at 10 a second, as before, 12% of those windows held fewer than 10, and a test's guard failed in CI).
    """
    now = int(time.time())
    emulator = slack_audit_emulator_factory(start=now - 3600, end="now", events_per_hour=108_000, ingest_lag=LAG)
    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_AUDIT_DEFAULT",
        emulator.airflow_conn_json(extra={"max_retries": 2, "max_retry_wait": 0.2}),
    )
    return emulator


def make_trigger(**overrides):
    from airflow_provider_slack_audit.triggers.slack_audit import SlackAuditLogsEventTrigger

    kwargs = {"action": ACTIONS, "poll_interval": 1.0, "lookback_seconds": LOOKBACK, "max_events": 100}
    kwargs.update(overrides)
    return SlackAuditLogsEventTrigger(**kwargs)


def run_for(trigger, seconds: float, until=None) -> list[tuple[float, dict]]:
    """(wall-clock time, payload) of every event ``run()`` yields in ``seconds``; then the trigger is cancelled,
    as the triggerer cancels a watcher.

    :param until: an async ``until(fired)`` checked every 0.1 s: the run ends as soon as it is true (what the test
        needs has happened), ``seconds`` at the latest.
    """

    async def main() -> list[tuple[float, dict]]:
        fired: list[tuple[float, dict]] = []

        async def consume() -> None:
            async for event in trigger.run():
                fired.append((time.time(), event.payload))

        task = asyncio.create_task(consume())
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0 and not task.done():
            await asyncio.sleep(min(0.1, left))
            if until is not None and await until(fired):
                break
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return fired

    return asyncio.run(main())


def polls(emulator) -> list:
    """The first page request of every poll (a poll's later pages carry a cursor)."""
    return [r for r in emulator.requests if not r.cursor and r.status == 200]


def polled(emulator, count: int):
    """``until``: once ``count`` more polls than now have been answered."""
    done = len(polls(emulator)) + count

    async def until(fired) -> bool:
        return len(polls(emulator)) >= done

    return until


def checkpointed(trigger, at_least: int):
    """``until``: once more than ``at_least`` events fired over CHECKPOINT_DELAY + 1.5 s ago, and the trigger's
    saved state holds all of them (so that what a restart may fire again is only what fired since: ``recent``)."""
    from airflow_provider_slack_audit.triggers.audit_event_trigger import CHECKPOINT_DELAY

    async def until(fired) -> bool:
        old = {e["id"] for t, p in fired for e in p["events"] if t < time.time() - CHECKPOINT_DELAY - 1.5}
        if len(old) <= at_least:
            return False
        saved = await trigger.asset_state_store.aget(trigger.state_key)
        return saved is not None and old <= {i for keys in saved["fired"].values() for i in keys}

    return until


def fired_ids(fired) -> list[str]:
    return [e["id"] for _, payload in fired for e in payload["events"]]


def ids(events) -> set[str]:
    return {e["id"] for e in events}


# --------------------------------------------------------------------------- firing


def test_fires_every_matching_event_of_the_covered_span_once_late_ones_included(live):
    start = int(time.time()) - 2
    fired = run_for(make_trigger(start=start), 8.5)
    requests = polls(live)
    last_latest = int(requests[-1]["latest"])
    got = fired_ids(fired)

    assert len(got) == len(set(got)), "an event fired twice"
    # Nothing that is not a matching event of [start, last poll's end]...
    assert set(got) <= ids(live.events(start, last_latest, action=ACTIONS))
    # ...and every one Slack showed in time for the last poll: those of seconds up to LAG before its end.
    assert ids(live.events(start, last_latest - LAG, action=ACTIONS)) <= set(got)
    assert len(got) >= 10

    # Late arrivals really happened: events whose second an earlier poll had already read.
    assert late_ones(fired, requests), "the run saw no late event; the test proves nothing about them"
    # Every payload: newest first, count right, window bounds around its events.
    for _, payload in fired:
        seconds = [e["date_create"] for e in payload["events"]]
        assert seconds == sorted(seconds, reverse=True)
        assert payload["count"] == len(payload["events"]) >= 1
        assert payload["oldest"] <= min(seconds)
        assert max(seconds) <= payload["latest"]
        assert set(e["action"] for e in payload["events"]) <= set(ACTIONS)


def late_ones(fired, requests) -> list[dict]:
    """The events of ``fired`` whose second a poll of ``requests`` had read over 0.5 s before they fired."""
    return [
        e
        for (fired_at, payload) in fired
        for e in payload["events"]
        if any(int(r["oldest"]) <= e["date_create"] <= int(r["latest"]) and r.time < fired_at - 0.5 for r in requests)
    ]


def test_an_entry_without_an_id_fires_once_and_watching_goes_on(live, capsys, caplog):
    """One entry the export would refuse (no id) must not blind the watcher: it fires once, keyed by its content,
    and later events still fire (a final error here would stop polling at that entry on every retry)."""
    start = int(time.time()) - 2
    live.faults.add("entry_without_id", count=1)  # the first poll's first page: its newest entry has no id

    async def fired_after_it(fired) -> bool:
        events = [e for _, payload in fired for e in payload["events"]]
        without = [e["date_create"] for e in events if "id" not in e]
        return bool(without) and any(e["date_create"] > without[0] for e in events if "id" in e)

    fired = run_for(make_trigger(start=start, action=None), 6.5, until=fired_after_it)
    events = [e for _, payload in fired for e in payload["events"]]
    without_id = [e for e in events if "id" not in e]
    assert len(without_id) == 1, without_id
    with_id = [e["id"] for e in events if "id" in e]
    assert len(with_id) == len(set(with_id))
    newest = max(int(r["latest"]) for r in polls(live))
    assert any(e["date_create"] > without_id[0]["date_create"] for e in events if "id" in e), "nothing fired after it"
    assert newest > without_id[0]["date_create"]
    assert "stopped polling" not in capsys.readouterr().err + caplog.text


def test_a_window_shown_late_fires_once_when_it_appears(live):
    start = int(time.time()) - 1
    hidden_from = start
    visible_at = live.late_events(hidden_from, hidden_from + 1, delay=3.5)
    fired = run_for(make_trigger(start=start), 6.5)
    expected = ids(live.events(hidden_from, hidden_from + 1, action=ACTIONS))
    assert expected, "no event in the hidden seconds: pick a busier filter"
    when = {e["id"]: t for t, payload in fired for e in payload["events"]}
    assert expected <= set(when)
    assert all(when[i] >= visible_at for i in expected)
    got = fired_ids(fired)
    assert len(got) == len(set(got))


def test_a_busy_poll_fires_batches_of_max_events_newest_first(live):
    start = int(time.time()) - 20
    fired = run_for(make_trigger(start=start, max_events=7, poll_interval=5.0), 1.5)
    first_poll = [payload for _, payload in fired if payload["oldest"] == start]
    assert len(first_poll) >= 3
    assert all(p["count"] <= 7 for p in first_poll)
    assert all(p["count"] == 7 for p in first_poll[:-1])
    seconds = [e["date_create"] for p in first_poll for e in p["events"]]
    assert seconds == sorted(seconds, reverse=True)
    oldest, latest = first_poll[0]["oldest"], first_poll[0]["latest"]
    got = ids(e for p in first_poll for e in p["events"])
    assert (
        ids(live.events(oldest, latest - LAG, action=ACTIONS))
        <= got
        <= ids(live.events(oldest, latest, action=ACTIONS))
    )


def test_start_now_fires_nothing_older_than_the_first_poll(live):
    before = int(time.time())
    fired = run_for(make_trigger(), 4.5)
    floor = int(polls(live)[0]["oldest"])  # the second the watcher started at
    assert floor >= before
    assert all(e["date_create"] >= floor for _, p in fired for e in p["events"])
    assert all(int(r["oldest"]) >= floor for r in polls(live))


def test_never_polls_faster_than_poll_interval(live):
    run_for(make_trigger(poll_interval=0.5), 5.0)
    starts = [r.time for r in polls(live)]
    # In 5 s at most 5 / 0.5 + 1 polls may start; and they did keep polling all along.
    assert 8 <= len(starts) <= 11
    # On average no closer than the interval (measured where they arrive, so loop jitter averages out).
    assert (starts[-1] - starts[0]) / (len(starts) - 1) >= 0.5 - 0.01


# --------------------------------------------------------------------------- failures


def logged(capsys, caplog) -> list[str]:
    """The log lines written so far: Airflow 3 sends a trigger's log through structlog to stdout."""
    return [line for line in (capsys.readouterr().out + caplog.text).splitlines() if line.strip()]


def test_a_refused_token_stops_polling_with_one_clear_error(live, monkeypatch, caplog, capsys):
    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_AUDIT_DEFAULT",
        json.dumps(
            {
                "conn_type": "slack_audit",
                "password": live.error_tokens["missing_scope"],
                "extra": {"base_url": live.base_url},
            }
        ),
    )
    with caplog.at_level(logging.INFO):
        fired = run_for(make_trigger(poll_interval=0.2), 3.0)
    assert fired == []
    assert len(live.requests) == 1  # no tight loop: one refused call, then a wait of at least a minute
    lines = logged(capsys, caplog)
    errors = [line for line in lines if "error" in line.lower() and "stopped polling" in line]
    assert len(errors) == 1, lines
    assert "missing_scope" in errors[0]
    assert "tries again in 60 s" in errors[0]
    assert "auditlogs:read" in errors[0]  # what to fix
    assert not any(live.error_tokens["missing_scope"] in line for line in lines)


def test_a_rejected_query_stops_polling_too(live, caplog, capsys):
    trigger = make_trigger(poll_interval=0.2)
    trigger.action = ["no_such_action"]  # what a DAG with a typo sends: the API answers invalid_action
    with caplog.at_level(logging.ERROR):
        assert run_for(trigger, 2.0) == []
    assert len(live.requests) == 1
    text = "\n".join(logged(capsys, caplog))
    assert "invalid_action" in text
    assert "stopped polling" in text


def test_server_errors_past_the_retries_skip_one_poll_then_watching_goes_on(live, caplog, capsys):
    live.faults.add("http_503", count=3)  # the first poll: its attempt and both retries
    start = int(time.time()) - 2
    expected = ids(live.events(start, start + 1, action=ACTIONS))

    async def recovered(fired) -> bool:  # the failed poll's 3 calls, a poll after it, the events of its seconds
        return len(live.requests) >= 4 and expected <= set(fired_ids(fired))

    with caplog.at_level(logging.WARNING):
        fired = run_for(make_trigger(start=start), 5.5, until=recovered)
    text = "\n".join(logged(capsys, caplog))
    assert "failed; polling again in 1 s: SlackAuditLogsServerError" in text
    got = fired_ids(fired)
    assert len(got) == len(set(got))
    assert expected <= set(got)
    # The failed poll's retries stayed within poll_interval: the polls after it kept the cadence.
    starts = [r.time for r in live.requests]
    assert starts[3] - starts[0] < 2.0


# --------------------------------------------------------------------------- restart


class MetastoreAssetState:
    """An asset's state store as the triggerer hands it to a watcher (``aget``/``aset`` of JSON values),
    on Airflow's own metadata database through its MetastoreBackend, the way the execution API stores it."""

    def __init__(self, asset_id: int) -> None:
        from airflow._shared.state import AssetScope
        from airflow.state.metastore import MetastoreBackend

        self.scope = AssetScope(asset_id=asset_id)
        self.backend = MetastoreBackend()

    async def aget(self, key, default=None):
        raw = await asyncio.to_thread(self.backend.get, self.scope, key)
        return default if raw is None else json.loads(raw)

    async def aset(self, key, value) -> None:
        await asyncio.to_thread(self.backend.set, self.scope, key, json.dumps(value))


@pytest.fixture
def asset_store(airflow_db):
    pytest.importorskip("airflow.state.metastore", reason="the asset state store is new in Airflow 3.3")
    from airflow.models.asset import AssetModel
    from airflow.utils.session import create_session

    name = f"slack_audit_watch_test_{time.time_ns()}"
    with create_session() as session:
        asset = AssetModel(name=name, uri=f"slack-audit://{name}", group="asset")
        session.add(asset)
        session.flush()
        asset_id = asset.id
    return MetastoreAssetState(asset_id)


def test_a_restarted_watcher_resumes_from_the_saved_state(live, asset_store):
    from airflow_provider_slack_audit.triggers.audit_event_trigger import CHECKPOINT_DELAY

    start = int(time.time()) - 2
    first = make_trigger(start=start)
    first.asset_state_store = asset_store
    fired_first = run_for(first, CHECKPOINT_DELAY + 4, until=checkpointed(first, 0))
    stopped_at = time.time()
    time.sleep(2)  # the triggerer is down for a moment (a save cancelled mid-way may still land meanwhile)
    saved = asyncio.run(asset_store.aget(first.state_key))
    assert saved is not None
    assert saved["floor"] == max(start, saved["covered"] + 1 - LOOKBACK)  # the oldest second remembered
    saved_ids = {i for keys in saved["fired"].values() for i in keys}
    assert saved_ids

    second = make_trigger(start="now")  # start only matters without a saved state
    second.asset_state_store = asset_store
    resumed_at = len(live.requests)
    fired_second = run_for(second, 5.5, until=polled(live, 3))
    first_poll = live.requests[resumed_at]
    assert int(first_poll["oldest"]) == max(saved["floor"], saved["covered"] + 1 - LOOKBACK)

    a, b = fired_ids(fired_first), fired_ids(fired_second)
    assert not set(b) & saved_ids, "a restarted watcher fired again what its saved state says it fired"
    # Refired at most: what the first run fired after its last checkpoint (repeat, never skip),
    # that is in its last CHECKPOINT_DELAY seconds (plus a second for the loop's own timing).
    assert set(a) & set(b) <= set(a) - saved_ids
    recent = {e["id"] for t, p in fired_first for e in p["events"] if t >= stopped_at - CHECKPOINT_DELAY - 1}
    assert set(a) & set(b) <= recent
    assert len(set(a) - recent) > 0  # the run was long enough for some events to be saved
    # Nothing lost across the restart and the gap.
    last_latest = int(polls(live)[-1]["latest"])
    assert ids(live.events(start, last_latest - LAG, action=ACTIONS)) <= set(a) | set(b)
    assert len(b) == len(set(b))


CHECKPOINT_SECONDS = 9.0  # long enough for a checkpoint (CHECKPOINT_DELAY after a poll) to be saved


def runs_in_turn(live, asset_store, *kwargs: dict, saved: int = 100) -> list[tuple[list[str], set[str]]]:
    """Run a watcher, stop it, start it again on the same asset store with other arguments (what a changed DAG
    file does), and so on: each until over ``saved`` events fired over CHECKPOINT_DELAY + 1.5 s ago and its saved
    state holds them (CHECKPOINT_SECONDS at most), the last for three polls (its first is the one that could fire again
    what an earlier run fired; 4.5 s at most). For each run: the ids it fired, and those it fired in its last
    CHECKPOINT_DELAY + 1 s (what the next run may repeat, as after a crash, see the restart test above)."""
    from airflow_provider_slack_audit.triggers.audit_event_trigger import CHECKPOINT_DELAY

    runs = []
    for number, arguments in enumerate(kwargs, start=1):
        trigger = make_trigger(**arguments)
        trigger.asset_state_store = asset_store
        last = number == len(kwargs)
        fired = run_for(
            trigger,
            4.5 if last else CHECKPOINT_SECONDS,
            until=polled(live, 3) if last else checkpointed(trigger, saved),
        )
        stopped_at = time.time()
        recent = {e["id"] for t, p in fired for e in p["events"] if t >= stopped_at - CHECKPOINT_DELAY - 1}
        runs.append((fired_ids(fired), recent))
        if not last:
            time.sleep(1)  # a save cancelled mid-way lands meanwhile
    return runs


def restarted(live, asset_store, first_kwargs: dict, second_kwargs: dict):
    """Two runs in turn (:func:`runs_in_turn`): (ids of the first, ids of the second, the first's recent ids)."""
    (a, recent), (b, _) = runs_in_turn(live, asset_store, first_kwargs, second_kwargs)
    return a, b, recent


@pytest.mark.parametrize("lookback", [120, 5], ids=["raised", "lowered"])
def test_a_restart_with_another_lookback_fires_nothing_again(live, asset_store, lookback):
    """Issue 24 item 7: raising lookback_seconds made the first poll after a restart fire again every event
    the smaller lookback had forgotten (one DAG run each)."""
    start = int(time.time()) - 60
    a, b, recent = restarted(live, asset_store, {"start": start}, {"start": start, "lookback_seconds": lookback})
    assert len(b) == len(set(b))
    assert set(a) & set(b) <= recent, f"{len(set(a) & set(b) - recent)} event(s) fired again"
    assert len(set(a) - recent) > 100  # the first run fired the minute it caught up on, and saved it
    # Nothing lost: the smaller of the two lookbacks still covers LAG.
    last_latest = int(polls(live)[-1]["latest"])
    assert ids(live.events(start, last_latest - LAG, action=ACTIONS)) <= set(a) | set(b)


def test_a_restart_with_other_filters_fires_nothing_again(live, asset_store, capsys):
    """Filters name the memory (two watchers of one asset may watch different actions): a watcher whose
    filters changed starts from the memory the connection's last watcher left on the asset, not afresh from
    ``start`` (which fired again everything since ``start``)."""
    start = int(time.time()) - 60
    wider = [*ACTIONS, "user_logout"]
    a, b, recent = restarted(live, asset_store, {"start": start}, {"start": start, "action": wider})
    assert len(b) == len(set(b))
    assert set(a) & set(b) <= recent, f"{len(set(a) & set(b) - recent)} event(s) fired again"
    assert len(set(a) - recent) > 100
    assert "watcher of connection 'slack_audit_default' on this asset with other filters" in capsys.readouterr().out
    # The added action fires from where the memory starts; the old ones lose nothing.
    resumed = [r for r in polls(live) if r["action"] == ",".join(sorted(wider))]
    floor, last_latest = int(resumed[0]["oldest"]), int(resumed[-1]["latest"])
    assert floor > start
    assert ids(live.events(floor, last_latest - LAG, action="user_logout")) <= set(b)
    assert ids(live.events(start, last_latest - LAG, action=ACTIONS)) <= set(a) | set(b)


def test_filters_changed_and_changed_back_fire_nothing_again(live, asset_store):
    """Back to the first filters, the watcher's own memory is older than what the other filters' watcher
    fired since: it takes that memory in too, instead of reading on from its own and firing those again."""
    start = int(time.time()) - 30
    narrow, wide = {"start": start}, {"start": start, "action": [*ACTIONS, "user_logout"]}
    (a, _), (b, recent_b), (c, _) = runs_in_turn(live, asset_store, narrow, wide, narrow, saved=0)
    assert len(c) == len(set(c))
    assert not set(a) & set(c) - recent_b
    assert set(b) & set(c) <= recent_b, f"{len(set(b) & set(c) - recent_b)} event(s) fired again"
    last_latest = int(polls(live)[-1]["latest"])
    assert ids(live.events(start, last_latest - LAG, action=ACTIONS)) <= set(a) | set(b) | set(c)


def test_a_restart_with_another_poll_interval_and_max_events_fires_nothing_again(live, asset_store):
    start = int(time.time()) - 30
    a, b, recent = restarted(
        live, asset_store, {"start": start}, {"start": start, "poll_interval": 0.5, "max_events": 3}
    )
    assert len(b) == len(set(b))
    assert set(a) & set(b) <= recent
    last_latest = int(polls(live)[-1]["latest"])
    assert ids(live.events(start, last_latest - LAG, action=ACTIONS)) <= set(a) | set(b)


class SkewedClock:
    """The ``time`` module as a triggerer whose wall clock is ``skew`` seconds off sees it."""

    def __init__(self, skew: float) -> None:
        self.skew = skew

    def time(self) -> float:
        return time.time() + self.skew

    def __getattr__(self, name: str):
        return getattr(time, name)


@pytest.mark.parametrize("skew", [3600, -3600], ids=["ahead", "behind"])
def test_a_triggerer_clock_an_hour_off_fires_each_event_once(live, monkeypatch, skew, capsys):
    """Ahead, the watcher marked seconds read before Slack had written them, then asked for a range that
    starts in Slack's future (refused); behind, it waited an hour to read anything. Windows follow Slack's
    clock (the Date of its answers)."""
    from airflow_provider_slack_audit.triggers import audit_event_trigger

    monkeypatch.setattr(audit_event_trigger, "time", SkewedClock(skew))
    start = int(time.time()) - 2
    fired = run_for(make_trigger(start=start), 7.5)
    ended = int(time.time())
    got = fired_ids(fired)
    assert len(got) == len(set(got))
    assert ids(live.events(start, ended - LAG - 3, action=ACTIONS)) <= set(got)
    assert set(got) <= ids(live.events(start, ended, action=ACTIONS))
    assert all(int(r["latest"]) <= ended for r in polls(live))  # Slack's seconds, not the triggerer's
    assert "windows follow Slack's clock" in capsys.readouterr().out


def test_start_now_is_slacks_now_whatever_the_triggerers_clock(live, monkeypatch):
    from airflow_provider_slack_audit.triggers import audit_event_trigger

    monkeypatch.setattr(audit_event_trigger, "time", SkewedClock(-3600))
    before = int(time.time())
    fired = run_for(make_trigger(), 4.5)
    assert fired, "nothing fired: the watcher waited for its own clock"
    assert all(e["date_create"] >= before for _, p in fired for e in p["events"])


def test_without_a_state_store_a_restart_starts_afresh_from_start(live):
    start = int(time.time()) - 2
    run_for(make_trigger(start=start), 2.5)
    again = run_for(make_trigger(start=start), 1.5)
    # Documented: with no store a restarted watcher fires again what it fired since `start`.
    assert ids(live.events(start, start + 1, action=ACTIONS)) <= set(fired_ids(again))


# --------------------------------------------------------------------------- serialisation


def test_serialize_round_trips_without_token_and_is_deterministic(live):
    from airflow.triggers.base import BaseEventTrigger

    from airflow_provider_slack_audit.triggers.slack_audit import SlackAuditLogsEventTrigger

    trigger = make_trigger(action="user_login, file_downloaded", actor="W1", start="2024-03-01T00:00:00Z")
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_slack_audit.triggers.slack_audit.SlackAuditLogsEventTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert kwargs["start"] == 1709251200
    assert kwargs["action"] == ["file_downloaded", "user_login"]
    assert live.token not in json.dumps(kwargs)
    rebuilt = SlackAuditLogsEventTrigger(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)
    same = make_trigger(action=["file_downloaded", "user_login"], actor="W1", start=1709251200)
    assert BaseEventTrigger.hash(*same.serialize()) == BaseEventTrigger.hash(classpath, kwargs)
    assert BaseEventTrigger.hash(*make_trigger(actor="W2").serialize()) != BaseEventTrigger.hash(classpath, kwargs)
    # The same arguments serialise to the same bytes in another process (Airflow compares their hash).
    code = (
        "import json; from tests.unit.triggers.test_event_trigger import make_trigger; "
        "print(json.dumps(make_trigger(action=['user_login','file_downloaded'], actor='W1', "
        "start='2024-03-01T00:00:00Z').serialize()))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == json.loads(json.dumps([classpath, kwargs]))


@pytest.mark.parametrize(
    ("bad", "fix"),
    [
        ({"poll_interval": 0}, "poll_interval"),
        ({"lookback_seconds": -1}, "lookback_seconds"),
        ({"max_events": 0}, "max_events"),
        ({"max_events": 5000}, "max_events"),
        ({"start": "yesterday-ish"}, "start"),
        ({"slack_audit_conn_id": " "}, "slack_audit_conn_id"),
        ({"action": [f"a{i}" for i in range(31)]}, "30"),
    ],
)
def test_bad_arguments_say_what_to_change(bad, fix):
    with pytest.raises(Exception, match=fix):
        make_trigger(**bad)


# --------------------------------------------------------------------------- the example DAG


def test_a_dagbag_parse_of_the_example_registers_the_watcher(airflow_db):
    """Parse the example as the DAG processor does, write it to the database and find its watcher there."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import sync_bag_to_db
    from airflow.models.asset import AssetWatcherModel
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import select, update

    from tests.fixtures.dag_runs import load_dag_bag

    bag = load_dag_bag(ROOT / "example_dags" / "example_slack_audit_watcher.py")
    assert bag.import_errors == {}
    dag_id = "slack_audit_risky_action_watcher"
    assert dag_id in bag.dag_ids
    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(bag, "dags-folder", None)
    with create_session() as session:  # Airflow registers the watchers of active (unpaused) DAGs only
        session.execute(update(DagModel).where(DagModel.dag_id == dag_id).values(is_paused=False))

    def watchers() -> list[tuple]:
        sync_bag_to_db(bag, "dags-folder", None)
        with create_session() as session:
            rows = session.scalars(select(AssetWatcherModel)).all()
            return [(w.name, w.asset.name, w.trigger_id, w.trigger.classpath, w.trigger.kwargs) for w in rows]

    first = [w for w in watchers() if w[1] == "slack_audit_risky_actions"]
    assert len(first) == 1
    name, _, trigger_id, classpath, kwargs = first[0]
    assert name == "slack_audit_risky_actions_watcher"
    assert classpath == "airflow_provider_slack_audit.triggers.slack_audit.SlackAuditLogsEventTrigger"
    assert kwargs["action"] == ["anomaly", "app_installed", "role_change_to_admin", "role_change_to_owner"]
    assert kwargs["start"] == "now"
    # Parsed again (the DAG processor does so every few minutes): the same trigger, not a new one.
    again = [w for w in watchers() if w[1] == "slack_audit_risky_actions"]
    assert [w[2] for w in again] == [trigger_id]


class FailingFirstRead(MetastoreAssetState):
    """The metastore store, whose first read fails as a call through an overloaded API server can."""

    def __init__(self, asset_id: int) -> None:
        super().__init__(asset_id)
        self.reads = 0

    async def aget(self, key, default=None):
        self.reads += 1
        if self.reads == 1:
            raise RuntimeError("execution API timed out")
        return await super().aget(key, default)


def test_a_failed_read_of_the_saved_state_is_retried_before_polling(live, asset_store, capsys):
    start = int(time.time()) - 2
    first = make_trigger(start=start)
    first.asset_state_store = asset_store
    run_for(first, 7.5, until=checkpointed(first, 0))
    time.sleep(1)  # a save cancelled mid-way lands meanwhile
    saved = asyncio.run(asset_store.aget(first.state_key))
    flaky = FailingFirstRead(asset_store.scope.asset_id)
    second = make_trigger(start="now")
    second.asset_state_store = flaky
    resumed_at = len(live.requests)
    run_for(second, 2.5, until=polled(live, 1))
    assert flaky.reads == 3  # the failed read, then this query's memory and the connection's copy
    assert "Could not read the watcher's saved state (RuntimeError" in capsys.readouterr().out
    # It polled only once the state was read, from where the saved state says reading stopped.
    assert int(live.requests[resumed_at]["oldest"]) == max(saved["floor"], saved["covered"] + 1 - LOOKBACK)
