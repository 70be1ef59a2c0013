"""The operators' public import path: each operator lives in a module of its own, this one names them all.

- :class:`SlackAuditLogsOperator` (:mod:`.xcom`): a window of audit events to XCom;
- :class:`SlackAuditLogsToObjectStorageOperator` (:mod:`.object_storage`): a window to object storage as
  JSON Lines, all or nothing, with a manifest;
- :class:`SlackAuditLogsReconcileOperator` (:mod:`.reconcile`): an exported window checked against Slack
  again, late events kept beside it.

What they share (the settle wait, ``on_kill``, the walk over a window) is in :mod:`.base`; the two that write
to object storage take ``path`` and ``conn_id`` from :mod:`.storage_base`; the reconciliation's late file is
written by :mod:`.late_file`.
"""

from __future__ import annotations

from airflow_provider_slack_audit.operators.base import (
    DEFAULT_SETTLE_SECONDS,
    MAX_EARLY_START_SECONDS,
    MIN_DEFER_SECONDS,
    BaseSlackAuditLogsOperator,
    TaskKilled,
)
from airflow_provider_slack_audit.operators.object_storage import SlackAuditLogsToObjectStorageOperator
from airflow_provider_slack_audit.operators.reconcile import SlackAuditLogsReconcileOperator
from airflow_provider_slack_audit.operators.xcom import SlackAuditLogsOperator

__all__ = [
    "DEFAULT_SETTLE_SECONDS",
    "MAX_EARLY_START_SECONDS",
    "MIN_DEFER_SECONDS",
    "BaseSlackAuditLogsOperator",
    "SlackAuditLogsOperator",
    "SlackAuditLogsReconcileOperator",
    "SlackAuditLogsToObjectStorageOperator",
    "TaskKilled",
]
