"""What every sink shares: the error of a target that must not be replaced, and what a store has after a commit."""

from __future__ import annotations

import dataclasses

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_slack_audit.export import storage
from airflow_provider_slack_audit.export.sink import StoredVersion, TargetExistsError, exists_message


def test_an_existing_target_fails_the_task_saying_what_to_change():
    message = exists_message("s3://bucket/out.jsonl")
    assert message.startswith("s3://bucket/out.jsonl exists and overwrite=False.")
    assert "set overwrite=True" in message
    assert issubclass(TargetExistsError, AirflowFailException)  # no retry: another try finds the object again


def test_a_stored_version_is_a_value():
    stored = StoredVersion({"store": "s3", "etag": "x"}, True)
    assert stored == StoredVersion({"store": "s3", "etag": "x"}, True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        stored.ours = False  # type: ignore[misc]


def test_the_storage_module_names_every_sink_and_its_helpers():
    """The writer and the operators import the sinks from export.storage: each name there is its module's own."""
    for name in storage.__all__:
        assert getattr(storage, name) is not None
    assert storage.TargetExistsError is TargetExistsError
    assert storage.LocalFileSink.__module__ == "airflow_provider_slack_audit.export.local_sink"
    assert storage.ObjectStoreSink.__module__ == "airflow_provider_slack_audit.export.object_store_sink"
