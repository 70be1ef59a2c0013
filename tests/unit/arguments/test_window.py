from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_slack_audit.arguments.window import (
    AuditWindow,
    latest_seconds,
    oldest_seconds,
    resolve_window,
    window_from_interval,
)

UTC = timezone.utc
H0 = datetime(2024, 1, 1, tzinfo=UTC)
H0_EPOCH = 1704067200


def ctx(start, end):
    return {"data_interval_start": start, "data_interval_end": end}


def test_hour_interval_maps_to_inclusive_bounds():
    w = resolve_window(ctx(H0, H0 + timedelta(hours=1)))
    assert w == AuditWindow(H0_EPOCH, H0_EPOCH + 3599)
    assert w.seconds == 3600


def test_fractional_seconds_round_up_on_both_ends():
    start = H0 + timedelta(microseconds=1)
    end = H0 + timedelta(seconds=10, microseconds=500_000)
    # [t0+1us, t0+10.5s) contains whole seconds t0+1 .. t0+10
    assert window_from_interval(start, end) == AuditWindow(H0_EPOCH + 1, H0_EPOCH + 10)


def test_non_utc_aware_datetimes():
    tz = ZoneInfo("America/New_York")
    start = datetime(2024, 1, 1, 7, 0, tzinfo=tz)  # 12:00 UTC
    w = window_from_interval(start, start + timedelta(hours=1))
    assert w.oldest == H0_EPOCH + 12 * 3600
    assert w.latest == H0_EPOCH + 13 * 3600 - 1


def test_dst_day_window_has_23_hours():
    tz = ZoneInfo("Europe/Berlin")
    start = datetime(2024, 3, 31, 0, 0, tzinfo=tz)
    end = datetime(2024, 4, 1, 0, 0, tzinfo=tz)
    w = window_from_interval(start, end)
    assert w.seconds == 23 * 3600
    assert w.oldest == int(datetime(2024, 3, 30, 23, 0, tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("value", "oldest", "latest"),
    [
        (H0_EPOCH, H0_EPOCH, H0_EPOCH),
        (H0_EPOCH + 0.25, H0_EPOCH + 1, H0_EPOCH),
        (str(H0_EPOCH), H0_EPOCH, H0_EPOCH),
        ("1704067200.9", H0_EPOCH + 1, H0_EPOCH),
        ("2024-01-01T00:00:00Z", H0_EPOCH, H0_EPOCH),
        ("2024-01-01T01:00:00+01:00", H0_EPOCH, H0_EPOCH),
        ("2024-01-01T00:00:00.5+00:00", H0_EPOCH + 1, H0_EPOCH),
        (H0, H0_EPOCH, H0_EPOCH),
        (datetime(2024, 1, 1), H0_EPOCH, H0_EPOCH),  # naive is read as UTC
        (date(2024, 1, 1), H0_EPOCH, H0_EPOCH),
    ],
)
def test_explicit_bound_forms(value, oldest, latest):
    assert oldest_seconds(value) == oldest
    assert latest_seconds(value) == latest


@pytest.mark.parametrize("bad", ["yesterday", "2024-13-01", True, float("nan"), [1]])
def test_bad_bounds_say_what_to_use(bad):
    with pytest.raises(AirflowFailException, match="oldest"):
        oldest_seconds(bad)


def test_explicit_bounds_override_missing_interval():
    w = resolve_window(ctx(None, None), oldest="2024-01-01T00:00:00Z", latest=H0_EPOCH + 59)
    assert w == AuditWindow(H0_EPOCH, H0_EPOCH + 59)


def test_one_explicit_bound_combines_with_interval():
    w = resolve_window(ctx(H0, H0 + timedelta(hours=1)), oldest=H0_EPOCH + 600)
    assert w == AuditWindow(H0_EPOCH + 600, H0_EPOCH + 3599)
    w = resolve_window(ctx(H0, H0 + timedelta(hours=1)), latest="")  # an empty rendered template is "not given"
    assert w == AuditWindow(H0_EPOCH, H0_EPOCH + 3599)


def test_no_interval_fails_with_fix():
    with pytest.raises(AirflowFailException, match=r"no data interval.*CronDataIntervalTimetable"):
        resolve_window(ctx(None, None))


def test_empty_interval_fails_with_fix():
    with pytest.raises(AirflowFailException, match=r"empty.*oldest= and latest="):
        resolve_window(ctx(H0, H0))


def test_inverted_explicit_bounds_fail():
    with pytest.raises(AirflowFailException, match="oldest <= latest"):
        resolve_window({}, oldest=H0_EPOCH + 10, latest=H0_EPOCH)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@given(
    start=st.datetimes(min_value=datetime(2018, 3, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)),
    steps=st.lists(st.integers(min_value=1_000_000, max_value=90_000_000_000), min_size=1, max_size=8),
)
def test_consecutive_intervals_share_no_second_and_miss_none(start, steps):
    # Intervals of at least a second, of any microsecond length, each starting where the previous one ended.
    bounds = [start]
    for micro in steps:
        bounds.append(bounds[-1] + timedelta(microseconds=micro))
    covered: list[int] = []
    for a, b in itertools.pairwise(bounds):
        w = window_from_interval(a, b)
        # Every second the window selects lies in [a, b), and the seconds just outside do not.
        assert a <= EPOCH + timedelta(seconds=w.oldest)
        assert EPOCH + timedelta(seconds=w.latest) < b
        assert EPOCH + timedelta(seconds=w.oldest - 1) < a
        assert EPOCH + timedelta(seconds=w.latest + 1) >= b
        covered.extend(range(w.oldest, w.latest + 1))
    assert covered == list(range(covered[0], covered[-1] + 1))  # no gap, no second twice
