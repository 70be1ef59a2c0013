"""pytest fixtures for the Slack Audit Logs API emulator (registered as a ``pytest11`` plugin).

``slack_audit_emulator``: a handle on one emulator shared by the whole session, reset before
each test (faults, late windows, rate limit off, counters). ``slack_audit_emulator_factory``:
start more instances with another seed, volume or rate limit; they stop when the test ends.

The session instance serves the documented default data: 2024-01-01T00:00:00Z to
2024-12-31T23:59:59Z, seed 0, about 1,000 events an hour with bursts, no rate limit.
This module is imported by every pytest run, so it imports only the standard library (and pytest)
up front: the emulator's server and dataset are imported inside the fixtures, when a test asks
for one (``tests/unit/emulator/test_emulator_plugin.py`` proves a plain run does not load them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow_provider_slack_audit.emulator.server import Emulator


@pytest.fixture(scope="session")
def _slack_audit_emulator_session() -> Iterator[Emulator]:
    from airflow_provider_slack_audit.emulator.server import Emulator

    emulator = Emulator(rate_limit=0).start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def slack_audit_emulator(_slack_audit_emulator_session: Emulator) -> Iterator[Emulator]:
    """A running emulator (session-wide), reset for this test: ``base_url``, ``token``,
    ``events()``, ``jsonl()``, ``faults``, ``set_rate_limit()``, ``late_events()``, ``stats``, ``requests``,
    ``airflow_conn_json()`` / ``airflow_conn_uri()``."""
    _slack_audit_emulator_session.reset()
    yield _slack_audit_emulator_session
    _slack_audit_emulator_session.reset()


@pytest.fixture
def slack_audit_emulator_factory() -> Iterator[Callable[..., Emulator]]:
    """``factory(**config)`` starts a separate emulator (any :class:`Emulator` argument, e.g.
    ``seed=7, events_per_day=1_000_000, rate_limit=50``); all of them stop after the test."""
    from airflow_provider_slack_audit.emulator.server import Emulator

    started: list[Emulator] = []

    def factory(**config: Any) -> Emulator:
        config.setdefault("rate_limit", 0)
        emulator = Emulator(**config).start()
        started.append(emulator)
        return emulator

    try:
        yield factory
    finally:
        for emulator in started:
            emulator.stop()
