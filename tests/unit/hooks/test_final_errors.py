"""The one rule for final failures: what fails a task at once and what a trigger reports as such."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowNotFoundException

from airflow_provider_slack_audit.client import (
    SlackAuditLogsArgumentError,
    SlackAuditLogsAuthError,
    SlackAuditLogsBadRequestError,
    SlackAuditLogsConnectionError,
    SlackAuditLogsEntryError,
    SlackAuditLogsError,
    SlackAuditLogsRateLimitError,
    SlackAuditLogsServerError,
)
from airflow_provider_slack_audit.hooks.connection_extras import SlackAuditConnectionError
from airflow_provider_slack_audit.hooks.final_errors import (
    FINAL_ERROR_KINDS,
    FINAL_ERRORS,
    error_kind,
    is_final_error,
    is_final_kind,
)

CASES = [
    (SlackAuditConnectionError("no token"), "config", True),
    (AirflowNotFoundException("no connection"), "config", True),
    (SlackAuditLogsAuthError("invalid_auth"), "auth", True),
    (SlackAuditLogsBadRequestError("invalid_range"), "bad_request", True),
    (SlackAuditLogsArgumentError("limit"), "bad_request", True),
    (SlackAuditLogsEntryError("entry 3 of page 1 has no id", page=1, index=3), "bad_entry", True),
    (SlackAuditLogsRateLimitError("ratelimited"), "rate_limit", False),
    (SlackAuditLogsServerError("HTTP 503"), "server", False),
    (SlackAuditLogsConnectionError("refused"), "server", False),
    (SlackAuditLogsError("other"), "error", False),
    (KeyError("surprise"), "error", False),
]


@pytest.mark.parametrize(("exc", "kind", "final"), CASES, ids=[type(c[0]).__name__ for c in CASES])
def test_each_error_has_one_kind_and_the_kind_says_whether_it_is_final(exc, kind, final):
    assert error_kind(exc) == kind
    assert is_final_error(exc) is final
    assert is_final_kind(kind) is final


def test_the_final_kinds_are_exactly_those_of_the_final_errors():
    assert {"config", "auth", "bad_request", "bad_entry"} == FINAL_ERROR_KINDS
    assert {error_kind(cls("x")) for cls in FINAL_ERRORS} == FINAL_ERROR_KINDS
    assert not is_final_kind(None)


def test_the_task_code_fails_fast_on_the_same_errors():
    from airflow_provider_slack_audit.arguments.query import FINAL_ERRORS as TASK_FINAL_ERRORS

    assert TASK_FINAL_ERRORS is FINAL_ERRORS
