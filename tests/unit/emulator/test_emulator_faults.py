"""Faults on request, the rate limit and late arrivals."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from emulator_helpers import T0, auth, get_logs, read_all

from airflow_provider_slack_audit.emulator.faults import FaultSpec, RateLimiter, parse_fault


@pytest.fixture
def http() -> requests.Session:
    with requests.Session() as session:
        yield session


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_fire_count_times(slack_audit_emulator, http, status):
    emu = slack_audit_emulator
    emu.faults.add(f"http_{status}", count=2)
    codes = [get_logs(http, emu, oldest=T0, latest=T0 + 60).status_code for _ in range(3)]
    assert codes == [status, status, 200]
    assert emu.stats.faults == {f"http_{status}": 2}


def test_on_call_targets_only_the_nth_logs_call(slack_audit_emulator, http):
    emu = slack_audit_emulator
    emu.faults.add("http_503", on_call=2)
    http.get(emu.base_url + "schemas", timeout=10)  # other endpoints do not count
    codes = [get_logs(http, emu, oldest=T0, latest=T0 + 60).status_code for _ in range(3)]
    assert codes == [200, 503, 200]


def test_cursor_only_faults_spare_first_pages(slack_audit_emulator, http):
    emu = slack_audit_emulator
    emu.faults.add("http_500", cursor_only=True, count=1)
    first = get_logs(http, emu, oldest=T0, latest=T0 + 600, limit=10)
    assert first.status_code == 200
    cursor = first.json()["response_metadata"]["next_cursor"]
    again = get_logs(http, emu, oldest=T0, latest=T0 + 600, limit=10, cursor=cursor)
    assert again.status_code == 500
    assert get_logs(http, emu, oldest=T0, latest=T0 + 600, limit=10, cursor=cursor).status_code == 200


def test_reset_drops_the_connection(slack_audit_emulator, http):
    emu = slack_audit_emulator
    emu.faults.add("reset", endpoint="any")
    with pytest.raises(requests.ConnectionError):
        http.get(emu.base_url + "schemas", timeout=10)
    assert http.get(emu.base_url + "schemas", timeout=10).status_code == 200
    assert emu.stats.responses[0] == 1


def test_cut_body_breaks_the_transfer(slack_audit_emulator, http):
    emu = slack_audit_emulator
    emu.faults.add("cut_body")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        get_logs(http, emu, oldest=T0, latest=T0 + 600)
    assert get_logs(http, emu, oldest=T0, latest=T0 + 600).status_code == 200


def test_not_json_body(slack_audit_emulator, http):
    emu = slack_audit_emulator
    emu.faults.add("not_json")
    response = get_logs(http, emu, oldest=T0, latest=T0 + 600)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(requests.exceptions.JSONDecodeError):
        response.json()


def test_slow_response_trips_a_read_timeout(slack_audit_emulator, http):
    emu = slack_audit_emulator
    emu.faults.add("slow", delay=1.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        http.get(emu.base_url + "logs", params={"oldest": T0, "latest": T0 + 60}, headers=auth(emu.token), timeout=0.2)


def test_a_held_call_answers_once_released(slack_audit_emulator, http):
    emu = slack_audit_emulator
    gate = emu.faults.add("hold", delay=60, count=None)
    answers: list[int] = []
    call = threading.Thread(target=lambda: answers.append(get_logs(http, emu, oldest=T0, latest=T0 + 60).status_code))
    call.start()
    deadline = time.monotonic() + 30
    while gate.fired < 1 and time.monotonic() < deadline:  # the call reached the server and is held there
        time.sleep(0.01)
    assert gate.fired == 1
    assert answers == []
    gate.release()
    call.join(30)
    assert answers == [200]
    assert get_logs(http, emu, oldest=T0, latest=T0 + 60).status_code == 200  # released for good: no wait


def test_duplicate_entries_within_one_page(slack_audit_emulator, http):
    emu = slack_audit_emulator
    emu.faults.add("duplicate_entries", duplicates=3)
    entries = get_logs(http, emu, oldest=T0, latest=T0 + 600, limit=50).json()["entries"]
    ids = [e["id"] for e in entries]
    assert len(ids) - len(set(ids)) == 3
    assert [e["date_create"] for e in entries] == sorted((e["date_create"] for e in entries), reverse=True)
    # a client that de-duplicates still gets exactly the window
    emu.faults.add("duplicate_entries", count=None)
    got, _ = read_all(http, emu, oldest=T0, latest=T0 + 600, limit=50)
    unique = list({e["id"]: e for e in got}.values())
    assert len(unique) < len(got)
    assert unique == emu.events(T0, T0 + 600)


def test_reject_cursor(slack_audit_emulator, http):
    emu = slack_audit_emulator
    emu.faults.add("reject_cursor")
    first = get_logs(http, emu, oldest=T0, latest=T0 + 600, limit=10)
    assert first.status_code == 200  # no cursor: not targeted
    cursor = first.json()["response_metadata"]["next_cursor"]
    rejected = get_logs(http, emu, oldest=T0, latest=T0 + 600, limit=10, cursor=cursor)
    assert (rejected.status_code, rejected.json()) == (400, {"ok": False, "error": "invalid_cursor"})


@pytest.mark.parametrize("error", ["ratelimited", "rate_limited"])
def test_rate_limit_burst(slack_audit_emulator, http, error):
    emu = slack_audit_emulator
    emu.faults.add("rate_limit_burst", count=2, retry_after=7, error=error)
    responses = [get_logs(http, emu, oldest=T0, latest=T0 + 60) for _ in range(3)]
    assert [r.status_code for r in responses] == [429, 429, 200]
    assert responses[0].headers["Retry-After"] == "7"
    assert responses[0].json() == {"ok": False, "error": error}
    assert emu.stats.rate_limited == 2


def test_rate_limiter_is_org_wide_and_sends_retry_after(slack_audit_emulator, http):
    emu = slack_audit_emulator
    emu.set_rate_limit(60, burst=3)
    codes = [
        http.get(emu.base_url + "schemas", timeout=10).status_code,
        http.get(emu.base_url + "actions", timeout=10).status_code,
        get_logs(http, emu, oldest=T0, latest=T0 + 60).status_code,
    ]
    limited = get_logs(http, emu, oldest=T0, latest=T0 + 60)
    assert codes == [200, 200, 200]
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json() == {"ok": False, "error": "ratelimited"}
    assert emu.stats.rate_limited == 1
    emu.set_rate_limit(0)
    assert get_logs(http, emu, oldest=T0, latest=T0 + 60).status_code == 200


def test_the_fixture_hands_each_test_a_reset_emulator(request, http):
    """What an earlier test left armed on the session's emulator (a fault on every call, a rate limit) is gone
    when the next test gets ``slack_audit_emulator``: the earlier test is played here, in the same test."""
    session = request.getfixturevalue("_slack_audit_emulator_session")  # the instance, without the reset
    session.faults.add("http_500", count=None)
    session.set_rate_limit(1, burst=1)
    assert get_logs(http, session, oldest=T0, latest=T0 + 60).status_code == 500  # armed

    emulator = request.getfixturevalue("slack_audit_emulator")

    assert emulator is session
    assert emulator.faults.armed == []
    codes = {get_logs(http, emulator, oldest=T0, latest=T0 + 60).status_code for _ in range(3)}
    assert codes == {200}  # neither the fault nor the rate limit (a burst of 1) is left


def test_late_events_appear_after_their_delay(slack_audit_emulator, http):
    emu = slack_audit_emulator
    window = (T0, T0 + 300)
    everything = emu.events(*window)
    emu.late_events(T0 + 100, T0 + 200, delay=0.5)
    now_visible, _ = read_all(http, emu, oldest=window[0], latest=window[1], limit=1000)
    assert now_visible == emu.events(*window, include_late=False)
    assert now_visible == [e for e in everything if not T0 + 100 <= e["date_create"] <= T0 + 200]
    assert len(now_visible) < len(everything)
    time.sleep(0.6)
    later, _ = read_all(http, emu, oldest=window[0], latest=window[1], limit=1000)
    assert later == everything


def test_open_ended_stream_shows_nothing_from_the_future(slack_audit_emulator_factory, http):
    now = int(time.time())
    emu = slack_audit_emulator_factory(start=now - 3600, end="now", events_per_hour=36000)
    entries, _ = read_all(http, emu, oldest=now - 600, latest=now + 60, limit=5000)
    assert entries
    assert max(e["date_create"] for e in entries) <= int(time.time())


def test_ingest_lag_makes_recent_events_arrive_out_of_order(slack_audit_emulator_factory, http):
    now = int(time.time())
    emu = slack_audit_emulator_factory(start=now - 7200, end="now", events_per_hour=36000, ingest_lag=600)
    seen_now, _ = read_all(http, emu, oldest=now - 1200, latest=now, limit=5000)
    final = emu.dataset.events(now - 1200, now, now=now + 10_000)
    ids_now = {e["id"] for e in seen_now}
    assert ids_now < {e["id"] for e in final}  # some recent events are still missing
    missing = [e for e in final if e["id"] not in ids_now]
    assert min(e["date_create"] for e in missing) < max(e["date_create"] for e in seen_now)


def test_fault_options_are_validated():
    with pytest.raises(ValueError, match="unknown fault kind"):
        FaultSpec("explode")
    with pytest.raises(ValueError, match="count"):
        FaultSpec("reset", count=0)
    with pytest.raises(ValueError, match="endpoint"):
        FaultSpec("reset", endpoint="chat.postMessage")
    with pytest.raises(ValueError, match="key=value"):
        parse_fault("http_500:often")
    spec = parse_fault("http_503:probability=0.5,endpoint=any")
    assert (spec.kind, spec.count, spec.probability, spec.endpoint) == ("http_503", None, 0.5, "any")


def test_rate_limiter_refills():
    limiter = RateLimiter(6000, burst=1)  # 100 per second
    assert limiter.acquire() is None
    assert limiter.acquire() == 1
    time.sleep(0.05)
    assert limiter.acquire() is None
