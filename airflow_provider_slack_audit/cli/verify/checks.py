"""The checks of one file (the object, or a late file) against its own manifest: ``manifest``, ``describes``,
``size``, ``sha256``, ``format``, ``events``, ``ids``, ``unique`` and ``window``.

Internal to :mod:`airflow_provider_slack_audit.cli.verify`.

:meta private:
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from airflow_provider_slack_audit.cli.verify.reading import Scan, scan_file
from airflow_provider_slack_audit.cli.verify.report import (
    FAIL,
    NOTE,
    OK,
    SKIP,
    Section,
    describe_window,
    extra_lines,
    iso,
)
from airflow_provider_slack_audit.export.binding import (
    ANOTHER_WRITE,
    Binding,
    FoundObject,
    judge_binding,
    local_version,
    same_write,
)
from airflow_provider_slack_audit.export.ids import SortedIdsDigest
from airflow_provider_slack_audit.export.layout import is_replacing_marker, is_stale_marker, manifest_path
from airflow_provider_slack_audit.export.stream import READ_CHUNK


def read_manifest(path: Path, section: Section, *, late: bool) -> dict[str, Any] | None:
    """The manifest beside ``path`` as JSON (a ``replacing`` marker included); None, with a FAIL line, if none."""
    where = manifest_path(path)
    if not where.is_file():
        if late:
            section.add(
                FAIL,
                "manifest",
                f"manifest missing: no {where.name}. A late file without a manifest is not part of the window's "
                "evidence (nothing attests its bytes): its reconciliation stopped before writing the manifest",
            )
        else:
            section.add(FAIL, "manifest", f"manifest missing: no {where.name} beside the object")
        return None
    try:
        manifest = json.loads(where.read_bytes())
    except (ValueError, RecursionError) as err:  # RecursionError: nested deeper than the decoder goes
        section.add(FAIL, "manifest", f"{where.name} is not JSON ({err}): it was cut or altered")
        return None
    if not isinstance(manifest, dict):
        section.add(FAIL, "manifest", f"{where.name} is not a JSON object: it was altered or is no manifest")
        return None
    section.add(OK, "manifest", where.name)
    return manifest


def recorded_window(manifest: dict[str, Any]) -> tuple[int, int] | None:
    window = manifest.get("window")
    if isinstance(window, dict) and type(window.get("oldest")) is int and type(window.get("latest")) is int:
        return window["oldest"], window["latest"]
    return None


#: The manifest's numbers, each an integer (never a bool or a float) in every manifest the provider writes;
#: the first and last date_create are null when no event has one.
_INTEGER_FIELDS = ("events", "bytes")
_SECOND_FIELDS = ("first_date_create", "last_date_create")


def _malformed(manifest: dict[str, Any]) -> str | None:
    """What makes ``manifest`` one the provider did not write (a field missing or of another type), or None."""
    window = manifest.get("window")
    if "window" not in manifest:
        return "it records no window"
    if not isinstance(window, dict) or set(window) != {"oldest", "latest"}:
        return f'its window is {json.dumps(window)[:80]}, not {{"oldest": <integer>, "latest": <integer>}}'
    for key in ("oldest", "latest"):
        if type(window[key]) is not int:
            return f"its window's {key} is {json.dumps(window[key])[:40]}, not an integer"
    for key in _INTEGER_FIELDS + _SECOND_FIELDS:
        if key not in manifest:
            return f"it records no {key}"
        value = manifest[key]
        if type(value) is not int and not (value is None and key in _SECOND_FIELDS):
            allowed = "an integer" if key in _INTEGER_FIELDS else "an integer or null"
            return f"its {key} is {json.dumps(value)[:40]}, not {allowed}"
    return None


def url_name(url: Any) -> str | None:
    return url.rstrip("/").rsplit("/", 1)[-1] if isinstance(url, str) and url else None


def written_at(manifest: dict[str, Any], path: Path) -> bool:
    """Whether ``path`` is the very file the manifest's ``path`` names (not a copy elsewhere): only then does the
    file's inode tell which write it is."""
    url = manifest.get("path")
    if not isinstance(url, str) or not url.startswith("file://"):
        return False
    try:
        return Path(url[len("file://") :]).resolve() == path.resolve()
    except (OSError, ValueError):
        return False


