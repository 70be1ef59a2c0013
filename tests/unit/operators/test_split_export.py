"""operators.split_export: the split_interval argument, the intervals of a window and each one's path."""

from __future__ import annotations

from datetime import timedelta

import pendulum
import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_slack_audit.arguments.window import AuditWindow
from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsToObjectStorageOperator
from airflow_provider_slack_audit.operators.split_export import interval_names, plan_intervals, split_seconds

T0 = 1709251200  # 2024-03-01T00:00:00Z
KEY = "file:///data/dt={{ ds }}/{{ data_interval_start.int_timestamp }}-{{ data_interval_end.int_timestamp - 1 }}.jsonl"


def operator(path: str = KEY, **kwargs) -> SlackAuditLogsToObjectStorageOperator:
    return SlackAuditLogsToObjectStorageOperator(
        task_id="export", path=path, split_interval=timedelta(hours=1), settle_seconds=0, **kwargs
    )


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(None, None), (timedelta(hours=1), 3600), (timedelta(minutes=15), 900), (timedelta(days=1), 86400), (3600, 3600)],
)
def test_split_interval_in_seconds(value, seconds):
    assert split_seconds(value) == seconds


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (timedelta(hours=7), "does not divide a day"),
        (timedelta(days=2), "does not divide a day"),
        (timedelta(seconds=0.5), "whole seconds"),
        (0, "whole seconds"),
        (-3600, "whole seconds"),
        ("1h", "whole seconds"),
        (True, "whole seconds"),
    ],
)
def test_a_bad_split_interval_is_refused_when_the_dag_is_parsed(value, message):
    with pytest.raises(ValueError, match=message):
        SlackAuditLogsToObjectStorageOperator(task_id="export", path=KEY, split_interval=value)


def test_a_path_without_a_template_is_refused_when_the_dag_is_parsed():
    with pytest.raises(ValueError, match="no template"):
        SlackAuditLogsToObjectStorageOperator(
            task_id="export", path="file:///data/audit.jsonl", split_interval=timedelta(hours=1)
        )


def test_each_hour_gets_its_window_and_its_path_rendered_as_its_own_run_would():
    span = AuditWindow(T0, T0 + 3 * 3600 - 1)
    intervals = plan_intervals(operator(), {}, span, 3600)
    assert [i.window for i in intervals] == [AuditWindow(T0 + h * 3600, T0 + h * 3600 + 3599) for h in range(3)]
    assert [i.path for i in intervals] == [
        f"file:///data/dt=2024-03-01/{T0 + h * 3600}-{T0 + h * 3600 + 3599}.jsonl" for h in range(3)
    ]


def test_the_run_context_reaches_the_path_beside_the_interval():
    intervals = plan_intervals(
        operator("file:///{{ params.root }}/{{ ts_nodash }}.jsonl"),
        {"params": {"root": "r"}},
        AuditWindow(T0, T0 + 7199),
        3600,
    )
    assert [i.path for i in intervals] == ["file:///r/20240301T000000.jsonl", "file:///r/20240301T010000.jsonl"]


def test_interval_names_are_those_of_a_cron_interval_run():
    start = pendulum.datetime(2024, 3, 1, 5, tz="UTC")
    names = interval_names(start, start.add(hours=1))
    assert names["ds"] == "2024-03-01"
    assert names["ts"] == "2024-03-01T05:00:00+00:00"
    assert names["ts_nodash_with_tz"] == "20240301T050000+0000"
    assert names["logical_date"] == names["data_interval_start"] == start


@pytest.mark.parametrize(
    ("oldest", "latest"),
    [(T0 + 60, T0 + 7199), (T0, T0 + 7198), (T0, T0 + 3600)],
    ids=["starts_inside_an_hour", "ends_inside_an_hour", "ends_one_second_into_an_hour"],
)
def test_a_window_off_the_interval_boundaries_fails_before_any_call(oldest, latest):
    with pytest.raises(AirflowFailException, match="boundary of split_interval"):
        plan_intervals(operator(), {}, AuditWindow(oldest, latest), 3600)


def test_a_path_that_names_one_object_for_every_hour_is_refused():
    with pytest.raises(AirflowFailException, match="same object"):
        plan_intervals(operator("file:///data/{{ ds }}.jsonl"), {}, AuditWindow(T0, T0 + 7199), 3600)


def test_a_path_with_names_of_the_whole_run_is_refused():
    with pytest.raises(AirflowFailException, match=r"\['run_id'\]"):
        plan_intervals(operator("file:///data/{{ run_id }}/{{ ts }}.jsonl"), {}, AuditWindow(T0, T0 + 7199), 3600)


def test_without_split_interval_the_operator_writes_one_object_as_before():
    plain = SlackAuditLogsToObjectStorageOperator(task_id="export", path=KEY)
    assert plain.split_interval is None
