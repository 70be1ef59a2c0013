"""``slack-audit verify``: real exports (the operators against the emulator) pass; each tampering is named.

The exports are made the way the product makes them: the export operator's ``execute()`` to ``file://``
paths (gzip and plain), and one reconciliation with late events for late files. ``verify`` runs in
process for most tests, and once as the console script in a fresh interpreter that cannot import Airflow.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_slack_audit.cli import main
from airflow_provider_slack_audit.export.layout import REPLACING_MARKER
from airflow_provider_slack_audit.operators.slack_audit import (
    SlackAuditLogsReconcileOperator,
    SlackAuditLogsToObjectStorageOperator,
)

ROOT = Path(__file__).resolve().parents[2]
OLDEST = 1709251200  # 2024-03-01T00:00:00Z
LATEST = OLDEST + 3599
#: The slice of the hour that reaches "Slack" late (hidden until the test resets the emulator).
LATE_FROM, LATE_TO = OLDEST + 600, OLDEST + 1199
SUFFIXES = pytest.mark.parametrize("suffix", [".gz", ""], ids=["gzip", "plain"])
CHECK_LINE = re.compile(r"^(ok  |FAIL|skip|note) (\S+)\s")


@pytest.fixture
def slack_conn(slack_audit_emulator, monkeypatch):
    conn = slack_audit_emulator.airflow_conn_json(extra={"max_retries": 2, "max_retry_wait": 0.05})
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_AUDIT_DEFAULT", conn)
    return slack_audit_emulator


def export(path: Path, oldest: int = OLDEST, latest: int = LATEST) -> dict:
    return SlackAuditLogsToObjectStorageOperator(
        task_id="export", path=f"file://{path}", oldest=oldest, latest=latest, settle_seconds=0
    ).execute({})


def verify(path: Path | str, capsys) -> tuple[int, list[str]]:
    capsys.readouterr()  # what the operators logged (Airflow 3 logs to stdout)
    code = main(["verify", str(path)])
    return code, capsys.readouterr().out.splitlines()


def checks(lines: list[str], section: str | None = None) -> dict[str, tuple[str, str]]:
    """``{check: (status, line)}`` of the lines of the first section whose title ends with ``section``
    (default: the object's)."""
    found: dict[str, tuple[str, str]] = {}
    inside = section is None
    for line in lines:
        match = CHECK_LINE.match(line)
        if match is None:
            if found and inside:
                break  # the next section
            inside = section is None or line.rstrip().endswith(section)
            continue
        if inside:
            found[match.group(2)] = (match.group(1).strip(), line)
    return found


def failed(lines: list[str], section: str | None = None) -> set[str]:
    return {name for name, (status, _) in checks(lines, section).items() if status == "FAIL"}


@SUFFIXES
def test_an_untampered_export_passes_every_check(slack_conn, tmp_path, capsys, suffix):
    path = tmp_path / f"2024-03-01T00.jsonl{suffix}"
    summary = export(path)
    assert summary["events"] > 100
    code, lines = verify(f"file://{path}", capsys)
    assert code == 0, "\n".join(lines)
    found = checks(lines)
    for name in ("manifest", "describes", "size", "sha256", "format", "events", "ids", "unique", "window"):
        assert found[name][0] == "ok", found[name][1]
    assert found["sha256"][1] == f"ok   sha256    {summary['sha256']}"
    assert found["size"][1] == f"ok   size      {summary['bytes']} bytes"
    assert found["events"][1] == f"ok   events    {summary['events']}"
    assert summary["ids_sha256"] in found["ids"][1]
    compression = "gzip" if suffix else "plain"
    assert f"JSON Lines, {compression} (inferred from the bytes" in found["format"][1]
    assert found["late"] == ("note", "note late      no late files beside the object")
    assert lines[0] == f"object    file://{path}"
    assert lines[-1] == "passed    all 9 checks hold"
    assert main(["verify", str(path)]) == 0  # a plain path names it too
    capsys.readouterr()


def _edit_first_action(data: bytes) -> bytes:
    """One event's action changed, same length: the same ids, other bytes."""
    first, rest = data.split(b"\n", 1)
    event = json.loads(first)
    action = event["action"]
    edited = first.replace(f'"action":"{action}"'.encode(), f'"action":"{action[::-1]}"'.encode(), 1)
    assert edited != first
    assert len(edited) == len(first)
    return edited + b"\n" + rest


def _tamper_object(path: Path, how: str) -> None:
    data = path.read_bytes()
    is_gzip = path.name.endswith(".gz")
    plain = gzip.decompress(data) if is_gzip else data
    if how == "change a byte":
        if is_gzip:
            middle = len(data) // 2
            path.write_bytes(data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :])
        else:
            path.write_bytes(_edit_first_action(data))
    elif how == "truncate":
        path.write_bytes(data[:-10])
    elif how in ("append a line", "duplicate an event"):
        if how == "append a line":
            line = json.dumps({"id": "00000000-0000-4000-8000-000000000000", "date_create": OLDEST + 1}).encode()
        else:
            line = plain.split(b"\n", 1)[0]
        # to a gzip file as another gzip member: still one valid gzip file to every reader
        path.write_bytes(data + (gzip.compress(line + b"\n") if is_gzip else line + b"\n"))
    else:  # pragma: no cover
        raise AssertionError(how)


