"""What an audit event watcher remembers between polls: which seconds it has read and which ids it fired.

Pure logic, no I/O and no Airflow import, so that the rules below are tested without a server:

- **The window.** The first poll reads ``[floor, now]`` (``floor``: the watcher's ``start``). Every
  later poll reads ``[covered + 1 - lookback, now]``, where ``covered`` is the last second the
  previous polls read for good. While polls come every ``poll_interval`` that is the issue's
  ``[now - lookback, now]`` widened by one interval; after a stall or a restart from saved state it
  reaches back to where reading stopped, so no second is read for less than ``lookback`` seconds
  after the previous poll ended. An event that shows up in the API at most ``lookback`` seconds after
  its ``date_create`` is therefore fired, whatever the gap between polls.
- **Slack's clock.** ``now`` and ``covered`` are Slack's seconds (see :mod:`.slack_clock`): a poll
  has read the seconds of its window up to Slack's answer (``Date``), never seconds Slack had not
  reached, whatever the triggerer's own clock says.
- **Each id once.** Ids already fired are skipped. ``floor`` rises with the reading: it is the
  oldest second whose fired ids are still remembered (``covered + 1 - lookback`` once reading is
  past it), and nothing older than ``floor`` is ever taken. Memory holds the ids of about
  ``lookback + poll_interval`` seconds, never more. Because ``floor`` is saved with the ids, a
  watcher restarted with another ``lookback`` (or ``poll_interval``, ``max_events``) cannot fire
  again what it forgot: a larger lookback takes effect as reading moves on, never backwards.
- **Batches.** New events go out newest first, at most ``max_events`` per batch.
- **When to save.** :class:`Checkpoints`: a state is saved only once its events have had
  ``delay`` seconds to reach the database, so a crash can repeat events, never skip them.
- **Saved form.** :meth:`WatchState.to_json` / :meth:`WatchState.from_json`: a small JSON object (ids
  grouped by second) for Airflow's asset state store.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_slack_audit.client.validation import isinstance_strict

#: Version of the saved form. 2: ``floor`` is the oldest second whose fired ids are remembered. A
#: version 1 state (whose ``floor`` was the watcher's ``start``, and which does not say how far back
#: its ids reach) resumes after its ``covered`` second; any other version is ignored.
STATE_VERSION = 2
#: The version 1 form, still read (see :meth:`WatchState.from_json`).
STATE_VERSION_1 = 1


def event_key(entry: Mapping[str, Any]) -> str:
    """What makes an audit event itself: its ``id`` (Slack always sends one), else its whole JSON text."""
    key = entry.get("id")
    if isinstance(key, str) and key:
        return key
    return json.dumps(entry, sort_keys=True, separators=(",", ":"))


def event_second(entry: Mapping[str, Any]) -> int | None:
    """The event's ``date_create`` in whole seconds, or None when it is missing or not a number."""
    value = entry.get("date_create")
    if not isinstance_strict(value, (int, float)):
        return None
    return int(value)


@dataclass(frozen=True)
class PollWindow:
    """The inclusive range of seconds one poll reads."""

    oldest: int
    latest: int


