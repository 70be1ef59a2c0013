"""``SlackAuditLogsEventTrigger``: start DAG runs on new Slack audit events (an ``AssetWatcher``, Airflow 3).

:meta private:

Import it from :mod:`airflow_provider_slack_audit.triggers.slack_audit` (its serialized classpath,
:data:`CLASSPATH`); this module imports nothing from that one. It runs in the triggerer, on the
event loop every trigger shares: its client is imported and built in a worker thread, connections
are read without blocking the loop, and every wait is an ``asyncio.sleep``.

Each poll reads a window of the audit log with the filters (all pages) and fires one
``TriggerEvent`` per batch of events it has not fired before; :mod:`.event_state` holds the rules
(the window, the ids remembered, the batches), :mod:`.slack_clock` the clock they run on (Slack's,
from the ``Date`` of its answers). On Airflow 3.3+ the watcher's memory is saved in the watched
asset's state store (:mod:`.watcher_memory`), so a restarted triggerer carries on where it stopped,
whatever arguments changed in between.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.triggers import BaseEventTrigger
from airflow.triggers.base import TriggerEvent

from airflow_provider_slack_audit.arguments.window import oldest_seconds
from airflow_provider_slack_audit.client.query import MAX_LIMIT, LogsQuery
from airflow_provider_slack_audit.client.validation import isinstance_strict
from airflow_provider_slack_audit.hooks.final_errors import is_final_error
from airflow_provider_slack_audit.hooks.slack_audit import SlackAuditLogsHook
from airflow_provider_slack_audit.triggers.event_state import Checkpoints, PollWindow, batches
from airflow_provider_slack_audit.triggers.slack_clock import SlackClock
from airflow_provider_slack_audit.triggers.watcher_memory import WatcherMemory

if TYPE_CHECKING:
    from airflow_provider_slack_audit.client import AsyncSlackAuditLogsClient

#: The path users import it from; serialize() names it, so the stored trigger survives module moves.
CLASSPATH = "airflow_provider_slack_audit.triggers.slack_audit.SlackAuditLogsEventTrigger"
#: The Airflow release that runs event-driven (asset watcher) triggers.
REQUIRED_AIRFLOW = "3.0"
#: A poll's memory is saved at least this long after its events were yielded: the triggerer hands
#: yielded events to the database about once a second, and a memory saved before its events are
#: stored could skip them after a crash; saved later, a crash can only make them fire again.
CHECKPOINT_DELAY = 5.0
#: After a refused token or query the watcher stops polling and looks again after this long at
#: first, doubling up to :data:`MAX_REFUSED_WAIT` (it picks up a fixed connection on its own).
MIN_REFUSED_WAIT = 60.0
MAX_REFUSED_WAIT = 3600.0
#: Largest ``max_events``: a trigger event is stored in the metadata database as the asset event's extra.
MAX_EVENTS_LIMIT = 1000


def _airflow_3() -> bool:
    from airflow.triggers import base

    return hasattr(base, "BaseEventTrigger")


async def _open_client(slack_audit_conn_id: str, max_total_wait: float) -> AsyncSlackAuditLogsClient:
    """The hook's async client on the connection (read without blocking the loop), its retries
    waiting at most ``max_total_wait`` seconds in all per call."""
    hook = SlackAuditLogsHook(slack_audit_conn_id=slack_audit_conn_id, max_total_wait=max_total_wait)
    return await hook.get_async_client()


class SlackAuditLogsEventTrigger(WatcherMemory, BaseEventTrigger):
    """
    Fire a trigger event for every batch of new Slack audit events: the trigger of an ``AssetWatcher``.

    Each poll reads ``[now - lookback_seconds, now]`` (reaching back further after a pause, see
    below) with the filters, across all pages, and fires one event per batch of events it has not
    fired before: ``{"events": [...], "count": n, "oldest": ..., "latest": ...}``, newest first, at most
    ``max_events`` per event (``oldest``/``latest``: the inclusive seconds the poll read). An event
    that Slack shows up to ``lookback_seconds`` after its ``date_create`` is fired once.

    On Airflow 3.3+ the ids fired and the last second read are saved in the watched asset's state
    store, so a triggerer restart neither repeats nor skips, and nothing fired fires again when
    ``lookback_seconds``, ``poll_interval``, ``max_events`` or the filters changed in between; see
    the documentation's triggers page (docs/howto/triggers.rst) for what a restart can do on 3.0-3.2.
    Windows follow Slack's clock (the ``Date`` of its answers), not the triggerer's.

    Works on Airflow 3.0+; on Airflow 2 the class imports, and creating one raises.

    :param slack_audit_conn_id: the Slack Audit Logs connection; its token is read in the triggerer,
        never carried in the trigger's arguments.
    :param action: action names to watch (any of them; a list or a comma-separated string, at most
        30), or None for every action.
    :param actor: id of the user who acted, or None.
    :param entity: id of the object acted on, or None.
    :param poll_interval: seconds between the starts of two polls (> 0). Retries of a poll (429,
        5xx, timeouts) wait at most this long in total.
    :param lookback_seconds: how far behind the end of the last poll each poll reads again, for
        events that Slack shows late (>= 0).
    :param max_events: the most events one trigger event carries (1..1000); more go in further events.
    :param start: the oldest events to fire: ``"now"`` (when the watcher first runs) or a time
        (epoch seconds, ISO-8601 or a datetime) to catch up from. Used only when no saved state exists.
    """

    def __init__(
        self,
        *,
        slack_audit_conn_id: str = "slack_audit_default",
        action: str | Iterable[str] | None = None,
        actor: str | None = None,
        entity: str | None = None,
        poll_interval: float = 60.0,
        lookback_seconds: int = 300,
        max_events: int = 100,
        start: str | int | float | datetime = "now",
    ) -> None:
        if not _airflow_3():
            from airflow import __version__

            raise RuntimeError(
                f"SlackAuditLogsEventTrigger needs Apache Airflow {REQUIRED_AIRFLOW} or newer (asset watchers "
                f"run event-driven triggers only there); this is Airflow {__version__}. On Airflow 2, poll with "
                "SlackAuditLogsSensor on a schedule instead."
            )
        super().__init__()
        if not isinstance(slack_audit_conn_id, str) or not slack_audit_conn_id.strip():
            raise ValueError(f"slack_audit_conn_id={slack_audit_conn_id!r}: pass the id of a slack_audit connection.")
        filters = LogsQuery(action=action, actor=actor, entity=entity)  # the operators' rules
        if not isinstance_strict(poll_interval, (int, float)) or not poll_interval > 0:
            raise ValueError(f"poll_interval={poll_interval!r}: pass the seconds between polls, a number > 0.")
        if not isinstance_strict(lookback_seconds, int) or lookback_seconds < 0:
            raise ValueError(
                f"lookback_seconds={lookback_seconds!r}: pass whole seconds >= 0 (how long after an event's "
                "date_create Slack may still show it; 300 covers Slack's usual delay)."
            )
        if not isinstance_strict(max_events, int) or not 1 <= max_events <= MAX_EVENTS_LIMIT:
            raise ValueError(
                f"max_events={max_events!r}: pass a whole number from 1 to {MAX_EVENTS_LIMIT} (events per "
                "trigger event; more are fired in further events)."
            )
        self.slack_audit_conn_id = slack_audit_conn_id
        self.action = sorted(filters.action) if filters.action else None
        self.actor = filters.actor
        self.entity = filters.entity
        self.poll_interval = float(poll_interval)
        self.lookback_seconds = lookback_seconds
        self.max_events = max_events
        if isinstance(start, str) and start.strip().lower() == "now":
            self.start: str | int = "now"
        else:
            self.start = oldest_seconds(start, "start")

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The public classpath and the arguments: JSON-safe, no token, the same for the same arguments.

        Airflow identifies a watcher's trigger by a hash of these, so equal arguments must give
        equal kwargs (``action`` is sorted, ``start`` is ``"now"`` or whole epoch seconds).
        """
        return (
            CLASSPATH,
            {
                "slack_audit_conn_id": self.slack_audit_conn_id,
                "action": self.action,
                "actor": self.actor,
                "entity": self.entity,
                "poll_interval": self.poll_interval,
                "lookback_seconds": self.lookback_seconds,
                "max_events": self.max_events,
                "start": self.start,
            },
        )

    # ------------------------------------------------------------------ polling

    async def _read_clock(self, client: AsyncSlackAuditLogsClient, clock: SlackClock) -> None:
        """Learn Slack's clock from one answer (``schemas``: no token, no budget of the logs method)."""
        try:
            response = await client.schemas()
        except Exception as exc:  # the poll will say what is wrong; until a poll answers, the local clock
            self.log.warning("Could not read Slack's clock (%s: %s); using the triggerer's.", type(exc).__name__, exc)
            return
        if clock.observe(response.headers, time.time()) is None:
            self.log.warning("Slack's answer had no Date header; windows follow the triggerer's clock.")
        elif abs(clock.offset) > 2:
            self.log.warning(
                "The triggerer's clock is %.0f s %s Slack's; windows follow Slack's clock.",
                abs(clock.offset),
                "behind" if clock.offset > 0 else "ahead of",
            )

    async def _read(
        self, client: AsyncSlackAuditLogsClient, window: PollWindow, clock: SlackClock
    ) -> tuple[list[dict[str, Any]], int | None]:
        """The window's entries, and the second (Slack's clock) at which Slack answered its first page."""
        entries: list[dict[str, Any]] = []
        answered: int | None = None
        walk = client.iter_pages(
            LogsQuery(
                oldest=window.oldest,
                latest=window.latest,
                action=self.action,
                actor=self.actor,
                entity=self.entity,
                limit=MAX_LIMIT,
            ),
            keep_unidentified=True,  # fired once, keyed by its content (event_key): one odd entry blinds nothing
        )
        try:
            async for page in walk:
                if page.number == 1:
                    answered = clock.observe(page.response.headers, time.time())
                entries.extend(page.entries)  # type: ignore[arg-type]  # dicts: not a raw walk
        finally:
            await walk.aclose()
        return entries, answered

    def _payload(self, batch: list[dict[str, Any]], window: PollWindow) -> dict[str, Any]:
        return {"events": batch, "count": len(batch), "oldest": window.oldest, "latest": window.latest}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll every ``poll_interval`` and yield one event per batch of new audit events, for ever."""
        state = await self._load_state()
        if state is not None:
            self.log.info(
                "Resuming from saved state: %d id(s) remembered, last read up to %s.", len(state.fired), state.covered
            )
        clock = SlackClock()
        clock_read = False
        checkpoints = Checkpoints(CHECKPOINT_DELAY)
        refused_wait = 0.0
        next_poll = time.monotonic()
        while True:
            await self._wait_saving(next_poll, checkpoints)
            try:
                client = await _open_client(self.slack_audit_conn_id, max_total_wait=self.poll_interval)
            except Exception as exc:
                refused_wait = self._log_refusal(exc, refused_wait)
                next_poll = time.monotonic() + refused_wait
                continue
            async with client:
                while True:
                    await self._wait_saving(next_poll, checkpoints)
                    next_poll = time.monotonic() + self.poll_interval
                    if not clock_read:  # once a run: then every poll's answer keeps it right
                        await self._read_clock(client, clock)
                        clock_read = True
                    if state is None:
                        state = self._fresh_state(clock.now(time.time()))
                    window = state.window(clock.now(time.time()))
                    if window is None:  # start lies in the future
                        continue
                    try:
                        entries, answered = await self._read(client, window, clock)
                    except Exception as exc:
                        if is_final_error(exc):  # another poll cannot fix it
                            refused_wait = self._log_refusal(exc, refused_wait)
                            next_poll = time.monotonic() + refused_wait
                            break
                        self.log.warning(
                            "Poll of [%d, %d] failed; polling again in %.0f s: %s: %s",
                            window.oldest,
                            window.latest,
                            self.poll_interval,
                            type(exc).__name__,
                            exc,
                        )
                        continue
                    refused_wait = 0.0
                    # Pure Python over every entry of the window (tens of ms for 10,000): in a thread, the
                    # loop runs meanwhile; nothing else touches ``state`` while this coroutine waits.
                    new = await asyncio.to_thread(state.take_new, entries, window)
                    del entries
                    state.poll_done(window, answered)
                    for number, batch in enumerate(batches(new, self.max_events), start=1):
                        self.log.info(
                            "Firing %d new audit event(s) of [%d, %d] (batch %d of %d).",
                            len(batch),
                            window.oldest,
                            window.latest,
                            number,
                            -(-len(new) // self.max_events),
                        )
                        yield TriggerEvent(self._payload(batch, window))
                    checkpoints.add(time.monotonic(), state.to_json())

    async def _wait_saving(self, until: float, checkpoints: Checkpoints) -> None:
        """Sleep until monotonic time ``until``, saving each state as soon as it is old enough."""
        while True:
            if (ripe := checkpoints.ripe(time.monotonic())) is not None:
                await self._save_state(ripe)
            now = time.monotonic()
            if now >= until:
                return
            due = checkpoints.due()
            await asyncio.sleep((until if due is None else min(until, due)) - now)

    def _log_refusal(self, exc: BaseException, previous_wait: float) -> float:
        """Log why polling stopped and return how long to wait before trying again."""
        if is_final_error(exc):  # no or bad connection, a refused token, a rejected query
            wait = min(MAX_REFUSED_WAIT, max(MIN_REFUSED_WAIT, self.poll_interval, previous_wait * 2))
            self.log.error(
                "Slack audit watcher on connection %r stopped polling and tries again in %.0f s: %s: %s",
                self.slack_audit_conn_id,
                wait,
                type(exc).__name__,
                exc,
            )
            return wait
        self.log.warning(
            "Could not build the Slack client; trying again in %.0f s: %s: %s",
            self.poll_interval,
            type(exc).__name__,
            exc,
        )
        return self.poll_interval


__all__ = ["CLASSPATH", "SlackAuditLogsEventTrigger"]
