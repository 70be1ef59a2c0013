"""The late files beside an object, for ``slack-audit verify``: finding them (and the manifests left without
their late file), which of them are the object's evidence (the rule of
:func:`~airflow_provider_slack_audit.export.late_files.late_file_role`, the reconciliation's too), and the
``unique`` check over the object and its late files together.

Internal to :mod:`airflow_provider_slack_audit.cli.verify`.

:meta private:
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from airflow_provider_slack_audit.cli.verify.reading import Scan
from airflow_provider_slack_audit.cli.verify.report import FAIL, NOTE, OK, SKIP, Section, extra_lines
from airflow_provider_slack_audit.export.ids import SortedIdsDigest
from airflow_provider_slack_audit.export.late_files import (
    EARLIER_EXPORT,
    MALFORMED,
    OTHER_OBJECT,
    UNMANIFESTED,
    late_file_role,
)
from airflow_provider_slack_audit.export.layout import (
    MANIFEST_SUFFIX,
    is_stale_marker,
    late_name_pattern,
    late_second,
    manifest_path,
)


def late_files_of(path: Path) -> list[Path]:
    """The late files beside the object at ``path`` (``.jsonl`` and ``.jsonl.gz``), oldest first."""
    pattern = late_name_pattern(path.name, gzip=None)
    found = [p for p in path.parent.iterdir() if pattern.match(p.name) and p.is_file()]
    return sorted(found, key=lambda p: (late_second(p.name), p.name))


def missing_late_files_of(path: Path) -> list[Path]:
    """The late files whose manifest is beside the object at ``path`` but that are not there themselves."""
    pattern = late_name_pattern(path.name, gzip=None)
    found = [
        path.parent / p.name[: -len(MANIFEST_SUFFIX)]
        for p in path.parent.iterdir()
        if p.name.endswith(MANIFEST_SUFFIX) and pattern.match(p.name[: -len(MANIFEST_SUFFIX)])
    ]
    missing = [late for late in found if not late.is_file() and manifest_path(late).is_file()]
    return sorted(missing, key=lambda p: (late_second(p.name), p.name))


def _manifest_at(late: Path) -> tuple[bool, Any]:
    """Whether something is at the manifest's place of ``late``, and it as JSON (None when it is not JSON)."""
    try:
        data = manifest_path(late).read_bytes()
    except FileNotFoundError:
        return False, None
    try:
        return True, json.loads(data)
    except (ValueError, RecursionError):
        return True, None


def check_outside_evidence(late: Path, section: Section, of_object: dict[str, Any]) -> bool:
    """A NOTE, and True, when the rule (:func:`~airflow_provider_slack_audit.export.late_files.late_file_role`)
    leaves the late file ``late`` out of the object's evidence without judging it: it has no manifest (or the
    abandoned marker), or it completes another object of the same stem. False for the late files that
    :func:`verify_file` checks (those of the evidence, of an earlier export, or with a damaged manifest)."""
    present, manifest = _manifest_at(late)
    if (present and manifest is None) or is_stale_marker(manifest):
        return False  # not JSON: verify_file fails it; a stale marker: verify_file notes it as superseded
    role = late_file_role(manifest, of_object["name"], of_object["sha256"])
    if role == UNMANIFESTED:
        section.add(
            NOTE,
            "evidence",
            ("marked abandoned" if present else f"no manifest (no {manifest_path(late).name})")
            + ": its reconciliation stopped before writing its manifest, so it is part of no window's evidence "
            "(loaders skip it; the next reconciliation writes its events again, with a manifest)",
        )
        return True
    if role == OTHER_OBJECT:
        section.add(
            NOTE,
            "evidence",
            f"it completes {manifest.get('object')}, another object of the same stem: not {of_object['name']}'s",
        )
        return True
    return False


def check_missing_late(late: Path, section: Section, of_object: dict[str, Any]) -> None:
    """A late file's manifest without its late file: the late file was deleted, unless the rule leaves that late
    file out of the object's evidence (it was superseded: an export that replaced the object removes such a late
    file first, then its manifest; it was marked abandoned; it completes another object of the stem)."""
    where = manifest_path(late)
    _, manifest = _manifest_at(late)
    role = late_file_role(manifest, of_object["name"], of_object["sha256"]) if manifest is not None else MALFORMED
    if role == EARLIER_EXPORT:
        section.add(
            NOTE,
            "superseded",
            f"{where.name} is here without its late file, and completes an earlier export of {of_object['name']} "
            f"(sha256 {manifest['object_sha256']}): the export that replaced the object removes such a late file "
            "(the file first, then its manifest), so no evidence is missing",
        )
        return
    if role in (UNMANIFESTED, OTHER_OBJECT):
        section.add(
            NOTE,
            "evidence",
            f"{where.name} is here without its late file, and "
            + ("marks it abandoned" if role == UNMANIFESTED else f"completes {manifest.get('object')}")
            + f": it was no evidence of {of_object['name']}, so none is missing",
        )
        return
    section.add(
        FAIL,
        "file",
        f"late file missing: {where.name} is here, {late.name} is not. A reconciliation writes the late file "
        "before its manifest, so the late file was deleted (or moved) afterwards: the events it held are "
        "missing from the window's evidence",
    )


def check_together(evidence: list[Scan], every_id: SortedIdsDigest, *, has_object: bool, section: Section) -> None:
    """``unique`` over the files of the evidence: no id in two of them (ids twice in one file fail that file)."""
    if not has_object or len(evidence) < 2:
        section.add(SKIP, "unique", "fewer than two files have a manifest that describes them (see above)")
        return
    if any(scan.error is not None for scan in evidence):
        section.add(SKIP, "unique", "a file cannot be read as JSON Lines of audit events (see above)")
        return
    every_id.hexdigest()
    across = every_id.duplicates - sum(scan.duplicates for scan in evidence)
    if not across:
        section.add(OK, "unique", f"no id in two of {len(evidence)} files ({every_id.count} events)")
        return
    within = {event_id for scan in evidence for event_id in scan.duplicate_ids}
    named = [event_id for event_id in every_id.duplicate_ids if event_id not in within]
    section.add(
        FAIL,
        "unique",
        f"ids in more than one of {len(evidence)} files ({extra_lines(across)})"
        + (f": {', '.join(named)}" if named else ""),
    )
