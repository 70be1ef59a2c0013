"""requests_per_minute: the pacer's arithmetic on a fake clock, and its waits in the client's stats."""

from __future__ import annotations

import pytest
from client_helpers import LOGS, FakeTime, entry, page

from airflow_provider_slack_audit.client import RequestPacer


def test_calls_are_spaced_sixty_over_rpm_apart():
    time = FakeTime()
    pacer = RequestPacer(50, clock=time.clock, sleep=time.sleep)
    waits = [pacer.acquire() for _ in range(5)]
    assert waits == pytest.approx([0, 1.2, 1.2, 1.2, 1.2])
    assert time.sleeps == pytest.approx([1.2, 1.2, 1.2, 1.2])


def test_time_spent_elsewhere_counts_towards_the_spacing():
    time = FakeTime()
    pacer = RequestPacer(30, clock=time.clock, sleep=time.sleep)  # 2s apart
    assert pacer.acquire() == 0
    time.now += 0.5  # the call took 0.5s
    assert pacer.acquire() == pytest.approx(1.5)
    time.now += 10  # idle
    assert pacer.acquire() == 0
    assert pacer.acquire() == pytest.approx(2)


def test_a_burst_goes_back_to_back_then_spacing_resumes():
    time = FakeTime()
    pacer = RequestPacer(60, burst=3, clock=time.clock, sleep=time.sleep)  # 1s apart
    assert [pacer.acquire() for _ in range(5)] == pytest.approx([0, 0, 0, 1, 1])
    time.now += 100  # a long idle spell refills the burst, no more
    assert [pacer.acquire() for _ in range(4)] == pytest.approx([0, 0, 0, 1])


def test_never_more_than_rpm_calls_in_any_minute_after_the_burst():
    time = FakeTime()
    pacer = RequestPacer(50, burst=5, clock=time.clock, sleep=time.sleep)
    starts = []
    for _ in range(500):
        pacer.acquire()
        starts.append(time.now)
        time.now += 0.05
    for i, start in enumerate(starts):
        in_window = sum(1 for s in starts[i:] if s < start + 60)
        assert in_window <= 50 + 5 - 1


@pytest.mark.parametrize("rpm", [0, -1, float("inf"), "50", True])
def test_bad_rates_are_refused(rpm):
    with pytest.raises(ValueError, match="requests_per_minute"):
        RequestPacer(rpm)


def test_bad_burst_is_refused():
    with pytest.raises(ValueError, match="burst"):
        RequestPacer(50, burst=0)


def test_client_paces_every_call_and_counts_the_waits(make_client, requests_mock, fake_time):
    requests_mock.get(
        LOGS,
        [{"json": page([entry("a", 3)], "c1")}, {"status_code": 503}, {"json": page([entry("b", 2)], "")}],
    )
    client = make_client(requests_per_minute=20)  # 3s apart
    assert [e["id"] for e in client.iter_logs(oldest=1, latest=3)] == ["a", "b"]
    assert client.stats.calls == 3
    # Second call waits 3s of pacing; the retry waits its backoff (0.5..1s) then pacing tops it up to 3s.
    pacing = list(fake_time.sleeps)
    assert pacing[0] == pytest.approx(3)
    assert sum(pacing) == pytest.approx(6)
    assert client.stats.waited_seconds == pytest.approx(sum(fake_time.sleeps))


def test_no_pacing_by_default(make_client, requests_mock, fake_time):
    requests_mock.get(LOGS, json=page([]))
    client = make_client()
    client.logs()
    client.logs()
    assert fake_time.sleeps == []
    assert client.pacer is None
