"""A client for Slack's Audit Logs API: requests only, no Airflow import.

A drop-in for slack_sdk's ``AuditLogsClient`` (same constructor and keyword-only methods) with
retries on by default, typed errors, whole-range iterators and optional pacing.
"""

from __future__ import annotations

from airflow_provider_slack_audit.client.api import SlackAuditLogsClient
from airflow_provider_slack_audit.client.errors import (
    SlackAuditLogsArgumentError,
    SlackAuditLogsAuthError,
    SlackAuditLogsBadRequestError,
    SlackAuditLogsError,
    SlackAuditLogsRateLimitError,
    SlackAuditLogsServerError,
)
from airflow_provider_slack_audit.client.models import LogsResponse
from airflow_provider_slack_audit.client.pacing import RequestPacer
from airflow_provider_slack_audit.client.pagination import AuditLogsPage
from airflow_provider_slack_audit.client.response import AuditLogsResponse
from airflow_provider_slack_audit.client.retry import RetryPolicy
from airflow_provider_slack_audit.client.stats import ClientStats

__all__ = [
    "AuditLogsPage",
    "AuditLogsResponse",
    "ClientStats",
    "LogsResponse",
    "RequestPacer",
    "RetryPolicy",
    "SlackAuditLogsArgumentError",
    "SlackAuditLogsAuthError",
    "SlackAuditLogsBadRequestError",
    "SlackAuditLogsClient",
    "SlackAuditLogsError",
    "SlackAuditLogsRateLimitError",
    "SlackAuditLogsServerError",
]
