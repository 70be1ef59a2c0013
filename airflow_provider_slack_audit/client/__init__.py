"""A client for Slack's Audit Logs API: requests only, no Airflow import.

A drop-in for slack_sdk's ``AuditLogsClient`` (same constructor and keyword-only methods) with
retries on by default, typed errors, whole-range iterators and optional pacing.

Where it behaves differently from slack_sdk, and why:

* Retries: connection errors, read timeouts, 429 (``Retry-After``, capped), 500/502/503/504 and
  cut or non-JSON 2xx bodies, bounded in attempts and total wait (slack_sdk: connection errors only).
* No answer at all after the retries raises ``SlackAuditLogsServerError`` (slack_sdk re-raises
  urllib's error). Non-2xx answers are returned as in slack_sdk; ``validate()`` raises.
* ``logs()`` checks its arguments before calling (``limit`` 1..9999, at most 30 actions, bounds as
  whole seconds: fractions rounded inwards) and raises ``SlackAuditLogsArgumentError`` (a
  ``ValueError``); ``action`` may also be a list.
* ``typed_body`` never raises (slack_sdk's raises on schemas, actions and error bodies); it is this
  package's light model: any field by attribute, ``None`` if absent, ``session_id`` always a string.
  ``body`` is None, never an exception, for a body that is not a JSON object.
* ``headers`` is always case-insensitive. ``default_headers`` is copied, never modified.
* ``base_url`` must be https, or http to a loopback host. The token is stripped of surrounding
  whitespace and refused if it cannot be a header value; None is allowed for schemas/actions.
* Proxies from the environment honour NO_PROXY; ``ssl`` also takes what requests takes for ``verify``.
* Redirects to another host never carry the token (urllib forwards it).
* ``retry_handlers`` see requests' transport errors as urllib's (``URLError``, ``TimeoutError``).
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
