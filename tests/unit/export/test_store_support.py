"""Which stores have a conditional create, by the installed release of their filesystem."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_slack_audit.export.writer import resolve_target


def _fake_fs(monkeypatch, package: str, version: str | None):
    """A filesystem class of a module named like ``package`` (gcsfs and adlfs are not installed here), and the
    package itself with ``version`` as its ``__version__``: what the capability detection reads."""
    import sys
    import types

    module = types.ModuleType(package)
    if version is not None:
        module.__version__ = version
    monkeypatch.setitem(sys.modules, package, module)
    fs_class = type("FileSystem", (), {"__module__": f"{package}.core"})
    return fs_class()


@pytest.mark.parametrize(
    ("package", "version", "missing"),
    [
        ("gcsfs", "2024.12.0", None),
        ("gcsfs", "2026.8.0", None),
        (
            "gcsfs",
            "2024.10.0",
            r"gcsfs 2024.10.0 has no exclusive write \(ifGenerationMatch=0\); upgrade gcsfs to 2024.12.0",
        ),
        ("adlfs", "2024.12.0", None),
        (
            "adlfs",
            "2024.7.0",
            r"adlfs 2024.7.0 has no exclusive write \(If-None-Match: \*\); upgrade adlfs to 2024.12.0",
        ),
        ("adlfs", None, r"adlfs \(unknown version\) has no exclusive write"),
    ],
)
def test_gcs_and_azure_have_a_conditional_create_from_the_release_that_sends_it(monkeypatch, package, version, missing):
    from airflow_provider_slack_audit.export.object_store_sink import ObjectStoreSink
    from airflow_provider_slack_audit.export.store_support import conditional_write_support

    fs = _fake_fs(monkeypatch, package, version)
    found = conditional_write_support(fs)
    if missing is None:
        assert found is None
        return
    assert re.search(missing, found), found
    # an export with overwrite=False (or a late file) fails when its sink opens, before anything is read or written
    sink = ObjectStoreSink(SimpleNamespace(fs=fs, path="bucket/out.jsonl"), "gs://bucket/out.jsonl", overwrite=False)  # type: ignore[arg-type]
    with pytest.raises(AirflowFailException, match="conditional write: " + missing):
        sink.open()


def test_the_installed_s3fs_has_a_conditional_create():
    from airflow_provider_slack_audit.export.store_support import conditional_write_support

    target = resolve_target("s3://bucket/out.jsonl", None)
    assert conditional_write_support(target.path.fs) is None
