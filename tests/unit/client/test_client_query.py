"""LogsQuery: the one checked value a walk is made of, from the task down to the page walk."""

from __future__ import annotations

import dataclasses

import pytest

from airflow_provider_slack_audit.client import LogsQuery, SlackAuditLogsArgumentError


def test_arguments_are_checked_and_normalised_once():
    query = LogsQuery(
        oldest="100", latest=200.9, action="user_login, file_downloaded,user_login", actor=" W1 ", limit="50"
    )
    assert query == LogsQuery(oldest=100, latest=200, action=("user_login", "file_downloaded"), actor="W1", limit=50)
    assert query.params() == {
        "oldest": 100,
        "latest": 200,
        "limit": 50,
        "action": "user_login,file_downloaded",
        "actor": "W1",
    }
    assert LogsQuery().params(default_limit=9999) == {"limit": 9999}


def test_the_value_is_frozen_and_moving_latest_rechecks_the_range():
    query = LogsQuery(oldest=10, latest=20)
    with pytest.raises(dataclasses.FrozenInstanceError):
        query.latest = 5  # type: ignore[misc]
    assert query.up_to(15).latest == 15
    with pytest.raises(SlackAuditLogsArgumentError, match=r"oldest \(10\) is after latest \(5\)"):
        query.up_to(5)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"limit": 0}, "from 1 to 9999"),
        ({"limit": 10000}, "from 1 to 9999"),
        ({"limit": True}, "from 1 to 9999"),
        ({"limit": 1.5}, "from 1 to 9999"),
        ({"action": [f"a{i}" for i in range(31)]}, "at most 30"),
        ({"action": ""}, "action is empty"),
        ({"actor": "  "}, "non-empty id"),
        ({"oldest": "yesterday"}, "unix seconds"),
        ({"oldest": -1}, ">= 0"),
    ],
)
def test_bad_arguments_are_value_errors_that_say_what_to_change(fields, message):
    with pytest.raises(SlackAuditLogsArgumentError, match=message) as info:
        LogsQuery(**fields)
    assert isinstance(info.value, ValueError)


def test_thirty_actions_are_accepted():
    assert len(LogsQuery(action=[f"a{i}" for i in range(30)]).action) == 30
