"""``SharedRequestPacer``: the sync client's pacer when the budget lives in Redis (redis-py).

:meta private:
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tenacity import Retrying

from airflow_provider_slack_audit.client.budget.script import GCRA_SCRIPT, read_reply, script_arguments
from airflow_provider_slack_audit.client.budget.store import BudgetStore, import_failure


class SharedRequestPacer(BudgetStore):
    """Spaces the calls of every process that shares ``key``: one GCRA step in Redis per call.

    Each step is one atomic script on the server (its clock, its state); the wait it returns is slept
    here. A store that still fails after :data:`~.store.STORE_RETRIES` retries raises
    :class:`~airflow_provider_slack_audit.client.errors.SlackAuditLogsBudgetStoreError` and the call
    is not made. Nothing connects until the first call.

    Args:
        storage_uri: the Redis URI, e.g. ``redis://:password@host:6379/0``.
        key: the budget's Redis key (see :func:`~.store.budget_key`).
        requests_per_minute: the budget of every process together.
        burst: how many calls may start back to back after an idle spell.
        sleep: how to wait for a slot (tests inject a fake one).
    """

    def __init__(
        self,
        storage_uri: str,
        key: str,
        requests_per_minute: float,
        *,
        burst: int = 1,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        super().__init__(storage_uri, key, requests_per_minute, burst=burst, sleep=sleep)
        try:
            import redis
            from redis.retry import Retry
        except ImportError:
            raise import_failure() from None
        self._redis = redis.Redis.from_url(storage_uri.strip(), **self._options(Retry))
        self._script = self._redis.register_script(GCRA_SCRIPT)
        self._retry = Retrying(**self._retrying(sleep=sleep))

    def delay(self) -> float:
        """Book the next slot of the shared budget; return how many seconds to wait for it (no sleeping).

        Raises:
            SlackAuditLogsBudgetStoreError: the store could not be reached or refused the step.
        """
        with self.round_trip("book a slot") as trip:
            reply = self._retry(self._script, keys=[self.key], args=script_arguments(self.interval, self.burst))
        trip.raise_failure()
        wait, self.last_slot = read_reply(reply)
        return wait

    def check(self) -> None:
        """Prove the store works: PING, then load the script (what a connection test runs).

        Raises:
            SlackAuditLogsBudgetStoreError: saying what is wrong (unreachable, credentials, scripting refused).
        """
        with self.round_trip("answer PING") as trip:
            self._retry(self._redis.ping)
            trip.doing = "load the budget's script"
            self._retry(self._redis.script_load, GCRA_SCRIPT)
        trip.raise_failure()

    def close(self) -> None:
        """Close the connections to the store."""
        self._redis.close()
