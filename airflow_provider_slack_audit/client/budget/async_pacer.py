"""``AsyncSharedRequestPacer``: the async client's pacer when the budget lives in Redis (``redis.asyncio``).

:meta private:

Nothing here blocks the event loop: every round trip to the store is awaited on ``redis.asyncio``,
and building the pacer (imports included) is done where the client is built (the hook builds it in a
worker thread).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from airflow_provider_slack_audit.client.budget.script import GCRA_SCRIPT, read_reply, script_arguments
from airflow_provider_slack_audit.client.budget.store import BudgetStore, import_failure


class AsyncSharedRequestPacer(BudgetStore):
    """:class:`~.sync_pacer.SharedRequestPacer` for the async client: the same script, awaited.

    Args:
        storage_uri: the Redis URI, e.g. ``redis://:password@host:6379/0``.
        key: the budget's Redis key (see :func:`~.store.budget_key`).
        requests_per_minute: the budget of every process together.
        burst: how many calls may start back to back after an idle spell.
    """

    def __init__(self, storage_uri: str, key: str, requests_per_minute: float, *, burst: int = 1) -> None:
        super().__init__(storage_uri, key, requests_per_minute, burst=burst)
        try:
            import redis.asyncio
            from redis.asyncio.retry import Retry
        except ImportError:
            raise import_failure() from None
        from tenacity import AsyncRetrying

        self._redis = redis.asyncio.Redis.from_url(storage_uri.strip(), **self._options(Retry))
        self._script = self._redis.register_script(GCRA_SCRIPT)
        self._retry = AsyncRetrying(**self._retrying())

    async def adelay(self) -> float:
        """Book the next slot of the shared budget; return how many seconds to wait for it (no sleeping).

        Raises:
            SlackAuditLogsBudgetStoreError: the store could not be reached or refused the step.
        """
        with self.round_trip("book a slot") as trip:
            arguments = script_arguments(self.interval, self.burst)
            reply = await self._retry(_awaited, self._script, keys=[self.key], args=arguments)
        trip.raise_failure()
        wait, self.last_slot = read_reply(reply)
        return wait

    async def acheck(self) -> None:
        """Prove the store works: PING, then load the script.

        Raises:
            SlackAuditLogsBudgetStoreError: saying what is wrong (unreachable, credentials, scripting refused).
        """
        with self.round_trip("answer PING") as trip:
            await self._retry(_awaited, self._redis.ping)
            trip.doing = "load the budget's script"
            await self._retry(_awaited, self._redis.script_load, GCRA_SCRIPT)
        trip.raise_failure()

    async def aclose(self) -> None:
        """Close the connections to the store."""
        await self._redis.aclose()


async def _awaited(call: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
    """``await call(*args, **kwargs)``: a coroutine function, which tenacity's ``AsyncRetrying`` awaits
    (redis.asyncio's commands are plain functions that return awaitables)."""
    return await call(*args, **kwargs)
