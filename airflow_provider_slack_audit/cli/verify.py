"""``slack-audit verify``: check an exported object, and the late files beside it, against their manifests.

Reads local files only and imports only the standard library and the package's Airflow-free parts
(:mod:`~airflow_provider_slack_audit.export.ids` for the ids digest, the very code the export uses, and
:mod:`~airflow_provider_slack_audit.export.layout` for the names beside an object), so an auditor can run
it where Airflow is not installed. Each check is one line (see :meth:`Check.line`); ``docs/verify.rst``
describes them.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from hashlib import sha256
from pathlib import Path
from typing import Any, BinaryIO

from airflow_provider_slack_audit.export.ids import SortedIdsDigest
from airflow_provider_slack_audit.export.layout import (
    MANIFEST_SUFFIX,
    is_replacing_marker,
    late_name_pattern,
    late_second,
    manifest_path,
)

#: Bytes read at a time.
READ_CHUNK = 1 << 20
#: What every gzip member starts with (RFC 1952).
GZIP_MAGIC = b"\x1f\x8b"
#: Ids handed to the digests at a time.
ID_BATCH = 1000
#: Events named in a failed window check (all are counted).
MAX_NAMED = 5

OK, FAIL, SKIP, NOTE = "ok", "FAIL", "skip", "note"

#: What a line of output must not hold as it is: control characters (a line break in a manifest's field
#: would start a line of its own) and lone surrogates (they cannot be written as UTF-8).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def printable(text: str) -> str:
    """``text`` with its control characters and lone surrogates written as Python escapes (``\\n``, ``\\ud800``)."""
    return _UNPRINTABLE.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


@dataclass(frozen=True)
class Check:
    """One check's outcome: ``ok`` and ``FAIL`` judge; ``skip`` (could not be judged, see ``FAIL`` above it)
    and ``note`` (for information) do not change the exit status."""

    status: str
    name: str
    detail: str

    def line(self) -> str:
        return printable(f"{self.status:<4} {self.name:<9} {self.detail}")


@dataclass
class Section:
    """The checks of one file (``object`` or ``late``), or of the object and its late files (``together``)."""

    kind: str
    title: str
    label: str  # how the summary names it
    checks: list[Check] = field(default_factory=list)

    def add(self, status: str, name: str, detail: str) -> None:
        self.checks.append(Check(status, name, detail))


@dataclass
class Report:
    """Everything ``verify`` found, in the order it is printed."""

    sections: list[Section] = field(default_factory=list)

    @property
    def failed(self) -> list[tuple[Section, Check]]:
        return [(s, c) for s in self.sections for c in s.checks if c.status == FAIL]

    @property
    def judged(self) -> int:
        return sum(c.status in (OK, FAIL) for s in self.sections for c in s.checks)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def lines(self) -> Iterator[str]:
        for section in self.sections:
            yield printable(f"{section.kind:<9} {section.title}")
            for check in section.checks:
                yield check.line()
        failed = self.failed
        if not failed:
            yield f"{'passed':<9} all {self.judged} checks hold"
            return
        by_file: dict[str, list[str]] = {}
        for section, check in failed:
            by_file.setdefault(section.label, []).append(check.name)
        named = "; ".join(f"{', '.join(names)} ({label})" for label, names in by_file.items())
        yield printable(f"{'failed':<9} {len(failed)} of {self.judged} checks: {named}")


def iso(second: int) -> str:
    """``second`` as UTC time, or as the number itself where it lies beyond the times ``datetime`` can show."""
    try:
        return datetime.fromtimestamp(second, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError, OSError):  # beyond time_t, or a year before 1 or after 9999
        return str(second)


def extra_lines(count: int) -> str:
    return f"{count} extra line{'' if count == 1 else 's'}"


def describe_window(oldest: int, latest: int) -> str:
    return f"[{oldest}, {latest}] ({iso(oldest)} .. {iso(latest)} inclusive)"


# --- reading a file ---------------------------------------------------------------------------------------


class _HashingReader:
    """A binary file read through: every byte that passes is hashed and counted (the stored bytes)."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.digest = sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data

    def drain(self) -> None:
        while self.read(READ_CHUNK):
            pass