@SUFFIXES
@pytest.mark.parametrize(
    ("how", "expected_plain", "expected_gzip"),
    [
        ("change a byte", {"sha256"}, {"sha256", "format"}),
        ("truncate", {"size", "sha256", "format"}, {"size", "sha256", "format"}),
        ("append a line", {"size", "sha256", "events", "ids"}, {"size", "sha256", "events", "ids"}),
        (
            "duplicate an event",
            {"size", "sha256", "events", "ids", "unique"},
            {"size", "sha256", "events", "ids", "unique"},
        ),
    ],
)
def test_a_tampered_object_fails_the_checks_it_breaks(
    slack_conn, tmp_path, capsys, suffix, how, expected_plain, expected_gzip
):
    path = tmp_path / f"x.jsonl{suffix}"
    summary = export(path)
    _tamper_object(path, how)
    code, lines = verify(path, capsys)
    assert code == 1
    expected = expected_gzip if suffix else expected_plain
    assert failed(lines) == expected, "\n".join(lines)
    found = checks(lines)
    assert found["sha256"][1].startswith(f"FAIL sha256    manifest says {summary['sha256']}, object is ")
    assert lines[-1].startswith(f"failed    {len(expected)} of ")
    if "format" in expected:
        assert found["events"][0] == found["ids"][0] == "skip"
    if how == "duplicate an event":
        first_id = json.loads((gzip.decompress(path.read_bytes()) if suffix else path.read_bytes()).split(b"\n")[0])
        assert found["unique"][1] == f"FAIL unique    ids held more than once (1 extra line): {first_id['id']}"


@SUFFIXES
def test_a_missing_manifest_is_named(slack_conn, tmp_path, capsys, suffix):
    path = tmp_path / f"x.jsonl{suffix}"
    export(path)
    (tmp_path / f"x.jsonl{suffix}.manifest.json").unlink()
    code, lines = verify(path, capsys)
    assert code == 1
    assert failed(lines) == {"manifest"}
    assert (
        checks(lines)["manifest"][1]
        == f"FAIL manifest  manifest missing: no x.jsonl{suffix}.manifest.json beside the object"
    )
    assert checks(lines)["unique"][0] == "ok"  # what needs no manifest is still checked


def test_another_objects_manifest_is_a_manifest_of_another_write(slack_conn, tmp_path, capsys):
    export(tmp_path / "a.jsonl")
    export(tmp_path / "b.jsonl", OLDEST + 3600, LATEST + 3600)
    shutil.copy(tmp_path / "b.jsonl.manifest.json", tmp_path / "a.jsonl.manifest.json")
    code, lines = verify(tmp_path / "a.jsonl", capsys)
    assert code == 1
    assert failed(lines) == {"describes"}
    assert checks(lines)["describes"][1] == (
        f"FAIL describes manifest of another write: it describes file://{tmp_path}/b.jsonl"
    )
    assert checks(lines)["sha256"][0] == "skip"  # not compared with another write's manifest


