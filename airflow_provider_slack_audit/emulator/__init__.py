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

#: Where each public name lives. They are imported on first use: the pytest plugin in this package
#: is loaded by every pytest run, and a run that requests no emulator fixture must not load the server.
_LAZY = {
    **dict.fromkeys(
        ("AUDIT_LOGS_EPOCH", "DEFAULT_END", "DEFAULT_EVENTS_PER_HOUR", "DEFAULT_START", "Dataset", "DatasetConfig"),
        "airflow_provider_slack_audit.emulator.dataset",
    ),
    **dict.fromkeys(
        ("FAULT_KINDS", "FaultController", "FaultSpec", "RateLimiter"), "airflow_provider_slack_audit.emulator.faults"
    ),
    **dict.fromkeys(
        ("DEFAULT_TOKEN", "ERROR_TOKENS", "Emulator", "EmulatorStats", "RequestRecord"),
        "airflow_provider_slack_audit.emulator.server",
    ),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
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
