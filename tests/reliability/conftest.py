"""Fixtures of the reliability suite, and the summary lines it prints at the end of the run.

The fault matrix and the backfill add their figures to :data:`SUMMARY`; pytest prints them in its
terminal summary (``fault matrix: runs=... lost=0 duplicated=0``) whether or not ``-s`` is given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from reliability_helpers import SUMMARY, ExportRunner


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = SUMMARY.lines()
    if lines:
        terminalreporter.section("reliability")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def export_runner(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Callable[..., ExportRunner]:
    """``export_runner(emu, **extras)``: runs the object storage operator's ``execute()`` against ``emu``."""

    def make(emu: Any, **extra: Any) -> ExportRunner:
        runner = ExportRunner(emu, tmp_path / f"out-{len(made)}", monkeypatch, extra)
        made.append(runner)
        return runner

    made: list[ExportRunner] = []
    return make