def test_a_replacing_marker_is_no_manifest_of_the_object(slack_conn, tmp_path, capsys):
    export(tmp_path / "a.jsonl.gz")
    (tmp_path / "a.jsonl.gz.manifest.json").write_text(json.dumps(REPLACING_MARKER) + "\n")
    code, lines = verify(tmp_path / "a.jsonl.gz", capsys)
    assert (code, failed(lines)) == (1, {"describes"})
    assert 'a "replacing" marker, not a manifest' in checks(lines)["describes"][1]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ({"ids_sha256": "0" * 64}, {"ids"}),
        ({"events": 1}, {"events"}),
        ({"window": {"oldest": OLDEST + 1800, "latest": LATEST}}, {"window"}),
        ({"first_date_create": OLDEST - 1}, {"window"}),
    ],
    ids=["ids_sha256", "events", "window", "first_date_create"],
)
def test_a_manifest_that_disagrees_names_the_field(slack_conn, tmp_path, capsys, edit, expected):
    path = tmp_path / "a.jsonl.gz"
    summary = export(path)
    manifest_file = tmp_path / "a.jsonl.gz.manifest.json"
    manifest_file.write_text(json.dumps({**json.loads(manifest_file.read_text()), **edit}))
    code, lines = verify(path, capsys)
    assert (code, failed(lines)) == (1, expected), "\n".join(lines)
    if "ids_sha256" in edit:
        assert (
            checks(lines)["ids"][1]
            == f"FAIL ids       manifest says {'0' * 64}, the object's ids give " + (summary["ids_sha256"])
        )
    if "window" in edit:
        assert "events dated outside [1709253000, 1709254799]" in checks(lines)["window"][1]


def test_plain_recompressed_as_gzip_fails_size_sha256_and_the_recorded_compression(slack_conn, tmp_path, capsys):
    path = tmp_path / "p.jsonl"
    summary = export(path)
    path.write_bytes(gzip.compress(path.read_bytes()))
    code, lines = verify(path, capsys)
    assert (code, failed(lines)) == (1, {"size", "sha256", "format"})
    assert checks(lines)["format"][1] == (
        'FAIL format    the manifest records compression null, the bytes are gzip (inferred from the bytes: the gzip '
        "magic 1f 8b at the start; the manifest records none; the name does not end in .gz)"
    )
    assert checks(lines)["events"][1] == f"ok   events    {summary['events']}"  # the same events, other bytes


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main(["verify"]) == 2
    assert "the following arguments are required: PATH" in capsys.readouterr().err
    assert main([]) == 2
    assert main(["verify", "s3://bucket/slack/x.jsonl.gz"]) == 2
    err = capsys.readouterr().err
    assert "verify reads local files, not s3:// objects" in err
    assert "aws s3 cp" in err
    assert main(["verify", str(tmp_path / "x.jsonl.manifest.json")]) == 2
    assert "give the object it describes (x.jsonl)" in capsys.readouterr().err
    assert main(["verify", str(tmp_path)]) == 2
    assert main(["verify", str(tmp_path / "absent.jsonl")]) == 1
    assert capsys.readouterr().out.splitlines()[1] == "FAIL object    no such file"


# --- hostile files: findings, never a traceback ----------------------------------------------------------------


def _append(path: Path, line: bytes) -> None:
    """Append one line to an object (to a gzip one as another member)."""
    data = line + b"\n"
    path.write_bytes(path.read_bytes() + (gzip.compress(data) if path.name.endswith(".gz") else data))


def _edit_manifest(object_path: Path, **fields) -> None:
    manifest_file = Path(f"{object_path}.manifest.json")
    manifest_file.write_text(json.dumps({**json.loads(manifest_file.read_text()), **fields}))


def test_a_window_beyond_the_times_datetime_shows_is_printed_as_numbers(slack_conn, tmp_path, capsys):
    path = tmp_path / "a.jsonl.gz"
    export(path)
    _edit_manifest(path, window={"oldest": 0, "latest": 10**20})
    code, lines = verify(path, capsys)
    assert code == 0, "\n".join(lines)  # every event lies in that window; the manifest is not signed
    describes = checks(lines)["describes"][1]
    assert "window [0, 100000000000000000000] (1970-01-01T00:00:00Z .. 100000000000000000000 inclusive)" in describes