@dataclass
class Scan:
    """What a file holds, read once: its bytes' size and sha256, and its events' count, ids and seconds."""

    size: int = 0
    sha256: str = ""
    gzip: bool = False
    #: Why the file is not JSON Lines of audit events (gzip or plain); None when it is.
    error: str | None = None
    events: int = 0
    ids_sha256: str | None = None
    duplicates: int = 0
    duplicate_ids: list[str] = field(default_factory=list)
    first: int | None = None
    last: int | None = None
    #: Events without a date_create (absent or null): not placed in the window.
    undated: int = 0
    #: Events whose date_create is there but no integer (a float, a bool, a string...): Slack sends integers.
    not_integer: int = 0
    not_integer_named: list[str] = field(default_factory=list)
    outside: int = 0
    outside_named: list[str] = field(default_factory=list)
    #: Lines whose id cannot be encoded as UTF-8 (a lone surrogate): left out of the ids digests.
    unencodable: int = 0
    unencodable_named: list[str] = field(default_factory=list)


def _lines(stream: Any, scan: Scan) -> Iterator[bytes]:
    """The lines of ``stream`` without their line break; a last line without one is an error (a cut file), and
    so is a gzip stream that cannot be decompressed (only the reading is guarded: an error in what is done
    with a line is not taken for a damaged stream)."""
    rest = b""
    while True:
        try:
            chunk = stream.read(READ_CHUNK)
        except (OSError, EOFError, zlib.error) as err:  # gzip: a cut or altered stream
            if not scan.gzip:
                raise  # a plain file that cannot be read: no finding about its bytes
            scan.error = f"the gzip stream is cut or altered after {scan.events} events ({err})"
            return
        if not chunk:
            break
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        yield from lines
    if rest:
        scan.error = f"line {scan.events + 1} does not end with a line break: the file was cut or appended to"


def _event_id(line: bytes, number: int) -> tuple[str | None, Any, str | None]:
    """``(id, date_create, None)`` of one line, or ``(None, None, why it is not an audit event)``."""
    if not line:
        return None, None, f"line {number} is empty"
    try:
        event = json.loads(line)
    except (ValueError, RecursionError) as err:  # RecursionError: nested deeper than the decoder goes
        return None, None, f"line {number} is not JSON ({err})"
    if not isinstance(event, dict):
        return None, None, f"line {number} is not a JSON object"
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id or "\n" in event_id:
        return None, None, f"line {number} has no id (a non-empty string without line breaks)"
    return event_id, event.get("date_create", None), None


def _encodable(event_id: str) -> bool:
    """Whether ``event_id`` can be written as UTF-8 (a lone surrogate, such as ``"\\ud800"`` in JSON, cannot):
    the ids digest hashes the ids' UTF-8 bytes."""
    try:
        event_id.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def scan_file(path: Path, window: tuple[int, int] | None, every_id: SortedIdsDigest | None) -> Scan:
    """Read ``path`` once: hash its bytes, decompress them if they start as gzip does, and go through its lines.

    :param window: ``(oldest, latest)``: count the events dated outside it.
    :param every_id: a digest that also gets every id (the object's and its late files' together).
    """
    scan = Scan()
    digest = SortedIdsDigest(find_duplicates=True)
    batch: list[str] = []

    def flush() -> None:
        digest.update(batch)
        if every_id is not None:
            every_id.update(batch)
        batch.clear()

    try:
        with path.open("rb") as raw:
            scan.gzip = raw.read(len(GZIP_MAGIC)) == GZIP_MAGIC
            raw.seek(0)
            hashing = _HashingReader(raw)
            stream: Any = gzip.GzipFile(fileobj=hashing, mode="rb") if scan.gzip else hashing
            for line in _lines(stream, scan):
                event_id, second, scan.error = _event_id(line, scan.events + 1)
                if scan.error:
                    break
                scan.events += 1
                if _encodable(event_id):  # type: ignore[arg-type]
                    batch.append(event_id)  # type: ignore[arg-type]
                    if len(batch) >= ID_BATCH:
                        flush()
                else:
                    scan.unencodable += 1
                    if len(scan.unencodable_named) < MAX_NAMED:
                        scan.unencodable_named.append(f"line {scan.events} ({event_id!a})")
                _place(scan, event_id, second, window)  # type: ignore[arg-type]
            hashing.drain()
        scan.size, scan.sha256 = hashing.size, hashing.digest.hexdigest()
        if scan.error is None:
            flush()
            scan.ids_sha256 = digest.hexdigest()
            scan.duplicates, scan.duplicate_ids = digest.duplicates, digest.duplicate_ids
    finally:
        digest.close()
    return scan


