"""How a late file is named: from the late files already there, never from the clock."""

from __future__ import annotations

import pytest

from airflow_provider_slack_audit.export.late_files import late_name, late_second, next_late_second

LATEST = 1709254799  # 2024-03-01T00:59:59Z, the last second of an hourly window


def test_the_first_late_file_is_named_for_the_windows_end():
    assert next_late_second(None, LATEST) == LATEST + 1
    assert late_name("2024-03-01T00.jsonl.gz", next_late_second(None, LATEST), gzip=True) == (
        "2024-03-01T00.late-1709254800.jsonl.gz"
    )


@pytest.mark.parametrize(
    ("newest", "expected"),
    [
        (LATEST + 1, LATEST + 2),  # after the first
        (1796164464, 1796164465),  # after one named for the second it was written, as late files were before
        (LATEST - 10, LATEST + 1),  # a name before the window's end (made by hand): the window's end
    ],
)
def test_each_next_late_file_is_named_one_second_after_the_newest(newest, expected):
    assert next_late_second(newest, LATEST) == expected


def test_two_runs_that_saw_the_same_late_files_pick_the_same_name_whenever_they_run():
    seen = [LATEST + 1, LATEST + 2]
    assert next_late_second(max(seen), LATEST) == next_late_second(max(seen), LATEST) == LATEST + 3


@pytest.mark.parametrize(
    ("name", "second"),
    [
        ("2024-03-01T00.late-1709254800.jsonl.gz", 1709254800),
        ("2024-03-01T00.late-1709254801.jsonl", 1709254801),
        ("audit.late-report.late-7.jsonl", 7),  # a stem that holds the mark itself
    ],
)
def test_late_second_reads_the_second_of_a_late_files_name(name, second):
    assert late_second(name) == second


# --- the rule: which late files hold a window's events -------------------------------------------------------

from airflow_provider_slack_audit.export.late_files import (  # noqa: E402
    ABANDONED_MARKER,
    EARLIER_EXPORT,
    EVIDENCE,
    MALFORMED,
    OTHER_OBJECT,
    UNMANIFESTED,
    late_file_role,
    late_files,
    newest_late_second,
)

SHA = "a" * 64


def late_manifest(**fields):
    return {"kind": "late", "object": "s3://b/slack/h.jsonl.gz", "object_sha256": SHA, "sha256": "b" * 64, **fields}


@pytest.mark.parametrize(
    ("manifest", "role"),
    [
        (late_manifest(), EVIDENCE),
        (None, UNMANIFESTED),  # its reconciliation stopped before writing it: nothing attests its bytes
        (ABANDONED_MARKER, UNMANIFESTED),
        (late_manifest(object="s3://b/slack/h.jsonl"), OTHER_OBJECT),  # same stem, another object
        (late_manifest(object_sha256="c" * 64), EARLIER_EXPORT),
        ({"replacing": True}, MALFORMED),
        (late_manifest(kind=None), MALFORMED),
        (late_manifest(object_sha256=None), MALFORMED),
        ([1, 2], MALFORMED),
    ],
    ids=["names-it", "none", "abandoned", "other-object", "earlier-export", "marker", "export", "no-sha", "list"],
)
def test_a_window_holds_the_late_files_whose_manifest_names_the_object_and_its_sha256(manifest, role):
    assert late_file_role(manifest, "h.jsonl.gz", SHA) == role


def test_late_files_of_both_compressions_share_one_sequence_of_names(tmp_path):
    """``h.jsonl`` and ``h.jsonl.gz`` share the stem ``h``: their late files' names are one sequence (the next
    name is after the newest of either), which late files count is the rule's, by manifest."""
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    for name in ("h.late-12.jsonl.gz", "h.late-11.jsonl", "h.late-13.jsonl.gz.manifest.json", "g.late-99.jsonl"):
        (tmp_path / name).write_bytes(b"")
    found = late_files(ObjectStoragePath(f"file://{tmp_path}/h.jsonl"))
    assert [p.name for p in found] == ["h.late-11.jsonl", "h.late-12.jsonl.gz"]
    assert newest_late_second(found) == 12
    assert [p.name for p in late_files(ObjectStoragePath(f"file://{tmp_path}/h.jsonl"), gzip=False)] == [
        "h.late-11.jsonl"
    ]