@SUFFIXES
@pytest.mark.parametrize("second", [-(10**13), 10**18], ids=["before-year-1", "beyond-time_t"])
def test_an_event_dated_beyond_the_times_datetime_shows_fails_the_window(slack_conn, tmp_path, capsys, suffix, second):
    path = tmp_path / f"a.jsonl{suffix}"
    export(path)
    _append(path, json.dumps({"id": "00000000-0000-4000-8000-000000000000", "date_create": second}).encode())
    code, lines = verify(path, capsys)
    assert code == 1
    assert failed(lines) == {"size", "sha256", "events", "ids", "window"}, "\n".join(lines)
    assert checks(lines)["format"][0] == "ok"  # not taken for a damaged gzip stream
    assert f"00000000-0000-4000-8000-000000000000 ({second}, {second})" in checks(lines)["window"][1]


@SUFFIXES
def test_an_id_that_cannot_be_encoded_fails_the_ids_check_naming_the_line(slack_conn, tmp_path, capsys, suffix):
    path = tmp_path / f"a.jsonl{suffix}"
    summary = export(path)
    _append(path, b'{"id":"\\ud800","date_create":%d}' % (OLDEST + 1))
    code, lines = verify(path, capsys)
    assert code == 1
    assert failed(lines) == {"size", "sha256", "events", "ids"}, "\n".join(lines)
    line = checks(lines)["ids"][1]
    assert line.startswith("FAIL ids       1 id cannot be encoded as UTF-8")
    assert f"line {summary['events'] + 1} ('\\ud800')" in line


@SUFFIXES
def test_a_line_nested_too_deep_to_decode_fails_the_format(slack_conn, tmp_path, capsys, suffix):
    path = tmp_path / f"a.jsonl{suffix}"
    summary = export(path)
    _append(path, b"[" * 200_000)
    code, lines = verify(path, capsys)
    assert code == 1
    assert failed(lines) == {"size", "sha256", "format"}, "\n".join(lines)
    assert f"line {summary['events'] + 1} is not JSON (maximum recursion depth" in checks(lines)["format"][1]


def test_a_manifest_nested_too_deep_to_decode_fails_the_manifest_check(slack_conn, tmp_path, capsys):
    path = tmp_path / "a.jsonl.gz"
    export(path)
    Path(f"{path}.manifest.json").write_bytes(b"[" * 200_000)
    code, lines = verify(path, capsys)
    assert code == 1
    assert failed(lines) == {"manifest"}, "\n".join(lines)
    assert "a.jsonl.gz.manifest.json is not JSON (maximum recursion depth" in checks(lines)["manifest"][1]


def test_a_manifests_line_breaks_and_lone_surrogates_are_printed_as_escapes(slack_conn, tmp_path, capsys):
    path = tmp_path / "a.jsonl.gz"
    export(path)
    _edit_manifest(path, path="file:///x/\ud800\npassed    all 9 checks hold")
    code, lines = verify(path, capsys)
    assert code == 1
    assert checks(lines)["describes"][1] == (
        "FAIL describes manifest of another write: it describes file:///x/\\ud800\\npassed    all 9 checks hold"
    )
    assert not any(line.startswith("passed") for line in lines)


def test_an_unexpected_error_is_one_fail_line_without_traceback(monkeypatch, tmp_path, capsys):
    from airflow_provider_slack_audit.cli import verify as verify_module

    def explode(path, shown):
        raise RuntimeError("boom \ud800")

    monkeypatch.setattr(verify_module, "verify", explode)
    assert main(["verify", str(tmp_path / "x.jsonl")]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["FAIL error     RuntimeError: boom \\ud800"]
    assert captured.err == ""


# --- manifests the provider did not write -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        ({"window": None}, "window"),
        ({"window": [OLDEST, LATEST]}, "window"),
        ({"window": {"oldest": OLDEST}}, "window"),
        ({"window": {"oldest": float(OLDEST), "latest": LATEST}}, "window's oldest is 1709251200.0"),
        ({"window": {"oldest": OLDEST, "latest": True}}, "window's latest is true"),
        ({"events": "351"}, "events"),
        ({"bytes": None}, "bytes is null"),
        ({"first_date_create": "x"}, "first_date_create"),
    ],
    ids=["null", "list", "no-latest", "float-oldest", "bool-latest", "string-events", "null-bytes", "string-first"],
)
def test_a_manifest_with_a_malformed_window_or_number_fails_describes(slack_conn, tmp_path, capsys, edit, named):
    path = tmp_path / "a.jsonl.gz"
    export(path)
    _edit_manifest(path, **edit)
    code, lines = verify(path, capsys)
    assert (code, failed(lines)) == (1, {"describes"}), "\n".join(lines)
    line = checks(lines)["describes"][1]
    assert line.startswith("FAIL describes not a manifest the provider wrote (or a damaged one): ")
    assert named in line


