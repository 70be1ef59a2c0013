"""Which audit events a DAG run owns: its data interval as the API's inclusive bounds.

A run owns the events whose ``date_create`` lies in ``[data_interval_start, data_interval_end)``.
The API takes inclusive integer seconds, so that interval becomes ``oldest = ceil(start)`` and
``latest = ceil(end) - 1``: consecutive runs share no second and miss none. Explicit ``oldest`` /
``latest`` (epoch seconds, ISO-8601 strings or datetimes; ``latest`` inclusive) override the interval.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import AirflowFailException

#: What ``oldest`` / ``latest`` accept.
TimeBound = int | float | str | datetime | date | None

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NUMBER = re.compile(r"[+-]?\d+(\.\d*)?")

NO_INTERVAL_FIX = (
    "Give the DAG a timetable whose runs cover an interval of time, such as "
    "CronDataIntervalTimetable('0 * * * *', timezone='UTC') or DeltaDataIntervalTimetable(timedelta(hours=1)) "
    "(in Airflow 3 a plain cron string or timedelta schedule makes runs whose interval is empty, unless "
    "[scheduler] create_cron_data_intervals / create_delta_data_intervals is True), "
    "or pass explicit oldest= and latest= bounds to the task."
)


@dataclass(frozen=True)
class AuditWindow:
    """An inclusive range of whole epoch seconds: the API's ``oldest`` and ``latest``."""

    oldest: int
    latest: int

    def __post_init__(self) -> None:
        if self.oldest > self.latest:
            raise AirflowFailException(
                f"The window is empty or inverted: oldest={self.oldest} ({_iso(self.oldest)}) is after "
                f"latest={self.latest} ({_iso(self.latest)}). Make oldest <= latest (both inclusive)."
            )

    @property
    def seconds(self) -> int:
        """How many seconds the window spans."""
        return self.latest - self.oldest + 1

    def describe(self) -> str:
        """The window in a form fit for a log line."""
        return f"[{self.oldest}, {self.latest}] ({_iso(self.oldest)} .. {_iso(self.latest)} inclusive)"


def _iso(epoch: int) -> str:
    return (_EPOCH + timedelta(seconds=epoch)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _as_aware(value: datetime) -> datetime:
    # Airflow's own datetimes are aware; a naive one given by a user is read as UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _ceil_seconds(value: datetime) -> int:
    """Whole seconds since the epoch, rounded up, computed exactly (no float rounding)."""
    delta = _as_aware(value) - _EPOCH
    whole = delta.days * 86400 + delta.seconds
    return whole + (1 if delta.microseconds else 0)


def _parse_iso(text: str, name: str) -> datetime:
    candidate = text.strip()
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(candidate)
    except ValueError:
        pass
    # Python 3.10's fromisoformat() reads little more than what isoformat() writes (e.g. not ".5" seconds);
    # pendulum (an Airflow dependency) reads full ISO-8601. exact=True: a bare time is not "today at".
    try:
        parsed = pendulum.parse(candidate, exact=True)
    except ValueError:
        parsed = None
    if isinstance(parsed, datetime):
        return parsed
    raise AirflowFailException(
        f"{name}={text!r} is neither epoch seconds nor an ISO-8601 timestamp. "
        f"Use e.g. 1704067200, '2024-01-01T00:00:00Z' or a datetime."
    )


def _to_exact(value: Any, name: str) -> Decimal | datetime:
    """A bound as an exact number of epoch seconds (Decimal) or an aware datetime."""
    if isinstance(value, bool) or value is None:
        raise AirflowFailException(f"{name}={value!r} is not a time. Use epoch seconds, ISO-8601 or a datetime.")
    if isinstance(value, datetime):
        return _as_aware(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            raise AirflowFailException(f"{name}={value!r} is not a finite number of epoch seconds.")
        return Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER.fullmatch(text):
            try:
                return Decimal(text)
            except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
                pass
        return _as_aware(_parse_iso(text, name))
    raise AirflowFailException(
        f"{name} has type {type(value).__name__}; use epoch seconds, an ISO-8601 string or a datetime."
    )


def oldest_seconds(value: TimeBound, name: str = "oldest") -> int:
    """The first whole second at or after ``value``: the inclusive lower bound it means."""
    exact = _to_exact(value, name)
    if isinstance(exact, datetime):
        return _ceil_seconds(exact)
    return int(exact.to_integral_value(rounding="ROUND_CEILING"))


def latest_seconds(value: TimeBound, name: str = "latest") -> int:
    """The last whole second at or before ``value``: ``latest`` is inclusive, as in the API."""
    exact = _to_exact(value, name)
    if isinstance(exact, datetime):
        delta = exact - _EPOCH
        return delta.days * 86400 + delta.seconds  # floor, exactly
    return int(exact.to_integral_value(rounding="ROUND_FLOOR"))


def window_from_interval(start: datetime, end: datetime) -> AuditWindow:
    """The inclusive bounds that select ``[start, end)``: ``ceil(start)`` .. ``ceil(end) - 1``."""
    return AuditWindow(_ceil_seconds(start), _ceil_seconds(end) - 1)


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def resolve_window(context: Mapping[str, Any], oldest: TimeBound = None, latest: TimeBound = None) -> AuditWindow:
    """The window a task instance owns: explicit bounds if given, else the run's data interval.

    :param context: the task's Airflow context (``data_interval_start`` / ``data_interval_end`` are read).
    :param oldest: explicit inclusive lower bound, overriding ``data_interval_start``; an empty string
        (what an unset template renders to) counts as not given.
    :param latest: explicit inclusive upper bound, overriding ``data_interval_end``.
    """
    has_oldest, has_latest = not _is_blank(oldest), not _is_blank(latest)
    if has_oldest and has_latest:
        return AuditWindow(oldest_seconds(oldest), latest_seconds(latest))
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    if start is None or end is None:
        raise AirflowFailException(
            "This run has no data interval (a manual or asset-triggered run in Airflow 3), so it owns no "
            "window of audit events. " + NO_INTERVAL_FIX
        )
    if not has_oldest and not has_latest and start >= end:
        raise AirflowFailException(
            f"This run's data interval is empty (start == end == {start.isoformat()}), so it owns no audit "
            "events and consecutive runs would not cover time. " + NO_INTERVAL_FIX
        )
    interval = window_from_interval(start, end) if start < end else None
    lower = oldest_seconds(oldest) if has_oldest else (interval.oldest if interval else _ceil_seconds(start))
    upper = latest_seconds(latest) if has_latest else (interval.latest if interval else _ceil_seconds(end) - 1)
    return AuditWindow(lower, upper)