def test_late_files_are_listed_by_name_on_s3_too(s3_server):
    """On S3 the folder's listing names keys (``bucket/prefix/name``): the same late files, oldest first, as paths
    that read their objects."""
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    client = s3_server.client()
    for name in ("h.late-12.jsonl.gz", "h.late-11.jsonl", "h.late-11.jsonl.manifest.json", "h.jsonl", "g.late-9.jsonl"):
        client.put_object(Bucket=s3_server.bucket, Key=f"slack/{name}", Body=name.encode())
    found = late_files(ObjectStoragePath(f"s3://{s3_server.bucket}/slack/h.jsonl", conn_id="aws_moto"))
    assert [p.name for p in found] == ["h.late-11.jsonl", "h.late-12.jsonl.gz"]
    assert [p.read_bytes() for p in found] == [b"h.late-11.jsonl", b"h.late-12.jsonl.gz"]


def test_late_files_build_a_path_object_for_the_late_files_only(tmp_path, monkeypatch):
    """One folder holds every window's object and manifest (a year of hourly windows: 17,520 files): listing
    the late files of one window reads the folder's names and builds a path object only for its late files
    (a path object per sibling cost a backfill's later windows more than their whole export)."""
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    for hour in range(50):
        (tmp_path / f"{hour}.jsonl").write_bytes(b"")
        (tmp_path / f"{hour}.jsonl.manifest.json").write_bytes(b"")
    (tmp_path / "7.late-9.jsonl").write_bytes(b"")
    (tmp_path / "7.late-8.jsonl.gz").write_bytes(b"")
    path = ObjectStoragePath(f"file://{tmp_path}/7.jsonl")
    built = []
    real_truediv = type(path).__truediv__

    def no_iterdir(self):
        raise AssertionError("late_files built a path object for every file of the folder")

    def counted_truediv(self, other):
        built.append(other)
        return real_truediv(self, other)

    monkeypatch.setattr(type(path), "iterdir", no_iterdir)
    monkeypatch.setattr(type(path), "__truediv__", counted_truediv)
    found = late_files(path)
    assert [p.name for p in found] == ["7.late-8.jsonl.gz", "7.late-9.jsonl"]
    assert [str(p) for p in found] == [f"file://{tmp_path}/7.late-8.jsonl.gz", f"file://{tmp_path}/7.late-9.jsonl"]
    assert sorted(built) == ["7.late-8.jsonl.gz", "7.late-9.jsonl"]


def test_a_reexport_never_leaves_a_late_files_manifest_without_its_file(tmp_path):
    """A late file without a manifest whose events the new export holds is removed, but only once the abandoned
    marker stands in its manifest's place: a reconciliation that writes that manifest in the meantime (here while
    the export reads its object's ids) keeps its file, instead of leaving a manifest whose late file is gone."""
    import hashlib
    import json

    from airflow_provider_slack_audit.export.late_files import remove_stale_late_files
    from airflow_provider_slack_audit.export.writer import resolve_target

    (tmp_path / "h.jsonl").write_bytes(b'{"id": "a"}\n{"id": "b"}\n')
    (tmp_path / "h.late-5.jsonl").write_bytes(b'{"id": "b"}\n')
    target = resolve_target(f"file://{tmp_path}/h.jsonl", None)
    sha256 = hashlib.sha256((tmp_path / "h.jsonl").read_bytes()).hexdigest()
    late_manifest = tmp_path / "h.late-5.jsonl.manifest.json"

    def ids_as_its_reconciliation_writes_the_manifest():
        late_manifest.write_text(json.dumps({"kind": "late", "object": target.url, "object_sha256": sha256}))
        return {"a", "b"}

    removed, kept = remove_stale_late_files(
        late_files(target.path),
        target,
        sha256,
        gzip_=False,
        object_ids=ids_as_its_reconciliation_writes_the_manifest,
    )
    assert (removed, kept) == ([], [])
    assert (tmp_path / "h.late-5.jsonl").exists()
    assert late_manifest.exists()

    # without a reconciliation in between, it goes, marker and all
    late_manifest.unlink()
    removed, _ = remove_stale_late_files(late_files(target.path), target, sha256, object_ids=lambda: {"a", "b"})
    assert removed == ["h.late-5.jsonl"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.jsonl"]