def test_a_manifest_without_a_window_fails_describes(slack_conn, tmp_path, capsys):
    path = tmp_path / "a.jsonl.gz"
    export(path)
    manifest_file = Path(f"{path}.manifest.json")
    manifest = json.loads(manifest_file.read_text())
    del manifest["window"]
    manifest_file.write_text(json.dumps(manifest))
    code, lines = verify(path, capsys)
    assert (code, failed(lines)) == (1, {"describes"}), "\n".join(lines)
    assert checks(lines)["describes"][1].endswith("it records no window")


@pytest.mark.parametrize("field", ["events", "bytes", "first_date_create", "last_date_create"])
@pytest.mark.parametrize("as_", [float, bool], ids=["float", "bool"])
def test_a_manifest_number_that_is_no_integer_fails_describes_naming_it(slack_conn, tmp_path, capsys, field, as_):
    """Equal as Python numbers (351.0 == 351) is not enough: the provider writes integers."""
    path = tmp_path / "a.jsonl.gz"
    export(path)
    manifest = json.loads(Path(f"{path}.manifest.json").read_text())
    _edit_manifest(path, **{field: as_(manifest[field]) if as_ is float else True})
    code, lines = verify(path, capsys)
    assert (code, failed(lines)) == (1, {"describes"}), "\n".join(lines)
    assert f"its {field} is " in checks(lines)["describes"][1]


@pytest.mark.parametrize("second", [float(OLDEST + 1), True, "1709251201"], ids=["float", "bool", "string"])
def test_a_date_create_that_is_no_integer_fails_the_window(slack_conn, tmp_path, capsys, second):
    path = tmp_path / "a.jsonl"
    export(path)
    _append(path, json.dumps({"id": "00000000-0000-4000-8000-000000000000", "date_create": second}).encode())
    code, lines = verify(path, capsys)
    assert code == 1
    assert "window" in failed(lines), "\n".join(lines)
    line = checks(lines)["window"][1]
    assert line.startswith("FAIL window    1 events whose date_create is no integer")
    assert f"00000000-0000-4000-8000-000000000000 ({json.dumps(second)})" in line


def test_an_event_without_date_create_is_counted_not_failed(slack_conn, tmp_path, capsys):
    path = tmp_path / "a.jsonl"
    export(path)
    _append(path, b'{"id":"00000000-0000-4000-8000-000000000000","date_create":null}')
    code, lines = verify(path, capsys)
    assert code == 1  # size, sha256, events, ids
    assert "window" not in failed(lines), "\n".join(lines)
    assert checks(lines)["window"][1].endswith("; 1 events without a date_create not placed")


# --- late files ----------------------------------------------------------------------------------------------


def export_and_reconcile(emulator, path: Path) -> dict:
    """Export the hour while a slice of it is hidden, let it arrive, reconcile: one late file beside the object."""
    emulator.late_events(LATE_FROM, LATE_TO, delay=3600.0)
    export(path)
    emulator.reset()  # the late events reach Slack
    result = SlackAuditLogsReconcileOperator(task_id="reconcile", path=f"file://{path}", settle_seconds=0).execute({})
    assert result["late"] > 0
    return result


@pytest.fixture
def reconciled(slack_conn, tmp_path) -> tuple[Path, Path]:
    path = tmp_path / "2024-03-01T00.jsonl.gz"
    result = export_and_reconcile(slack_conn, path)
    late = tmp_path / result["late_path"].rsplit("/", 1)[1]
    assert late.name == f"2024-03-01T00.late-{LATEST + 1}.jsonl.gz"
    return path, late