def _place(scan: Scan, event_id: str, second: Any, window: tuple[int, int] | None) -> None:
    if second is None:
        scan.undated += 1
        return
    if type(second) is not int:
        scan.not_integer += 1
        if len(scan.not_integer_named) < MAX_NAMED:
            shown = json.dumps(second)[:40] if isinstance(second, (bool, float, str)) else type(second).__name__
            scan.not_integer_named.append(f"{event_id} ({shown})")
        return
    scan.first = second if scan.first is None else min(scan.first, second)
    scan.last = second if scan.last is None else max(scan.last, second)
    if window is not None and not window[0] <= second <= window[1]:
        scan.outside += 1
        if len(scan.outside_named) < MAX_NAMED:
            scan.outside_named.append(f"{event_id} ({second}, {iso(second)})")


# --- the checks ----------------------------------------------------------------------------------------------


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


def _recorded_window(manifest: dict[str, Any]) -> tuple[int, int] | None:
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


def _url_name(url: Any) -> str | None:
    return url.rstrip("/").rsplit("/", 1)[-1] if isinstance(url, str) and url else None


def check_identity(
    manifest: dict[str, Any], path: Path, section: Section, *, of_object: dict[str, Any] | None = None
) -> bool:
    """The ``describes`` check: whether ``manifest`` was written for this write of the file at ``path``.

    :param of_object: for a late file, what it must complete: ``{"name", "sha256", "window"}`` of the object.
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
    written_as = _url_name(manifest.get("path"))
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
    window = _recorded_window(manifest)
    assert window is not None  # _malformed checked it
    detail = f"{written_as or path.name}, window {describe_window(*window)}"
    if of_object is not None:
        completes = _url_name(manifest.get("object"))
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
    compression = "gzip" if scan.gzip else "plain"
    how = (
        f"inferred from the bytes: {'the' if scan.gzip else 'no'} gzip magic 1f 8b at the start; "
        "the manifest records no compression"
    )
    named = path.name.endswith(".gz")
    if named != scan.gzip:
        how += f"; the name {'ends' if named else 'does not end'} in .gz"
    if scan.error is not None:
        section.add(FAIL, "format", f"not JSON Lines of audit events ({compression}, {how}): {scan.error}")
    else:
        section.add(OK, "format", f"JSON Lines, {compression} ({how})")


def check_events(scan: Scan, manifest: dict[str, Any] | None, section: Section) -> None:
    """``events``, ``ids``, ``unique`` and ``window``: what the lines hold."""
    if scan.error is not None:
        for name in ("events", "ids", "unique", "window"):
            section.add(SKIP, name, "the file is not JSON Lines of audit events (see format)")
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
    window = _recorded_window(manifest) if manifest is not None else None
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
    if manifest is not None:
        if not check_identity(manifest, path, section, of_object=of_object):
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
    scan = scan_file(path, _recorded_window(manifest) if manifest else None, every_id if manifest else None)
    check_bytes(scan, manifest, path, section)
    check_events(scan, manifest, section)
    return manifest, scan


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


def check_missing_late(late: Path, section: Section, of_object: dict[str, Any]) -> None:
    """A late file's manifest without its late file: the late file was deleted, unless the manifest shows it
    was superseded (an export that replaced the object removes such a late file first, then its manifest)."""
    where = manifest_path(late)
    try:
        manifest: Any = json.loads(where.read_bytes())
    except (ValueError, RecursionError):
        manifest = None
    if (
        isinstance(manifest, dict)
        and manifest.get("kind") == "late"
        and _url_name(manifest.get("object")) in (None, of_object["name"])
        and isinstance(manifest.get("object_sha256"), str)
        and manifest["object_sha256"] != of_object["sha256"]
    ):
        section.add(
            NOTE,
            "superseded",
            f"{where.name} is here without its late file, and completes an earlier export of {of_object['name']} "
            f"(sha256 {manifest['object_sha256']}): the export that replaced the object removes such a late file "
            "(the file first, then its manifest), so no evidence is missing",
        )
        return
    section.add(
        FAIL,
        "file",
        f"late file missing: {where.name} is here, {late.name} is not. A reconciliation writes the late file "
        "before its manifest, so the late file was deleted (or moved) afterwards: the events it held are "
        "missing from the window's evidence",
    )


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
            "window": _recorded_window(manifest) if manifest else None,
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
