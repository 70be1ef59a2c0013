"""Which failures are final: a retry, a new poke or a new poll cannot fix them.

:meta private:

The one home of that rule. A task (operator or sensor) fails at once on a final error, without
spending its ``retries``; the sensor's trigger reports it as an error event whose ``kind`` the
sensor fails on; the asset watcher's trigger stops polling and looks again much later. Final:
a missing or invalid connection (``config``), a refused token (``auth``), a rejected query, a
bad argument included (``bad_request``), and an entry Slack sent that cannot be written once as it
came (``bad_entry``: Slack serves the same entry again on every try).
"""

from __future__ import annotations

from airflow.providers.common.compat.sdk import AirflowNotFoundException

from airflow_provider_slack_audit.client.errors import (
    SlackAuditLogsAuthError,
    SlackAuditLogsBadRequestError,
    SlackAuditLogsEntryError,
    SlackAuditLogsRateLimitError,
    SlackAuditLogsServerError,
)
from airflow_provider_slack_audit.hooks.connection_extras import SlackAuditConnectionError

#: Failures that a retry cannot fix: a missing or invalid connection, a refused token, a rejected query
#: (a bad argument included), an entry that cannot be written once as Slack sent it.
FINAL_ERRORS: tuple[type[BaseException], ...] = (
    SlackAuditConnectionError,
    AirflowNotFoundException,
    SlackAuditLogsAuthError,
    SlackAuditLogsBadRequestError,
    SlackAuditLogsEntryError,
)

#: The :func:`error_kind` of every error in :data:`FINAL_ERRORS`.
FINAL_ERROR_KINDS = frozenset({"config", "auth", "bad_request", "bad_entry"})


def error_kind(exc: BaseException) -> str:
    """What kind of failure ``exc`` is, as the sensor's trigger reports it in an error event.

    :param exc: the failure.
    :return: ``config`` (missing or invalid connection), ``auth``, ``bad_request``, ``bad_entry``, ``rate_limit``,
        ``server``, or ``error`` for anything else.
    """
    if isinstance(exc, (SlackAuditConnectionError, AirflowNotFoundException)):
        return "config"
    if isinstance(exc, SlackAuditLogsAuthError):
        return "auth"
    if isinstance(exc, SlackAuditLogsBadRequestError):
        return "bad_request"
    if isinstance(exc, SlackAuditLogsEntryError):
        return "bad_entry"
    if isinstance(exc, SlackAuditLogsRateLimitError):
        return "rate_limit"
    if isinstance(exc, SlackAuditLogsServerError):
        return "server"
    return "error"


def is_final_error(exc: BaseException) -> bool:
    """Whether ``exc`` is final: no retry, poke or poll can fix it.

    :param exc: the failure.
    """
    return isinstance(exc, FINAL_ERRORS)


def is_final_kind(kind: object) -> bool:
    """Whether an error event's ``kind`` (see :func:`error_kind`) names a final failure.

    :param kind: the ``kind`` of a trigger's error event; anything else (None included) is not final.
    """
    return kind in FINAL_ERROR_KINDS


__all__ = ["FINAL_ERRORS", "FINAL_ERROR_KINDS", "error_kind", "is_final_error", "is_final_kind"]
