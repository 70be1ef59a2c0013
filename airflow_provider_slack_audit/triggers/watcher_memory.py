"""Where an event watcher's memory is kept between runs: the watched asset's state store (Airflow 3.3+).

:meta private:

The memory itself (the ids fired, how far back they reach, the last second read) and its rules are
:mod:`.event_state`'s; this module saves and loads it under two keys of the asset state store: the
query's own (:attr:`WatcherMemory.state_key`), and the connection's, which holds the last memory any
watcher of the connection saved on the asset, so that a watcher whose filters changed fires nothing
again that was fired on this asset. Without a store (Airflow before 3.3, or not run by a triggerer)
the memory lives in memory only.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

from airflow_provider_slack_audit.triggers.event_state import STATE_VERSION_1, WatchState

#: Key prefix of the watcher's memory in the asset state store (the rest: a hash of the query).
STATE_KEY_PREFIX = "slack_audit_event_watch"
#: Key prefix of the last memory saved by any watcher of the connection on the asset (the rest: a
#: hash of the connection id): what a watcher whose filters changed starts from.
CONNECTION_KEY_PREFIX = f"{STATE_KEY_PREFIX}:connection"


class WatcherMemory:
    """Loading and saving an event watcher's memory; mixed into
    :class:`~airflow_provider_slack_audit.triggers.audit_event_trigger.SlackAuditLogsEventTrigger`, whose
    arguments it reads (the connection, the filters, ``lookback_seconds``, ``poll_interval``, ``start``) and
    whose log it writes to.
    """

    slack_audit_conn_id: str
    action: list[str] | None
    actor: str | None
    entity: str | None
    poll_interval: float
    lookback_seconds: int
    start: str | int
    asset_state_store: Any
    log: Any

    @property
    def state_key(self) -> str:
        """The watcher's key in the asset state store: the same query, the same memory."""
        identity = json.dumps(
            [self.slack_audit_conn_id, self.action, self.actor, self.entity], separators=(",", ":")
        ).encode()
        return f"{STATE_KEY_PREFIX}:{hashlib.sha256(identity).hexdigest()[:32]}"

    @property
    def connection_state_key(self) -> str:
        """The key of the last memory saved by a watcher of this connection on the asset, any filters."""
        identity = json.dumps([self.slack_audit_conn_id], separators=(",", ":")).encode()
        return f"{CONNECTION_KEY_PREFIX}:{hashlib.sha256(identity).hexdigest()[:32]}"

    def _filters(self) -> dict[str, Any]:
        return {"action": self.action, "actor": self.actor, "entity": self.entity}

    def _store(self) -> Any:
        return getattr(self, "asset_state_store", None)

    async def _load_state(self) -> WatchState | None:
        """The memory saved by an earlier run of this watcher, if Airflow offers a store and holds one.

        The last memory any watcher of the connection saved on this asset is taken in too when it
        was saved under other filters and read further: its ids were fired on this asset, and an id
        fired is fired whatever the filters. Without a memory of its own (the filters changed, or a
        first start), the watcher starts from that one alone.
        """
        store = self._store()
        if store is None:
            self.log.warning(
                "No asset state store (Airflow before 3.3, or not run by a triggerer): the watcher's memory "
                "lives in memory only, a triggerer restart starts it afresh from start=%r.",
                self.start,
            )
            return None
        while True:
            try:
                saved = await store.aget(self.state_key, default=None)
                handed_over = await store.aget(self.connection_state_key, default=None)
                break
            except ValueError as err:  # the trigger watches several assets: no single store
                self.log.warning(
                    "Cannot use the asset state store (%s); the watcher's memory lives in memory only.", err
                )
                self._disable_store()
                return None
            except Exception as err:  # starting without the saved memory could skip or repeat events: wait
                self.log.warning(
                    "Could not read the watcher's saved state (%s: %s); trying again in %.0f s before polling.",
                    type(err).__name__,
                    err,
                    self.poll_interval,
                )
                await asyncio.sleep(self.poll_interval)
        state = self._own_state(saved)
        other, other_filters = self._other_watchers_state(handed_over)
        if other is not None and (state is None or (other.covered or 0) > (state.covered or 0)):
            if state is None:
                state = other
            else:
                state.merge(other)
            self.log.warning(
                "A watcher of connection %r on this asset with other filters (%s) read up to second %s: this "
                "watcher (filters %s) starts from its memory too, so that nothing fired on this asset fires "
                "again. Events of these filters before second %s are not fired.",
                self.slack_audit_conn_id,
                other_filters,
                other.covered,
                self._filters(),
                state.floor,
            )
        if state is not None and (lost := state.reach_lost()):
            self.log.warning(
                "lookback_seconds=%d reaches %d s further back than the saved memory: those seconds were read "
                "with the earlier lookback and their ids forgotten, so they are not read again (that could fire "
                "again what was fired). Polls read from second %d; the full lookback is reached as reading "
                "moves on.",
                self.lookback_seconds,
                lost,
                state.floor,
            )
        return state

    def _own_state(self, saved: Any) -> WatchState | None:
        """This query's saved memory, or None (none saved, or unreadable: said in the log)."""
        if saved is None:
            return None
        state = WatchState.from_json(saved, self.lookback_seconds)
        if state is None:
            self.log.warning(
                "Ignoring an unreadable saved state under %s; starting from start=%r.", self.state_key, self.start
            )
            return None
        if saved.get("version") == STATE_VERSION_1 and state.covered is not None:
            self.log.warning(
                "The saved state was written by an older version, which did not record how far back its ids "
                "reach: resuming after its last second read (%s) so that nothing fired fires again; events "
                "of earlier seconds that Slack shows only now are not fired.",
                state.covered,
            )
        return state

    def _other_watchers_state(self, handed_over: Any) -> tuple[WatchState | None, Any]:
        """The memory last saved on the asset by a watcher of this connection with other filters, if any."""
        if not isinstance(handed_over, dict) or handed_over.get("filters") == self._filters():
            return None, None
        return WatchState.from_json(handed_over.get("state"), self.lookback_seconds), handed_over.get("filters")

    def _disable_store(self) -> None:
        self.asset_state_store = None

    async def _save_state(self, saved: dict[str, Any]) -> None:
        store = self._store()
        if store is None:
            return
        try:
            await store.aset(self.state_key, saved)
            await store.aset(self.connection_state_key, {"filters": self._filters(), "state": saved})
        except Exception as err:  # the next poll saves a newer state; never stop watching for it
            self.log.warning(
                "Could not save the watcher's state (%s: %s); trying again next poll.", type(err).__name__, err
            )

    def _fresh_state(self, slack_now: float) -> WatchState:
        floor = int(slack_now) if self.start == "now" else int(self.start)
        return WatchState(floor=floor, lookback=self.lookback_seconds)
