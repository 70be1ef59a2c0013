"""``slack-audit verify``: check an exported object, and the late files beside it, against their manifests.

Reads local files only and imports only the standard library and the package's Airflow-free parts
(:mod:`~airflow_provider_slack_audit.export.ids` for the ids digest, the very code the export uses,
:mod:`~airflow_provider_slack_audit.export.layout` for the names beside an object, and
:mod:`~airflow_provider_slack_audit.export.stream` to hash and split the bytes as the reconciliation does), so
an auditor can run it where Airflow is not installed. Each check is one line (see :meth:`Check.line`);
``docs/verify.rst`` describes them.

:func:`verify` is the command's entry; its parts (internal, their names importable from here):

- :mod:`.report`: the lines of the report, and their escaping;
- :mod:`.reading`: reading one file once (its bytes, events, ids and seconds);
- :mod:`.checks`: the checks of one file against its own manifest;
- :mod:`.late`: the late files beside the object, and the object and its late files together.
"""

from __future__ import annotations

from pathlib import Path

from airflow_provider_slack_audit.cli.verify.checks import (
    check_bytes,
    check_events,
    check_identity,
    check_window,
    read_manifest,
    recorded_window,
    verify_file,
)
from airflow_provider_slack_audit.cli.verify.late import (
    check_missing_late,
    check_outside_evidence,
    check_together,
    late_files_of,
    missing_late_files_of,
)
from airflow_provider_slack_audit.cli.verify.reading import GZIP_MAGIC, ID_BATCH, MAX_NAMED, Scan, scan_file
from airflow_provider_slack_audit.cli.verify.report import (
    FAIL,
    NOTE,
    OK,
    SKIP,
    Check,
    Report,
    Section,
    describe_window,
    extra_lines,
    iso,
    printable,
)
from airflow_provider_slack_audit.export.ids import SortedIdsDigest
from airflow_provider_slack_audit.export.layout import late_second
from airflow_provider_slack_audit.export.stream import READ_CHUNK

__all__ = [
    "FAIL",
    "GZIP_MAGIC",
    "ID_BATCH",
    "MAX_NAMED",
    "NOTE",
    "OK",
    "READ_CHUNK",
    "SKIP",
    "Check",
    "Report",
    "Scan",
    "Section",
    "check_bytes",
    "check_events",
    "check_identity",
    "check_missing_late",
    "check_outside_evidence",
    "check_together",
    "check_window",
    "describe_window",
    "extra_lines",
    "iso",
    "late_files_of",
    "missing_late_files_of",
    "printable",
    "read_manifest",
    "scan_file",
    "verify",
    "verify_file",
]


def verify(path: Path, shown: str) -> Report:
    """Check the object at ``path`` (shown as ``shown``) and the late files beside it."""
    report = Report()
    section = Section("object", shown, path.name)
    report.sections.append(section)
    if not path.is_file():
        section.add(FAIL, "object", "no such file" if not path.exists() else "not a file")
        return report
    every_id = SortedIdsDigest(find_duplicates=True)  # the ids of the evidence: files whose manifest describes them
    try:
        manifest, scan = verify_file(path, section, every_id)
        assert scan is not None
        of_object = {
            "name": path.name,
            # a late file completes the object its manifest records (or, without one, the object as it is)
            "sha256": manifest.get("sha256") if manifest else scan.sha256,
            "window": recorded_window(manifest) if manifest else None,
        }
        evidence = [scan] if manifest else []
        lates = late_files_of(path)
        missing = missing_late_files_of(path)
        if not lates and not missing:
            section.add(NOTE, "late", "no late files beside the object")
        for late in sorted(lates + missing, key=lambda p: (late_second(p.name), p.name)):
            late_section = Section("late", str(late), late.name)
            report.sections.append(late_section)
            if late in missing:
                check_missing_late(late, late_section, of_object)
                continue
            if check_outside_evidence(late, late_section, of_object):
                continue
            late_manifest, late_scan = verify_file(late, late_section, every_id, of_object=of_object)
            if late_manifest is not None and late_scan is not None:
                evidence.append(late_scan)
        if lates:
            together = Section("together", f"{path.name} and its late files (the window's evidence)", "together")
            report.sections.append(together)
            check_together(evidence, every_id, has_object=manifest is not None, section=together)
    finally:
        every_id.close()
    return report
