"""Airflow names that ``airflow.providers.common.compat`` offers only in releases newer than some users have.

:meta private:

Everything else comes straight from ``airflow.providers.common.compat``. Python 3.10 caps
apache-airflow-providers-common-compat at 1.20, which does not map ``mask_secret`` yet (1.22 does, but
needs Python 3.11): there the same lookup is made with common-compat's own helper, over the same modules.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat._compat_utils import create_module_getattr
from airflow.providers.common.compat.connection import get_async_connection as _get_async_connection

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Connection

try:
    from airflow.providers.common.compat.sdk import mask_secret
except ImportError:  # common-compat < 1.22
    _MASK_SECRET_MODULES = (
        "airflow.sdk.log",
        "airflow.sdk.execution_time.secrets_masker",
        "airflow.utils.log.secrets_masker",
    )
    mask_secret = create_module_getattr({"mask_secret": _MASK_SECRET_MODULES})("mask_secret")

#: DateTimeTrigger moved to the standard provider in Airflow 3; common-compat maps only TimeDeltaTrigger,
#: which computes its moment when it is built, not the exact one an export waits for.
DateTimeTrigger = create_module_getattr(
    {"DateTimeTrigger": ("airflow.providers.standard.triggers.temporal", "airflow.triggers.temporal")}
)("DateTimeTrigger")

#: common-compat 1.17+ resolves the connection through the hook given (its own ``get_connection`` or
#: ``aget_connection`` honoured); 1.9-1.16 always through ``BaseHook``.
_RESOLVES_THROUGH_HOOK = "hook" in inspect.signature(_get_async_connection).parameters


async def get_async_connection(conn_id: str, hook: Any) -> Connection:
    """Read a connection from async code without blocking the event loop: common-compat's ``get_async_connection``.

    It uses ``aget_connection`` where Airflow has it (3.1+) and ``get_connection`` in a worker thread
    elsewhere (Airflow 2, 3.0). From common-compat 1.23 it also reads in a worker thread on Airflow
    3.1 to 3.3.1, whose ``BaseHook.aget_connection`` masks the connection's secrets with a blocking
    call that raises ``DeadlockImminentError`` while another call to the supervisor is in flight.

    :param conn_id: the connection's id.
    :param hook: the hook (class or instance) whose connection lookup to use, where common-compat
        takes one (1.17+); older releases use ``BaseHook``'s.
    :raises AirflowNotFoundException: the connection does not exist.
    """
    if _RESOLVES_THROUGH_HOOK:
        return await _get_async_connection(conn_id, hook=hook)
    return await _get_async_connection(conn_id)


__all__ = ["DateTimeTrigger", "get_async_connection", "mask_secret"]
