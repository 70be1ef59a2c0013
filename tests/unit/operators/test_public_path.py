"""Each operator lives in a module of its own, but its class path stays the public one users name:
``airflow_provider_slack_audit.operators.slack_audit.<Operator>``. Serialized DAGs record it (a new path would
make a new DAG version of every DAG on upgrade), task loggers are named after it, and settings such as
``[openlineage] disabled_for_operators`` match it."""

from __future__ import annotations

import importlib

import pytest

from airflow_provider_slack_audit.operators import slack_audit
from airflow_provider_slack_audit.operators.base import PUBLIC_MODULE

OPERATORS = [
    slack_audit.SlackAuditLogsOperator,
    slack_audit.SlackAuditLogsToObjectStorageOperator,
    slack_audit.SlackAuditLogsReconcileOperator,
]


@pytest.mark.parametrize("operator", OPERATORS, ids=lambda c: c.__name__)
def test_the_class_path_is_the_public_one_and_resolves_to_the_class(operator):
    assert operator.__module__ == PUBLIC_MODULE == slack_audit.__name__
    assert getattr(importlib.import_module(operator.__module__), operator.__qualname__) is operator


@pytest.mark.parametrize("operator", OPERATORS, ids=lambda c: c.__name__)
def test_a_serialized_task_names_the_public_module(operator):
    serialization = importlib.import_module("airflow.serialization.serialized_objects")
    # Airflow 3.3 names it OperatorSerialization, earlier releases SerializedBaseOperator
    serializer = getattr(serialization, "OperatorSerialization", None) or serialization.SerializedBaseOperator
    extra = {} if operator is slack_audit.SlackAuditLogsOperator else {"path": "file:///tmp/unused.jsonl"}
    task = operator(task_id="t", oldest=1709251200, latest=1709251259, **extra)
    assert serializer.serialize_operator(task)["_task_module"] == PUBLIC_MODULE
