"""A local emulator of Slack's Audit Logs API (``/audit/v1/schemas``, ``actions``, ``logs``).

Run it with ``slack-audit-emulator --port 8765`` (or ``python -m
airflow_provider_slack_audit.emulator``), or use the ``slack_audit_emulator`` pytest fixture.
It imports neither Airflow nor the project's client: only the standard library.
"""

from __future__ import annotations

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
