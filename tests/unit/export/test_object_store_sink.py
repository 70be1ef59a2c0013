"""The object store's sink: what it refuses before anything is read."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException


def test_overwrite_false_on_a_store_without_conditional_writes_says_so():
    import fsspec

    from airflow_provider_slack_audit.export.object_store_sink import ObjectStoreSink

    # fsspec's in-memory store: a real filesystem whose "xb" mode is not checked at completion
    target = SimpleNamespace(fs=fsspec.filesystem("memory"), path="/bucket/slack/out.jsonl")
    sink = ObjectStoreSink(target, "memory://bucket/slack/out.jsonl", overwrite=False)  # type: ignore[arg-type]
    with pytest.raises(AirflowFailException, match=r"conditional write: .*MemoryFileSystem.*Use overwrite=True"):
        sink.open()
