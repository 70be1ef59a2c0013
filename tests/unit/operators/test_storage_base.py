"""What the operators that write to object storage share: ``path`` and ``conn_id``, both templated."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_slack_audit.operators.base import BaseSlackAuditLogsOperator
from airflow_provider_slack_audit.operators.slack_audit import (
    SlackAuditLogsReconcileOperator,
    SlackAuditLogsToObjectStorageOperator,
)
from airflow_provider_slack_audit.operators.storage_base import BaseObjectStorageOperator


@pytest.mark.parametrize("operator", [SlackAuditLogsToObjectStorageOperator, SlackAuditLogsReconcileOperator])
def test_both_operators_take_the_path_and_the_storage_connection_templated(operator):
    assert issubclass(operator, BaseObjectStorageOperator)
    assert operator.template_fields == (*BaseSlackAuditLogsOperator.template_fields, "path", "conn_id")
    op = operator(task_id="t", path="s3://bucket/{{ ds }}.jsonl", conn_id="aws_audit")
    assert (op.path, op.conn_id) == ("s3://bucket/{{ ds }}.jsonl", "aws_audit")
    assert operator(task_id="u", path="file:///tmp/out.jsonl").conn_id is None  # the scheme's default


def test_a_path_is_required():
    # Airflow 2 says so itself (AirflowException), Airflow 3 leaves it to Python (TypeError)
    with pytest.raises((TypeError, AirflowException), match="path"):
        BaseObjectStorageOperator(task_id="t")