def another_write(manifest: dict[str, Any], path: Path) -> Binding | None:
    """The binding of ``manifest`` to the file at ``path`` when the file is another write than the manifest's (its
    inode is not the one the manifest records, at the place the manifest names); None otherwise, where the size
    and sha256 checks below judge the bytes (see :func:`~airflow_provider_slack_audit.export.binding.judge_binding`).
    """
    if not written_at(manifest, path):
        return None
    found = local_version(path.stat())
    if same_write(manifest.get("object_version"), found) is not False:
        return None
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as stream:
        while chunk := stream.read(READ_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    binding = judge_binding(manifest, FoundObject(size, digest.hexdigest(), found))
    return binding if binding.verdict == ANOTHER_WRITE else None


def check_identity(
    manifest: dict[str, Any],
    path: Path,
    section: Section,
    *,
    of_object: dict[str, Any] | None = None,
    binding: Binding | None = None,
) -> bool:
    """The ``describes`` check: whether ``manifest`` was written for this write of the file at ``path``.

    :param of_object: for a late file, what it must complete: ``{"name", "sha256", "window"}`` of the object.
    :param binding: the verdict of :func:`another_write`, when the file is another write than the manifest's.
    :return: whether the manifest's other fields may be compared with the file.
    """
    if is_replacing_marker(manifest):
        section.add(
            FAIL,
            "describes",
            'a "replacing" marker, not a manifest: an export that replaced the object did not finish (or its '
            "manifest was not written), so no manifest describes the object",
        )
        return False
    written_as = url_name(manifest.get("path"))
    if written_as is not None and written_as != path.name:
        section.add(FAIL, "describes", f"manifest of another write: it describes {manifest['path']}")
        return False
    is_late = manifest.get("kind") == "late"
    if of_object is None and is_late:
        section.add(
            FAIL,
            "describes",
            f"manifest of another write: a late file's manifest (it completes {manifest.get('object')})",
        )
        return False
    if of_object is not None and not is_late:
        section.add(FAIL, "describes", "manifest of another write: an export's manifest, not a late file's")
        return False
    malformed = _malformed(manifest)
    if malformed is not None:
        section.add(FAIL, "describes", f"not a manifest the provider wrote (or a damaged one): {malformed}")
        return False
    window = recorded_window(manifest)
    assert window is not None  # _malformed checked it
    detail = f"{written_as or path.name}, window {describe_window(*window)}"
    if of_object is not None:
        completes = url_name(manifest.get("object"))
        if completes is not None and completes != of_object["name"]:
            section.add(FAIL, "describes", f"manifest of another write: it completes {manifest['object']}")
            return False
        if of_object["window"] is not None and window != of_object["window"]:
            section.add(
                FAIL,
                "describes",
                f"manifest of another write: its window {describe_window(*window)} is not "
                f"the object's {describe_window(*of_object['window'])}",
            )
            return False
        detail += f", completes {completes} of sha256 {manifest.get('object_sha256')}"
    if binding is not None:
        section.add(FAIL, "describes", f"manifest of another write: {binding.detail}")
        return False
    detail += f", finished {manifest.get('finished_at')}, provider {manifest.get('provider_version')}"
    section.add(OK, "describes", detail)
    return True


def check_bytes(scan: Scan, manifest: dict[str, Any] | None, path: Path, section: Section) -> None:
    """``size``, ``sha256`` and ``format``: the stored bytes."""
    for name, field_, measured, unit in (("size", "bytes", scan.size, " bytes"), ("sha256", "sha256", scan.sha256, "")):
        if manifest is None:
            section.add(SKIP, name, f"{measured}{unit} (no manifest to compare)")
        elif field_ not in manifest:
            section.add(FAIL, name, f"the manifest records no {field_!r}; the object is {measured}{unit}")
        elif manifest[field_] != measured:
            section.add(FAIL, name, f"manifest says {manifest[field_]}{unit}, object is {measured}{unit}")
        else:
            section.add(OK, name, f"{measured}{unit}")
    recorded_format = manifest.get("format") if manifest is not None else None
    if scan.parquet is not None or recorded_format == "parquet":
        said = f"; the manifest records format {recorded_format!r}" if recorded_format else ""
        if scan.error is not None:
            section.add(FAIL, "format", f"not a Parquet export of audit events: {scan.error}{said}")
        elif recorded_format not in (None, "parquet") or (manifest or {}).get("compression") is not None:
            section.add(
                FAIL,
                "format",
                f"the bytes are Parquet ({scan.parquet}), the manifest records format {json.dumps(recorded_format)}, "
                f"compression {json.dumps((manifest or {}).get('compression'))}",
            )
        else:
            section.add(OK, "format", f"Parquet ({scan.parquet}; PAR1 magic at the start){said}")
        return
    compression = "gzip" if scan.gzip else "plain"
    recorded = manifest.get("compression", "") if manifest is not None else ""
    how = f"inferred from the bytes: {'the' if scan.gzip else 'no'} gzip magic 1f 8b at the start; " + (
        "the manifest records no compression" if recorded == "" else f"the manifest records {recorded or 'none'}"
    )
    named = path.name.endswith(".gz")
    if named != scan.gzip:
        how += f"; the name {'ends' if named else 'does not end'} in .gz"
    if recorded != "" and recorded != ("gzip" if scan.gzip else None):
        stored = json.dumps(recorded)
        section.add(FAIL, "format", f"the manifest records compression {stored}, the bytes are {compression} ({how})")
    elif scan.error is not None:
        section.add(FAIL, "format", f"not JSON Lines of audit events ({compression}, {how}): {scan.error}")
    else:
        section.add(OK, "format", f"JSON Lines, {compression} ({how})")


def check_events(scan: Scan, manifest: dict[str, Any] | None, section: Section) -> None:
    """``events``, ``ids``, ``unique`` and ``window``: what the lines hold."""
    if scan.error is not None:
        for name in ("events", "ids", "unique", "window"):
            section.add(SKIP, name, "the file is not an export of audit events (see format)")
        return
    if manifest is None:
        section.add(SKIP, "events", f"{scan.events} (no manifest to compare)")
    elif manifest.get("events") != scan.events:
        section.add(FAIL, "events", f"manifest says {manifest.get('events')}, object holds {scan.events} lines")
    else:
        section.add(OK, "events", str(scan.events))
    if scan.unencodable:
        section.add(
            FAIL,
            "ids",
            f"{scan.unencodable} id{'' if scan.unencodable == 1 else 's'} cannot be encoded as UTF-8 (a lone "
            f"surrogate), so no ids digest can be computed: {', '.join(scan.unencodable_named)}",
        )
    elif manifest is None:
        section.add(SKIP, "ids", f"{scan.ids_sha256} (no manifest to compare)")
    elif not manifest.get("ids_sha256"):
        section.add(FAIL, "ids", f"the manifest records no ids_sha256; the object's ids give {scan.ids_sha256}")
    elif manifest["ids_sha256"] != scan.ids_sha256:
        section.add(FAIL, "ids", f"manifest says {manifest['ids_sha256']}, the object's ids give {scan.ids_sha256}")
    else:
        section.add(OK, "ids", f"{scan.ids_sha256} (sha256 of the sorted ids joined by line breaks)")
    if scan.duplicates:
        section.add(
            FAIL,
            "unique",
            f"ids held more than once ({extra_lines(scan.duplicates)}): {', '.join(scan.duplicate_ids)}",
        )
    else:
        section.add(OK, "unique", f"no id twice in {scan.events} events")
    check_window(scan, manifest, section)


def check_window(scan: Scan, manifest: dict[str, Any] | None, section: Section) -> None:
    if scan.not_integer:  # whatever the manifest says: no window holds them
        section.add(
            FAIL,
            "window",
            f"{scan.not_integer} events whose date_create is no integer (Slack sends whole unix seconds): "
            f"{', '.join(scan.not_integer_named)}",
        )
        return
    window = recorded_window(manifest) if manifest is not None else None
    if window is None:  # check_identity fails a manifest without one
        section.add(SKIP, "window", "no manifest to compare")
        return
    undated = f"; {scan.undated} events without a date_create not placed" if scan.undated else ""
    if scan.outside:
        section.add(
            FAIL,
            "window",
            f"{scan.outside} events dated outside {describe_window(*window)}: {', '.join(scan.outside_named)}",
        )
        return
    recorded = (manifest.get("first_date_create"), manifest.get("last_date_create"))  # type: ignore[union-attr]
    if recorded != (scan.first, scan.last):
        section.add(
            FAIL,
            "window",
            f"manifest says the events span {recorded[0]}..{recorded[1]}, the object's span {scan.first}..{scan.last}",
        )
        return
    span = f"; events {iso(scan.first)} .. {iso(scan.last)}" if scan.first is not None else "; no events"
    section.add(OK, "window", f"every date_create within {describe_window(*window)}{span}{undated}")


def verify_file(
    path: Path,
    section: Section,
    every_id: SortedIdsDigest | None,
    *,
    of_object: dict[str, Any] | None = None,
) -> tuple[dict[str, Any] | None, Scan | None]:
    """Every check of one file (the object, or a late file of ``of_object``) against its own manifest.

    Returns the manifest (when it describes this file) and the scan (None for a superseded late file).
    """
    manifest = read_manifest(path, section, late=of_object is not None)
    if manifest is not None and is_stale_marker(manifest):
        section.add(
            NOTE,
            "superseded",
            f"a stale marker: {manifest.get('note')} (the object that holds its events has sha256 "
            f"{manifest.get('superseded_by_sha256')}); not part of the window's evidence, loaders skip it",
        )
        return manifest, None
    if manifest is not None:
        if not check_identity(manifest, path, section, of_object=of_object, binding=another_write(manifest, path)):
            manifest = None
        elif of_object is not None and manifest.get("object_sha256") != of_object["sha256"]:
            section.add(
                NOTE,
                "superseded",
                f"it completes an earlier export of {of_object['name']} (sha256 {manifest.get('object_sha256')}): "
                "that export was replaced, so this file is not part of the window's evidence (loaders skip it)",
            )
            return manifest, None
    else:
        section.add(SKIP, "describes", "no manifest")
    scan = scan_file(path, recorded_window(manifest) if manifest else None, every_id if manifest else None)
    check_bytes(scan, manifest, path, section)
    check_events(scan, manifest, section)
    return manifest, scan
