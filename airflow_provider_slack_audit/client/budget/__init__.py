"""One request budget shared by every process that reads an organization's audit logs (state in Redis).

Slack's limit (about 50 calls a minute) is per organization, not per process: workers that each pace
themselves add up past it. With ``rate_limit_storage_uri`` the clients book every call's slot in one
Redis key per budget instead, with the rule :class:`~airflow_provider_slack_audit.client.RequestPacer`
applies in one process (GCRA: calls ``60 / requests_per_minute`` seconds apart, at most ``burst`` back
to back), run as one atomic Lua script on the server's clock. Needs the ``redis`` extra.

* :class:`SharedRequestPacer`: the sync client's (redis-py); :class:`AsyncSharedRequestPacer`: the
  async client's (``redis.asyncio``, never blocking the event loop).
* :func:`budget_key`: the key of a budget (``rate_limit_key``, or a digest of base URL and token).
* :func:`check_storage_uri`, :func:`redact_storage_uri`: the URI checked, and shown without its password.

A store that fails (after a few retries) fails the call with
:class:`~airflow_provider_slack_audit.client.SlackAuditLogsBudgetStoreError`: no call goes unpaced.
The pacers are imported on first use (the hook and the clients import only :mod:`.store`), and
redis-py when a pacer is built: importing this package loads neither.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_slack_audit.client.budget.store import (
    KEY_PREFIX,
    STORE_RETRIES,
    budget_key,
    check_rate_limit_key,
    check_shared_budget,
    check_storage_uri,
    redact_storage_uri,
    uri_passwords,
)
from airflow_provider_slack_audit.client.lazy import lazy_exports

if TYPE_CHECKING:
    from airflow_provider_slack_audit.client.budget.async_pacer import AsyncSharedRequestPacer
    from airflow_provider_slack_audit.client.budget.sync_pacer import SharedRequestPacer

__getattr__ = lazy_exports(
    __name__,
    {
        "SharedRequestPacer": "airflow_provider_slack_audit.client.budget.sync_pacer",
        "AsyncSharedRequestPacer": "airflow_provider_slack_audit.client.budget.async_pacer",
    },
)


__all__ = [
    "KEY_PREFIX",
    "STORE_RETRIES",
    "AsyncSharedRequestPacer",
    "SharedRequestPacer",
    "budget_key",
    "check_rate_limit_key",
    "check_shared_budget",
    "check_storage_uri",
    "redact_storage_uri",
    "uri_passwords",
]
