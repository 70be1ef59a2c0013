"""A local emulator of Slack's Audit Logs API (``/audit/v1/schemas``, ``actions``, ``logs``).

Run it with ``slack-audit-emulator --port 8765`` (or ``python -m
airflow_provider_slack_audit.emulator``), or use the ``slack_audit_emulator`` pytest fixture.
It imports neither Airflow nor the project's client: only the standard library. Its names are
imported on first use (``from airflow_provider_slack_audit.emulator import Emulator`` works as usual).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_slack_audit.emulator.dataset import (
        AUDIT_LOGS_EPOCH,
        DEFAULT_END,
        DEFAULT_EVENTS_PER_HOUR,
        DEFAULT_START,
        Dataset,
        DatasetConfig,
    )
    from airflow_provider_slack_audit.emulator.faults import FAULT_KINDS, FaultController, FaultSpec, RateLimiter
    from airflow_provider_slack_audit.emulator.server import (
        DEFAULT_TOKEN,
        ERROR_TOKENS,
        Emulator,
        EmulatorStats,
        RequestRecord,
    )

#: The module each public name lives in. They are imported on first use: the pytest plugin in this
#: package is loaded by every pytest run, and a run that requests no emulator fixture must not load the server.
_HOMES = {
    "airflow_provider_slack_audit.emulator.dataset": (
        "AUDIT_LOGS_EPOCH",
        "DEFAULT_END",
        "DEFAULT_EVENTS_PER_HOUR",
        "DEFAULT_START",
        "Dataset",
        "DatasetConfig",
    ),
    "airflow_provider_slack_audit.emulator.faults": ("FAULT_KINDS", "FaultController", "FaultSpec", "RateLimiter"),
    "airflow_provider_slack_audit.emulator.server": (
        "DEFAULT_TOKEN",
        "ERROR_TOKENS",
        "Emulator",
        "EmulatorStats",
        "RequestRecord",
    ),
}


def __getattr__(name: str) -> Any:
    home = next((module for module, names in _HOMES.items() if name in names), None)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    globals()[name] = value = getattr(import_module(home), name)  # later look-ups skip __getattr__
    return value


__all__ = [
    "AUDIT_LOGS_EPOCH",
    "DEFAULT_END",
    "DEFAULT_EVENTS_PER_HOUR",
    "DEFAULT_START",
    "DEFAULT_TOKEN",
    "ERROR_TOKENS",
    "FAULT_KINDS",
    "Dataset",
    "DatasetConfig",
    "Emulator",
    "EmulatorStats",
    "FaultController",
    "FaultSpec",
    "RateLimiter",
    "RequestRecord",
]
