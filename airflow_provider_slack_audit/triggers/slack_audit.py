"""The triggers: the one behind a deferred sensor, and the asset watcher's.

This is the public import path of both: :class:`SlackAuditLogsTrigger`, defined here, behind a
deferred :class:`~airflow_provider_slack_audit.sensors.slack_audit.SlackAuditLogsSensor`, and
:class:`~airflow_provider_slack_audit.triggers.audit_event_trigger.SlackAuditLogsEventTrigger`
(Airflow 3), defined in its own module; both serialize under this path.

``SlackAuditLogsTrigger`` runs in the triggerer, on an event loop shared with every other deferred
task: it asks the hook for its async client (the connection read without blocking, every hook
setting applied), polls the window with it and sleeps with ``asyncio.sleep`` between polls. Each poll is bounded by the
sensor's deadline. It fires one event:

- ``{"status": "success", "events": [...], "count": n, ...}`` once ``min_events`` match;
- ``{"status": "timeout", ...}`` when the sensor's deadline passes first;
- ``{"status": "error", "kind": ..., "message": ...}`` on a failure the client gave up on
  (``kind`` is ``config`` for a missing or invalid connection, ``auth``, ``bad_request``, ``bad_entry``,
  ``rate_limit``, ``server`` or ``error`` for anything unexpected: the trigger never dies silently;
  :func:`~airflow_provider_slack_audit.hooks.final_errors.error_kind` names it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_slack_audit.client import LogsQuery
from airflow_provider_slack_audit.hooks.final_errors import error_kind
from airflow_provider_slack_audit.hooks.slack_audit import SlackAuditLogsHook
from airflow_provider_slack_audit.triggers.audit_event_trigger import SlackAuditLogsEventTrigger
from airflow_provider_slack_audit.triggers.matching import DEFAULT_MAX_EVENTS_RETURNED, MatchCollector

if TYPE_CHECKING:
    from airflow_provider_slack_audit.client import AsyncSlackAuditLogsClient

__all__ = ["SlackAuditLogsEventTrigger", "SlackAuditLogsTrigger"]


class SlackAuditLogsTrigger(BaseTrigger):
    """Poll a window of the Slack audit log until enough events match, from the triggerer.

    :param oldest: first second of the window (epoch seconds, inclusive).
    :param latest: last second of the window (epoch seconds, inclusive).
    :param slack_audit_conn_id: the Slack Audit Logs connection; its token is read in the
        triggerer, never carried in the trigger's arguments.
    :param action: action names to match (any of them; a list or a comma-separated string), or None for all.
    :param actor: id of the user who acted, or None.
    :param entity: id of the object acted on, or None.
    :param page_size: events per API call (1..9999); None: just enough to decide, at most 9999.
    :param min_events: how many distinct matching events make the sensor succeed.
    :param max_events_returned: how many of the newest matches the success event carries.
    :param poll_interval: seconds between polls (the first wait, with ``exponential_backoff``).
    :param exponential_backoff: double the wait after each poll that found too few events.
    :param max_wait: the longest wait between polls in seconds when backing off; None: no cap.
    :param timeout_at: epoch seconds after which the trigger stops with a ``timeout`` event (the
        sensor's ``timeout`` measured from its first attempt); None waits for ever.
    """

    def __init__(
        self,
        *,
        oldest: int,
        latest: int,
        slack_audit_conn_id: str = "slack_audit_default",
        action: str | Iterable[str] | None = None,
        actor: str | None = None,
        entity: str | None = None,
        page_size: int | None = None,
        min_events: int = 1,
        max_events_returned: int = DEFAULT_MAX_EVENTS_RETURNED,
        poll_interval: float = 60.0,
        timeout_at: float | None = None,
        exponential_backoff: bool = False,
        max_wait: float | None = None,
    ) -> None:
        super().__init__()
        # Checked once, here; kept as plain JSON-safe fields for serialize().
        self.query = LogsQuery(oldest=oldest, latest=latest, action=action, actor=actor, entity=entity, limit=page_size)
        self.oldest = int(oldest)
        self.latest = int(latest)
        self.slack_audit_conn_id = slack_audit_conn_id
        self.action = list(self.query.action) if self.query.action else None
        self.actor = self.query.actor
        self.entity = self.query.entity
        self.page_size = self.query.limit
        self.min_events = int(min_events)
        self.max_events_returned = int(max_events_returned)
        self.poll_interval = float(poll_interval)
        self.timeout_at = float(timeout_at) if timeout_at is not None else None
        self.exponential_backoff = bool(exponential_backoff)
        self.max_wait = float(max_wait) if max_wait is not None else None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The classpath and JSON-safe kwargs that rebuild this trigger in the triggerer."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "oldest": self.oldest,
                "latest": self.latest,
                "slack_audit_conn_id": self.slack_audit_conn_id,
                "action": self.action,
                "actor": self.actor,
                "entity": self.entity,
                "page_size": self.page_size,
                "min_events": self.min_events,
                "max_events_returned": self.max_events_returned,
                "poll_interval": self.poll_interval,
                "timeout_at": self.timeout_at,
                "exponential_backoff": self.exponential_backoff,
                "max_wait": self.max_wait,
            },
        )

    def next_wait(self, polls: int) -> float:
        """Seconds to wait after poll number ``polls`` (1-based) came back with too few events."""
        if not self.exponential_backoff:
            return self.poll_interval
        wait = self.poll_interval * 2 ** min(polls - 1, 32)
        return wait if self.max_wait is None else min(wait, self.max_wait)

    def _payload(self, status: str, **extra: Any) -> dict[str, Any]:
        return {"status": status, "oldest": self.oldest, "latest": self.latest, **extra}

    def _error(self, exc: BaseException) -> TriggerEvent:
        return TriggerEvent(
            self._payload(
                "error",
                kind=error_kind(exc),
                message=str(exc) or type(exc).__name__,
                status_code=getattr(exc, "status_code", None),
                error=getattr(exc, "error", None),
            )
        )

    async def _poll(self, client: AsyncSlackAuditLogsClient, collector: MatchCollector) -> MatchCollector:
        query = collector.query_for(self.query)
        if query is None:  # the window has not begun: nothing can match yet
            return collector
        entries = client.iter_logs(query)
        try:
            async for entry in entries:
                if collector.add(entry):
                    break
        finally:
            await entries.aclose()
        return collector

    async def _bounded_poll(self, client: AsyncSlackAuditLogsClient) -> tuple[MatchCollector, bool]:
        """One poll, cut at the deadline: what it matched, and whether it was cut."""
        collector = MatchCollector(self.min_events, self.max_events_returned)
        if self.timeout_at is None:
            return await self._poll(client, collector), False
        from anyio import fail_after  # loaded with the client (httpx's dependency), not by DAG parsing

        try:
            # Not asyncio.wait_for: before Python 3.12 it drops a cancellation that arrives with the poll's end.
            with fail_after(max(0.0, self.timeout_at - time.time())):
                await self._poll(client, collector)
        except TimeoutError:
            return collector, True
        return collector, False

    def _timeout(self, count: int, polls: int) -> TriggerEvent:
        return TriggerEvent(
            self._payload(
                "timeout",
                count=count,
                polls=polls,
                message=f"{count} of {self.min_events} required audit event(s) matched "
                f"in [{self.oldest}, {self.latest}] before the sensor's timeout.",
            )
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until ``min_events`` match (success), the deadline passes (timeout) or anything fails (error)."""
        try:
            client = await SlackAuditLogsHook(slack_audit_conn_id=self.slack_audit_conn_id).get_async_client()
        except Exception as exc:
            yield self._error(exc)
            return
        polls = 0
        counted = 0  # matches of the last poll that finished (one the deadline cut may have read fewer)
        async with client:
            while True:
                polls += 1
                try:
                    found, cut = await self._bounded_poll(client)
                except Exception as exc:  # typed client errors, and anything unexpected: an error event
                    yield self._error(exc)
                    return
                if cut and not found.done:
                    yield self._timeout(max(counted, found.count), polls)
                    return
                counted = found.count
                if found.done:
                    self.log.info(
                        "%d matching audit event(s) after %d poll(s); %d needed", found.count, polls, self.min_events
                    )
                    yield TriggerEvent(self._payload("success", events=found.returned, count=found.count, polls=polls))
                    return
                now = time.time()
                if self.timeout_at is not None and now >= self.timeout_at:
                    yield self._timeout(found.count, polls)
                    return
                wait = self.next_wait(polls)
                if self.timeout_at is not None:
                    wait = max(0.0, min(wait, self.timeout_at - now))
                self.log.info(
                    "%d of %d audit event(s) so far; polling again in %.1f s", found.count, self.min_events, wait
                )
                await asyncio.sleep(wait)
