"""The trigger behind a deferred :class:`~airflow_provider_slack_audit.sensors.slack_audit.SlackAuditLogsSensor`.

It runs in the triggerer, on an event loop shared with every other deferred task: it reads the
connection asynchronously, polls the window with :class:`AsyncSlackAuditLogsClient` and sleeps
with ``asyncio.sleep`` between polls. It fires one event:

- ``{"status": "success", "events": [...], "count": n, ...}`` once ``min_events`` match;
- ``{"status": "timeout", ...}`` when the sensor's deadline passes first;
- ``{"status": "error", "kind": ..., "message": ...}`` on a failure the client gave up on
  (``kind`` is ``config`` for a missing or invalid connection, ``auth``, ``bad_request``,
  ``rate_limit``, ``server`` or ``error``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from airflow.providers.common.compat.sdk import AirflowNotFoundException
from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_slack_audit.async_client import AsyncSlackAuditLogsClient
from airflow_provider_slack_audit.client import (
    SlackAuditLogsAuthError,
    SlackAuditLogsBadRequestError,
    SlackAuditLogsError,
    SlackAuditLogsRateLimitError,
    SlackAuditLogsServerError,
)
from airflow_provider_slack_audit.hooks.slack_audit import (
    SlackAuditConnectionError,
    SlackAuditLogsHook,
)
from airflow_provider_slack_audit.query import MAX_PAGE_SIZE, normalize_actions

#: How many matching events go to XCom unless the sensor says otherwise.
DEFAULT_MAX_EVENTS_RETURNED = 100


def query_latest(latest: int, now: float | None = None) -> int:
    """The ``latest`` to send: the window's, or the current second if the window is still open.

    Slack answers ``invalid_range`` for a ``latest`` in the future, and no event can exist there yet,
    so a sensor waiting on a window that has not ended asks only up to now.
    """
    return min(latest, int(time.time() if now is None else now))


@dataclass
class MatchCollector:
    """The events that answer one poke: unique by ``id``, newest first, as many as are needed.

    Reading stops once ``max(min_events, max_events_returned)`` distinct events were seen: enough to
    decide and to fill the XCom, without paging through a busy window to the end.
    """

    min_events: int
    max_events_returned: int
    matches: list[dict[str, Any]] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set, repr=False)

    @property
    def needed(self) -> int:
        """How many distinct events to read before stopping."""
        return max(self.min_events, self.max_events_returned)

    def add(self, entry: dict[str, Any]) -> bool:
        """Keep ``entry`` unless its id was seen; True once enough events were read."""
        key = entry.get("id")
        if key is None or key not in self._seen:
            if key is not None:
                self._seen.add(key)
            self.matches.append(entry)
        return len(self.matches) >= self.needed

    def page_size(self, requested: int | None) -> int:
        """The page size to ask for: ``requested``, else just enough to decide (at most 9999)."""
        return requested if requested is not None else min(MAX_PAGE_SIZE, max(1, self.needed))

    @property
    def count(self) -> int:
        """Distinct matching events read (at most :attr:`needed`)."""
        return len(self.matches)

    @property
    def done(self) -> bool:
        """Whether at least ``min_events`` events match."""
        return self.count >= self.min_events

    @property
    def returned(self) -> list[dict[str, Any]]:
        """The events for XCom: the newest ``max_events_returned`` matches."""
        return self.matches[: self.max_events_returned]


def error_kind(exc: BaseException) -> str:
    """The ``kind`` of an error event: what the sensor does with it depends on it."""
    if isinstance(exc, (SlackAuditConnectionError, AirflowNotFoundException)):
        return "config"
    if isinstance(exc, SlackAuditLogsAuthError):
        return "auth"
    if isinstance(exc, SlackAuditLogsBadRequestError):
        return "bad_request"
    if isinstance(exc, SlackAuditLogsRateLimitError):
        return "rate_limit"
    if isinstance(exc, SlackAuditLogsServerError):
        return "server"
    return "error"


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
        self.oldest = int(oldest)
        self.latest = int(latest)
        self.slack_audit_conn_id = slack_audit_conn_id
        actions = normalize_actions(action)
        self.action = list(actions) if actions else None
        self.actor = actor
        self.entity = entity
        self.page_size = int(page_size) if page_size is not None else None
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

    async def _client(self) -> AsyncSlackAuditLogsClient:
        """The async client on the connection's token and settings, read without blocking the loop.

        Building the client loads the TLS trust store (tens of milliseconds of file reads), so that
        runs in a worker thread too.
        """
        hook = SlackAuditLogsHook(slack_audit_conn_id=self.slack_audit_conn_id)
        settings = await hook.aget_connection_settings()
        return await asyncio.to_thread(AsyncSlackAuditLogsClient, settings.token, **settings.client_kwargs())

    async def _poll(self, client: AsyncSlackAuditLogsClient) -> MatchCollector:
        collector = MatchCollector(self.min_events, self.max_events_returned)
        latest = query_latest(self.latest)
        if latest < self.oldest:  # the window has not begun: nothing can match yet
            return collector
        entries = client.iter_logs(
            oldest=self.oldest,
            latest=latest,
            action=self.action,
            actor=self.actor,
            entity=self.entity,
            limit=collector.page_size(self.page_size),
        )
        try:
            async for entry in entries:
                if collector.add(entry):
                    break
        finally:
            await entries.aclose()
        return collector

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until ``min_events`` match (success), the deadline passes (timeout) or a call fails (error)."""
        try:
            client = await self._client()
        except Exception as exc:
            yield self._error(exc)
            return
        polls = 0
        async with client:
            while True:
                polls += 1
                try:
                    found = await self._poll(client)
                except SlackAuditLogsError as exc:
                    yield self._error(exc)
                    return
                if found.done:
                    self.log.info(
                        "%d matching audit event(s) after %d poll(s); %d needed", found.count, polls, self.min_events
                    )
                    yield TriggerEvent(
                        self._payload("success", events=found.returned, count=found.count, polls=polls)
                    )
                    return
                now = time.time()
                if self.timeout_at is not None and now >= self.timeout_at:
                    yield TriggerEvent(
                        self._payload(
                            "timeout",
                            count=found.count,
                            polls=polls,
                            message=f"{found.count} of {self.min_events} required audit event(s) matched "
                            f"in [{self.oldest}, {self.latest}] before the sensor's timeout.",
                        )
                    )
                    return
                wait = self.next_wait(polls)
                if self.timeout_at is not None:
                    wait = max(0.0, min(wait, self.timeout_at - now))
                self.log.info(
                    "%d of %d audit event(s) so far; polling again in %.1f s", found.count, self.min_events, wait
                )
                await asyncio.sleep(wait)


# The asset watcher's trigger (Airflow 3) lives in its own module; this is its public import path.
from airflow_provider_slack_audit.triggers.audit_event_trigger import SlackAuditLogsEventTrigger  # noqa: E402, F401
