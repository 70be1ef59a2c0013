"""Running the object storage operator's ``execute()`` against an emulator, and checking what it wrote."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsToObjectStorageOperator

_conn_numbers = itertools.count(1)


def utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def interval_context(oldest: int, latest: int) -> dict[str, Any]:
    """The part of a task's context the operators read: the data interval [oldest, latest + 1)."""
    return {"data_interval_start": utc(oldest), "data_interval_end": utc(latest + 1)}


def ids_in_file(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_bytes().splitlines()]


@dataclass
class Tally:
    """What a family of export runs proved."""

    runs: int = 0
    succeeded: int = 0
    failed: int = 0
    faults_injected: int = 0
    events_checked: int = 0
    lost: int = 0
    duplicated: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def line(self, name: str) -> str:
        fields = [
            f"runs={self.runs}",
            f"succeeded={self.succeeded}",
            f"failed_cleanly={self.failed}",
            f"faults_injected={self.faults_injected}",
            f"events_checked={self.events_checked}",
            f"lost={self.lost}",
            f"duplicated={self.duplicated}",
            *(f"{k}={v}" for k, v in self.extra.items()),
        ]
        return f"{name}: " + " ".join(fields)


class Summary:
    """The summary lines of this pytest session (printed by the conftest's terminal summary)."""

    def __init__(self) -> None:
        self.tallies: dict[str, Tally] = {}
        self.free_lines: list[str] = []

    def tally(self, name: str) -> Tally:
        return self.tallies.setdefault(name, Tally())

    def add_line(self, line: str) -> None:
        self.free_lines.append(line)

    def lines(self) -> list[str]:
        return [t.line(name) for name, t in self.tallies.items() if t.runs] + self.free_lines


SUMMARY = Summary()


@dataclass
class RunResult:
    """One ``execute()``: the summary it returned or the exception it raised, and the target path."""

    path: Path
    oldest: int
    latest: int
    expected: list[str]
    summary: dict[str, Any] | None = None
    error: BaseException | None = None
    faults: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None

    def written_ids(self) -> list[str]:
        return ids_in_file(self.path)

    def leftovers(self) -> list[str]:
        """Files in the target's folder other than the target and its manifest (partial uploads left behind)."""
        if not self.path.parent.exists():
            return []
        manifest = self.path.parent / (self.path.name + ".manifest.json")
        return sorted(p.name for p in self.path.parent.iterdir() if p not in (self.path, manifest))


def record(tally: Tally, result: RunResult) -> None:
    """Count a run in ``tally`` and check its outcome: exactly the window's ids in order, or nothing."""
    tally.runs += 1
    tally.faults_injected += result.faults
    if result.ok:
        got = result.written_ids()
        tally.succeeded += 1
        tally.events_checked += len(result.expected)
        tally.lost += len(set(result.expected) - set(got))
        tally.duplicated += len(got) - len(set(got))
        assert result.leftovers() == []
        assert got == result.expected, f"{result.path}: the file differs from the window's events"
        assert result.summary is not None
        assert result.summary["events"] == len(got)
    else:
        tally.failed += 1
        assert not result.path.exists(), f"{result.path} exists after a failed run"
        assert result.leftovers() == [], "a failed run left a partial object behind"


class ExportRunner:
    """Runs :class:`SlackAuditLogsToObjectStorageOperator` ``execute()`` on windows of an emulator.

    Each runner has its own connection (``AIRFLOW_CONN_...``) to ``emu`` with the given extras.
    """

    def __init__(self, emu: Any, folder: Path, monkeypatch: pytest.MonkeyPatch, extra: dict[str, Any]) -> None:
        self.emu = emu
        self.folder = folder
        self.conn_id = f"slack_audit_reliability_{next(_conn_numbers)}"
        monkeypatch.setenv(f"AIRFLOW_CONN_{self.conn_id.upper()}", emu.airflow_conn_json(extra=extra))
        self._names = itertools.count(1)

    def run(self, oldest: int, latest: int, *, name: str | None = None, **operator_kwargs: Any) -> RunResult:
        """Export ``[oldest, latest]`` (a data interval) to a new file; faults fired are counted and cleared."""
        path = self.folder / (name or f"run-{next(self._names)}") / "audit.jsonl"
        operator = SlackAuditLogsToObjectStorageOperator(
            task_id="export",
            slack_audit_conn_id=self.conn_id,
            path=f"file://{path}",
            **operator_kwargs,
        )
        result = RunResult(path=path, oldest=oldest, latest=latest, expected=[])
        try:
            result.summary = operator.execute(interval_context(oldest, latest))
        except Exception as err:
            result.error = err
        finally:
            result.faults = sum(self.emu.faults.fired.values())
            self.emu.faults.clear()
        filters = {k: operator_kwargs[k] for k in ("action", "actor", "entity") if operator_kwargs.get(k)}
        result.expected = [e["id"] for e in self.emu.events(oldest, latest, **filters)]
        return result


@contextmanager
def fails_for_good(cause: type[BaseException]) -> Iterator[pytest.ExceptionInfo[AirflowFailException]]:
    """The task fails without spending its retries (AirflowFailException), caused by a ``cause`` error."""
    with pytest.raises(AirflowFailException) as err:
        yield err
    assert isinstance(err.value.__cause__, cause), f"caused by {err.value.__cause__!r}, not a {cause.__name__}"