@dataclass
class WatchState:
    """The memory of one watcher.

    :param floor: the oldest second whose events may fire: the watcher's ``start`` at first, then the
        oldest second whose fired ids are remembered (it only rises); older events never fire.
    :param lookback: how many seconds behind the last second read every poll reads again.
    :param covered: the last second (Slack's clock) that every poll so far has read up to; None before the first.
    :param fired: id -> ``date_create`` of the events fired whose second is ``floor`` or later.
    """

    floor: int
    lookback: int
    covered: int | None = None
    fired: dict[str, int] = field(default_factory=dict)

    def window(self, now: float) -> PollWindow | None:
        """The seconds the next poll reads when Slack's clock says ``now``; None while ``floor`` is in the future."""
        latest = int(now)
        oldest = self.floor if self.covered is None else max(self.floor, self.covered + 1 - self.lookback)
        if oldest > latest:
            return None
        return PollWindow(oldest, latest)

    def take_new(self, entries: Iterable[Mapping[str, Any]], window: PollWindow) -> list[dict[str, Any]]:
        """The entries not fired before (each once), newest first; they count as fired from now on.

        Entries outside ``window`` (the API answers only inside it; anything else is ignored) and
        entries older than ``floor`` are not taken.
        """
        new: list[dict[str, Any]] = []
        for entry in entries:
            second = event_second(entry)
            if second is None:
                second = window.latest  # kept until this poll's seconds leave the lookback
            elif not window.oldest <= second <= window.latest or second < self.floor:
                continue
            key = event_key(entry)
            if key in self.fired:
                continue
            self.fired[key] = second
            new.append(dict(entry))
        new.sort(key=lambda e: event_second(e) or 0, reverse=True)  # stable: the API's order within a second
        return new

    def poll_done(self, window: PollWindow, answered_at: int | None = None) -> None:
        """Record that ``window`` was read to its end, and forget ids no later window can return.

        :param answered_at: the second of Slack's clock at which it answered the poll's first page
            (its ``Date``), or None when unknown: then the whole window counts as read. Seconds after
            ``answered_at`` had not begun for Slack and are read again; what Slack adds to
            ``answered_at`` itself later is a late arrival, as any other (``lookback``).
        """
        read_to = window.latest if answered_at is None else min(window.latest, answered_at)
        self.covered = max(self.floor - 1 if self.covered is None else self.covered, read_to)
        self.floor = max(self.floor, self.covered + 1 - self.lookback)
        for key in [k for k, second in self.fired.items() if second < self.floor]:
            del self.fired[key]

    def reach_lost(self) -> int:
        """How many seconds short of ``lookback`` the next window reaches behind ``covered`` (0: none).

        Non-zero after a restart with a larger ``lookback`` than the saved state was kept with: the
        ids of those seconds were forgotten, so they are not read again (reading them could fire
        again what was fired). The shortfall closes as reading moves on.
        """
        if self.covered is None:
            return 0
        return max(0, self.floor - (self.covered + 1 - self.lookback))

    def merge(self, other: WatchState) -> None:
        """Take in another memory of the same asset (a watcher with other filters): afterwards no id
        either one fired can fire again.

        Each memory holds every id it fired from its own ``floor`` on; from the later of the two floors
        both are complete, so that is the merged ``floor``, and reading goes on after the later
        ``covered``. Seconds only the other memory had read are not read again for this one's filters.
        """
        self.floor = max(self.floor, other.floor)
        read = [c for c in (self.covered, other.covered) if c is not None]
        self.covered = max(read) if read else None
        both = {**self.fired, **other.fired}
        self.fired = {key: second for key, second in both.items() if second >= self.floor}

    # ------------------------------------------------------------------ saved form

    def to_json(self) -> dict[str, Any]:
        """The state as a JSON-safe dict (ids grouped by second, sorted: the same state, the same dict)."""
        by_second: dict[int, list[str]] = {}
        for key, second in self.fired.items():
            by_second.setdefault(second, []).append(key)
        return {
            "version": STATE_VERSION,
            "floor": self.floor,
            "covered": self.covered,
            "fired": {str(second): sorted(keys) for second, keys in sorted(by_second.items())},
        }

    @classmethod
    def from_json(cls, saved: Any, lookback: int) -> WatchState | None:
        """A state from :meth:`to_json`'s form, with the watcher's current ``lookback``; None if unreadable.

        A version 1 state did not record how far back its ids reach (its ``lookback`` is not saved):
        it resumes with ``floor`` after its ``covered`` second, so nothing it fired fires again; events
        of its last lookback that Slack shows late are not fired (the caller says so in its log).
        """
        if not isinstance(saved, Mapping) or saved.get("version") not in (STATE_VERSION, STATE_VERSION_1):
            return None
        floor, covered, fired = saved.get("floor"), saved.get("covered"), saved.get("fired")
        if not isinstance_strict(floor, int):
            return None
        if covered is not None and not isinstance_strict(covered, int):
            return None
        if not isinstance(fired, Mapping):
            return None
        ids: dict[str, int] = {}
        for second, keys in fired.items():
            if not (isinstance(second, str) and second.lstrip("-").isdigit() and isinstance(keys, list)):
                return None
            for key in keys:
                if not isinstance(key, str):
                    return None
                ids[key] = int(second)
        if saved["version"] == STATE_VERSION_1 and covered is not None:
            floor = max(floor, covered + 1)
            ids = {key: second for key, second in ids.items() if second >= floor}
        return cls(floor=floor, lookback=lookback, covered=covered, fired=ids)


class Checkpoints:
    """The states taken after each poll, handed out for saving once they are ``delay`` seconds old.

    A state taken right after its events were yielded lists them as fired; saved before Airflow has
    stored those events, a crash in between would lose them. Saved ``delay`` seconds later (Airflow
    stores yielded events within about a second), a crash can only make the newest events fire again.
    Holds at most the states of ``delay`` seconds of polls.
    """

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._taken: deque[tuple[float, dict[str, Any]]] = deque()

    def add(self, taken_at: float, saved: dict[str, Any]) -> None:
        """Record the state ``saved`` (``to_json``) as of monotonic time ``taken_at``."""
        self._taken.append((taken_at, saved))

    def due(self) -> float | None:
        """When the oldest state held becomes old enough to save; None when none is held."""
        return self._taken[0][0] + self.delay if self._taken else None

    def ripe(self, now: float) -> dict[str, Any] | None:
        """The newest state at least ``delay`` old (dropping it and older ones), or None."""
        found = None
        while self._taken and now - self._taken[0][0] >= self.delay:
            found = self._taken.popleft()[1]
        return found


def batches(events: list[dict[str, Any]], max_events: int) -> Iterator[list[dict[str, Any]]]:
    """``events`` (newest first) in consecutive chunks of at most ``max_events``."""
    for start in range(0, len(events), max_events):
        yield events[start : start + max_events]
