"""Clients for Slack's Audit Logs API, sync (requests) and async (httpx), over one core; no Airflow import.

``SlackAuditLogsClient`` is a drop-in for slack_sdk's ``AuditLogsClient`` and
``AsyncSlackAuditLogsClient`` for its ``AsyncAuditLogsClient`` (same constructor and keyword-only
methods), with retries on by default, typed errors, whole-range walks and optional pacing (in the
process, or with ``rate_limit_storage_uri`` one budget in Redis shared by every process: see
``client.budget``). Both are imported on first use, so code that needs one transport does not load the other.

Where it behaves differently from slack_sdk, and why:

* Retries: connection errors, read timeouts, 429 (``Retry-After``, capped), 500/502/503/504 and
  cut or non-JSON 2xx bodies, bounded in attempts and total wait (slack_sdk: connection errors only).
* No answer at all after the retries raises ``SlackAuditLogsConnectionError``, which is also a
  ``urllib.error.URLError`` (so an ``OSError``), as slack_sdk's; its ``reason`` is the socket error.
  Non-2xx answers are returned as in slack_sdk; ``validate()`` raises.
* ``timeout`` bounds a whole attempt (connect, headers and body), not each socket read.
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
* ``retry_handlers`` see the errors slack_sdk would pass: urllib's (``URLError`` around a connect
  failure, the raw ``RemoteDisconnected`` / ``ConnectionResetError`` / ``TimeoutError`` after it) in
  the sync client, aiohttp's (``ServerDisconnectedError``, ``ClientOSError``) in the async one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_slack_audit.client.errors import (
    SlackAuditLogsArgumentError,
    SlackAuditLogsAuthError,
    SlackAuditLogsBadRequestError,
    SlackAuditLogsBudgetStoreError,
    SlackAuditLogsConnectionError,
    SlackAuditLogsEntryError,
    SlackAuditLogsError,
    SlackAuditLogsRateLimitError,
    SlackAuditLogsServerError,
)
from airflow_provider_slack_audit.client.lazy import lazy_exports
from airflow_provider_slack_audit.client.models import LogsResponse
from airflow_provider_slack_audit.client.pacing import RequestPacer
from airflow_provider_slack_audit.client.query import LogsQuery
from airflow_provider_slack_audit.client.response import AuditLogsResponse
from airflow_provider_slack_audit.client.retry_rules import RetrySettings
from airflow_provider_slack_audit.client.stats import ClientStats
from airflow_provider_slack_audit.client.walk import AuditLogsPage

if TYPE_CHECKING:
    from airflow_provider_slack_audit.client.async_client import AsyncSlackAuditLogsClient
    from airflow_provider_slack_audit.client.sync_client import SlackAuditLogsClient

#: The transports, imported on first use: the triggerer needs httpx only, a worker requests only.
__getattr__ = lazy_exports(
    __name__,
    {
        "SlackAuditLogsClient": "airflow_provider_slack_audit.client.sync_client",
        "AsyncSlackAuditLogsClient": "airflow_provider_slack_audit.client.async_client",
    },
)


__all__ = [
    "AsyncSlackAuditLogsClient",
    "AuditLogsPage",
    "AuditLogsResponse",
    "ClientStats",
    "LogsQuery",
    "LogsResponse",
    "RequestPacer",
    "RetrySettings",
    "SlackAuditLogsArgumentError",
    "SlackAuditLogsAuthError",
    "SlackAuditLogsBadRequestError",
    "SlackAuditLogsBudgetStoreError",
    "SlackAuditLogsClient",
    "SlackAuditLogsConnectionError",
    "SlackAuditLogsEntryError",
    "SlackAuditLogsError",
    "SlackAuditLogsRateLimitError",
    "SlackAuditLogsServerError",
]