def test_late_files_are_checked_against_their_own_manifests(reconciled, capsys):
    path, late = reconciled
    code, lines = verify(path, capsys)
    assert code == 0, "\n".join(lines)
    assert f"late      {late}" in lines
    late_checks = checks(lines, late.name)
    for name in ("manifest", "describes", "size", "sha256", "format", "events", "ids", "unique", "window"):
        assert late_checks[name][0] == "ok", late_checks[name][1]
    late_manifest = json.loads(Path(f"{late}.manifest.json").read_text())
    assert late_checks["sha256"][1] == f"ok   sha256    {late_manifest['sha256']}"
    assert f"completes {path.name} of sha256 " in late_checks["describes"][1]
    together = checks(lines, "(the window's evidence)")
    assert together["unique"][0] == "ok"
    assert "no id in two of 2 files" in together["unique"][1]
    assert lines[-1] == "passed    all 19 checks hold"


@pytest.mark.parametrize("left", ["no manifest", "abandoned marker"])
def test_a_late_file_without_manifest_is_noted_as_no_evidence_as_the_reconciliation_counts_it(
    reconciled, capsys, left
):
    """One rule (export.late_files.late_file_role) for verify, the reconciliation and the docs' loader: a late
    file without a manifest (its reconciliation was killed before writing it) is part of no window's evidence.
    Verify notes it and does not fail; the reconciliation writes its events again (tests/e2e/test_reconcile.py)."""
    path, late = reconciled
    manifest_file = Path(f"{late}.manifest.json")
    manifest_file.unlink()
    if left == "abandoned marker":
        from airflow_provider_slack_audit.export.late_files import ABANDONED_MARKER

        manifest_file.write_text(json.dumps(ABANDONED_MARKER))
    code, lines = verify(path, capsys)
    assert code == 0, "\n".join(lines)
    assert failed(lines) == failed(lines, late.name) == set()
    status, line = checks(lines, late.name)["evidence"]
    assert status == "note"
    assert "part of no window's evidence" in line
    assert set(checks(lines, late.name)) == {"evidence"}  # not judged against a manifest it does not have


def test_a_late_file_of_another_object_of_the_same_stem_is_not_this_objects(reconciled, capsys):
    """``h.jsonl`` and ``h.jsonl.gz`` share a stem, not their late files."""
    path, late = reconciled
    sibling = path.with_name("2024-03-01T00.jsonl")
    sibling.write_bytes(gzip.decompress(path.read_bytes()))
    _, lines = verify(sibling, capsys)  # the copy has no manifest of its own: that fails, not the late file
    assert "note evidence  it completes" in checks(lines, late.name)["evidence"][1]
    assert failed(lines, late.name) == set()


def test_a_tampered_late_file_is_named(reconciled, capsys):
    path, late = reconciled
    _tamper_object(late, "duplicate an event")
    code, lines = verify(path, capsys)
    assert code == 1
    assert failed(lines) == set()
    assert failed(lines, late.name) == {"size", "sha256", "events", "ids", "unique"}


def test_an_id_in_the_object_and_in_a_late_file_fails_together(reconciled, capsys):
    """A late file holding an event of the object, with a manifest that agrees (a reconciliation gone wrong)."""
    path, late = reconciled
    copied = gzip.decompress(path.read_bytes()).split(b"\n", 1)[0]
    late.write_bytes(late.read_bytes() + gzip.compress(copied + b"\n"))
    data = late.read_bytes()
    events = [json.loads(line) for line in gzip.decompress(data).splitlines()]
    ids, seconds = [e["id"] for e in events], [e["date_create"] for e in events]
    manifest_file = Path(f"{late}.manifest.json")
    manifest = json.loads(manifest_file.read_text())
    manifest.update(
        bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        events=len(ids),
        ids_sha256=hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest(),
        first_date_create=min(seconds),
        last_date_create=max(seconds),
    )
    manifest_file.write_text(json.dumps(manifest))
    code, lines = verify(path, capsys)
    assert code == 1
    assert failed(lines) == failed(lines, late.name) == set()
    assert checks(lines, "(the window's evidence)")["unique"][1] == (
        f"FAIL unique    ids in more than one of 2 files (1 extra line): {json.loads(copied)['id']}"
    )


def test_a_late_file_of_an_earlier_export_is_noted_as_superseded(reconciled, capsys):
    path, late = reconciled
    manifest_file = Path(f"{late}.manifest.json")
    manifest_file.write_text(json.dumps({**json.loads(manifest_file.read_text()), "object_sha256": "1" * 64}))
    code, lines = verify(path, capsys)
    assert code == 0, "\n".join(lines)
    status, line = checks(lines, late.name)["superseded"]
    assert status == "note"
    assert "completes an earlier export" in line


def test_a_late_files_manifest_without_its_late_file_fails(reconciled, capsys):
    """The late file deleted, its manifest left: events of the window were removed from the evidence."""
    path, late = reconciled
    late.unlink()
    code, lines = verify(path, capsys)
    assert code == 1, "\n".join(lines)
    assert failed(lines) == set()  # the object itself holds
    assert f"late      {late}" in lines
    assert failed(lines, late.name) == {"file"}
    line = checks(lines, late.name)["file"][1]
    assert line.startswith(f"FAIL file      late file missing: {late.name}.manifest.json is here, {late.name} is not.")
    assert "note late" not in "\n".join(lines)
    assert lines[-1].endswith(f"file ({late.name})")


def test_a_superseded_late_files_manifest_without_its_late_file_is_noted(reconciled, capsys):
    """What an export that replaced the object leaves when it removed the late file but not (yet) its manifest."""
    path, late = reconciled
    late.unlink()
    manifest_file = Path(f"{late}.manifest.json")
    manifest_file.write_text(json.dumps({**json.loads(manifest_file.read_text()), "object_sha256": "1" * 64}))
    code, lines = verify(path, capsys)
    assert code == 0, "\n".join(lines)
    status, line = checks(lines, late.name)["superseded"]
    assert status == "note"
    assert "without its late file, and completes an earlier export" in line


# --- without Airflow, and the same digests with standard tools --------------------------------------------------

#: What a console script does (pip's wrapper: import the entry point, exit with what it returns), in an
#: interpreter where importing Airflow fails: verify must not need it.
NO_AIRFLOW_SCRIPT = """
import importlib, re, sys
class NoAirflow:
    def find_spec(self, name, path=None, target=None):
        if name == "airflow" or name.startswith("airflow."):
            raise ImportError(f"{name}: Airflow is not installed here")
        return None
sys.meta_path.insert(0, NoAirflow())
target = re.search(r'^slack-audit = "([^"]+)"$', open(sys.argv.pop(1)).read(), re.M).group(1)
module, _, function = target.partition(":")
code = getattr(importlib.import_module(module), function)()
loaded = sorted(m for m in sys.modules if m == "airflow" or m.startswith("airflow."))
print("airflow modules:", loaded, file=sys.stderr)
sys.exit(code)
"""


def test_the_console_script_runs_without_airflow(slack_conn, tmp_path):
    path = tmp_path / "x.jsonl.gz"
    export(path)
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}
    run = subprocess.run(
        [sys.executable, "-c", NO_AIRFLOW_SCRIPT, str(ROOT / "pyproject.toml"), "verify", f"file://{path}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "airflow modules: []" in run.stderr
    assert run.stdout.splitlines()[-1] == "passed    all 9 checks hold"
    path.write_bytes(path.read_bytes()[:-1])
    module = subprocess.run(
        [sys.executable, "-m", "airflow_provider_slack_audit.cli", "verify", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert module.returncode == 1, module.stdout + module.stderr
    assert module.stdout.splitlines()[-1] == "failed    3 of 5 checks: size, sha256, format (x.jsonl.gz)"


#: docs/verify.rst's pipelines, word for word (the test reads them from there).
DOC = ROOT / "docs" / "verify.rst"


def doc_pipeline(name: str) -> str:
    """The shell pipeline after ``.. pipeline: <name>`` in docs/verify.rst (the code block's first line)."""
    text = DOC.read_text()
    match = re.search(rf"\.\. pipeline: {name}\n\n.*?::\n\n    (.+?)\n", text, re.S)
    assert match, f"docs/verify.rst has no pipeline {name}"
    return match.group(1)


@SUFFIXES
def test_the_documented_shell_pipelines_give_the_manifests_digests(slack_conn, tmp_path, suffix):
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed: the documented ids pipeline needs it")
    path = tmp_path / f"x.jsonl{suffix}"
    summary = export(path)
    manifest = json.loads(Path(f"{path}.manifest.json").read_text())

    def sh(pipeline: str) -> str:
        command = pipeline.replace("OBJECT", f"'{path}'")
        return subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True).stdout

    assert sh(doc_pipeline("sha256")).split()[0] == manifest["sha256"] == summary["sha256"]
    assert sh(doc_pipeline("ids")).split()[0] == manifest["ids_sha256"]
    assert int(sh(doc_pipeline("events")).strip()) == manifest["events"]
    assert sh(doc_pipeline("duplicates")) == ""
    first, last = sh(doc_pipeline("span")).split()
    assert (int(first), int(last)) == (manifest["first_date_create"], manifest["last_date_create"])
    assert hashlib.sha256(path.read_bytes()).hexdigest() == manifest["sha256"]


def test_an_object_written_again_without_its_manifest_has_a_manifest_of_another_write(slack_conn, tmp_path, capsys):
    """What an export killed between its commit and its manifest leaves: its object (a new file, renamed into
    place) beside the earlier export's manifest. That is no alteration: verify names the other write."""
    path = tmp_path / "a.jsonl"
    export(path)
    other = SlackAuditLogsToObjectStorageOperator(
        task_id="export", path=f"file://{tmp_path}/b.jsonl", oldest=OLDEST, latest=LATEST, settle_seconds=0,
        action="user_login", manifest=False,
    ).execute({})  # fmt: skip
    inode = path.stat().st_ino
    (tmp_path / "b.jsonl").replace(path)  # as the export's commit renames its temporary into place

    code, lines = verify(path, capsys)
    assert (code, failed(lines)) == (1, {"describes"}), "\n".join(lines)
    describes = checks(lines)["describes"][1]
    assert describes.startswith(
        "FAIL describes manifest of another write: the object was written again after this manifest's write "
        f"(the store names device {path.stat().st_dev}, inode {path.stat().st_ino}; the manifest records device "
        f"{path.stat().st_dev}, inode {inode})"
    ), describes
    assert f"sha256 {other['sha256']}" in describes
    assert "altered" not in describes
    assert checks(lines)["sha256"][0] == checks(lines)["events"][0] == "skip"  # not compared with another write's


def test_an_object_edited_in_place_is_not_another_write(slack_conn, tmp_path, capsys):
    path = tmp_path / "a.jsonl"
    export(path)
    with path.open("r+b") as stream:  # the same file (inode), other bytes
        stream.write(_edit_first_action(path.read_bytes()))
    code, lines = verify(path, capsys)
    assert (code, failed(lines)) == (1, {"sha256"})
    assert checks(lines)["describes"][0] == "ok"


@pytest.mark.parametrize(("name", "compression"), [("g.jsonl", "gzip"), ("p.jsonl.gz", None)])
def test_the_manifest_records_the_compression_whatever_the_name(slack_conn, tmp_path, capsys, name, compression):
    path = tmp_path / name
    SlackAuditLogsToObjectStorageOperator(
        task_id="export", path=f"file://{path}", oldest=OLDEST, latest=LATEST, settle_seconds=0,
        compression=compression,
    ).execute({})  # fmt: skip
    manifest = json.loads((tmp_path / f"{name}.manifest.json").read_text())
    assert (manifest["format"], manifest["compression"]) == ("jsonl", compression)
    code, lines = verify(path, capsys)
    assert code == 0, "\n".join(lines)
    assert f"the manifest records {compression or 'none'}" in checks(lines)["format"][1]


def test_a_late_file_marked_stale_is_noted_not_evidence(slack_conn, tmp_path, capsys):
    """What an export leaves where the store refused to delete a superseded late file without manifest."""
    from airflow_provider_slack_audit.export.layout import stale_marker

    path = tmp_path / "x.jsonl"
    summary = export(path)
    late = tmp_path / f"x.late-{LATEST + 1}.jsonl"
    late.write_bytes(path.read_bytes().split(b"\n", 1)[0] + b"\n")  # an event the object holds
    marker = stale_marker(object_url=summary["path"], superseded_by_sha256=summary["sha256"], why="superseded")
    (tmp_path / f"{late.name}.manifest.json").write_text(json.dumps(marker))

    code, lines = verify(path, capsys)

    assert code == 0, "\n".join(lines)
    assert checks(lines, late.name)["superseded"][1].startswith("note superseded a stale marker: superseded")
