"""The late files beside an exported object: their names, which of them are the object's evidence, writing
their manifests, removing the stale ones.

A late file ``<stem>.late-<unix seconds>.jsonl[.gz]`` holds the events Slack returned for an exported
window after the export had read it. The first is named for the window's end, each next one for the
second after the newest one's (of any late file of the stem, ``.jsonl`` or ``.jsonl.gz``: one sequence of
names per stem), or after the export manifest's ``late_after`` (the newest name a re-export saw and may
have removed), whichever is later (:func:`next_late_second`).

**The rule, one for the reconciliation, ``slack-audit verify`` and a loader** (:func:`late_file_role`):
a window's events are its object plus the late files whose manifest names this object (``object``) and its
sha256 (``object_sha256``). A late file without a manifest (its reconciliation stopped before writing it),
or whose manifest is the :data:`ABANDONED_MARKER`, is part of no window's evidence; the next reconciliation
writes its events again, with a manifest. A late file's manifest is created only where none is (a
conditional create, as the late file itself): a reconciliation that finds a late file without a manifest
first creates the marker in its place, so the run that wrote the file (if it still runs) cannot give it a
manifest afterwards; it compares again instead. So no event ever counts in two late files.

The rule and the names import only the standard library (``slack-audit verify`` runs without Airflow);
what reads or writes the store imports the rest when called.

Internal to the export and reconcile operators and to ``slack-audit verify``; not an API.

:meta private:
"""

from __future__ import annotations

import json
from collections.abc import Callable, Container
from typing import TYPE_CHECKING, Any

from airflow_provider_slack_audit.export.layout import (
    ABANDONED_MARKER,
    LATE_MARK,
    MANIFEST_SUFFIX,
    is_marker,
    late_name,
    late_name_pattern,
    late_second,
    manifest_path,
    split_name,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    from airflow_provider_slack_audit.export.writer import ExportTarget

__all__ = [  # the naming rules live in export.layout (no Airflow); they stay importable from here
    "ABANDONED_MARKER",
    "EARLIER_EXPORT",
    "EVIDENCE",
    "LATE_MARK",
    "MALFORMED",
    "OTHER_OBJECT",
    "UNMANIFESTED",
    "create_manifest",
    "late_file_role",
    "late_files",
    "late_name",
    "late_second",
    "newest_late_second",
    "next_late_second",
    "read_late_manifest",
    "remove_stale_late_files",
    "split_name",
]

#: The roles of a late file for an object (see :func:`late_file_role`).
EVIDENCE = "evidence"
UNMANIFESTED = "no manifest"
OTHER_OBJECT = "of another object"
EARLIER_EXPORT = "of an earlier export"
MALFORMED = "not a late file's manifest"


def _url_name(url: Any) -> str | None:
    """The last part of a URL (an object's name), or None when ``url`` is not a non-empty string."""
    return url.rstrip("/").rsplit("/", 1)[-1] if isinstance(url, str) and url else None


def late_file_role(manifest: Any, object_name: str, object_sha256: str | None) -> str:
    """What a late file is to the object ``object_name`` of sha256 ``object_sha256``, by its manifest.

    The one rule of which files hold a window's events: the object, plus its late files whose role is
    :data:`EVIDENCE`. The reconciliation indexes those (and writes again the events of the others), ``slack-audit
    verify`` checks those, and ``docs/evidence.rst``'s loader script takes those.

    :param manifest: the late file's manifest as JSON (None when it has none).
    :param object_name: the object's file name (``h.jsonl`` and ``h.jsonl.gz`` share a stem, and late file
        names, but not their late files).
    :param object_sha256: the sha256 of the object's bytes (None: the object has no sha256 known).
    :return: :data:`EVIDENCE` (its manifest names this object and sha256), :data:`UNMANIFESTED` (no manifest,
        the :data:`ABANDONED_MARKER`, or the ``replacing`` marker of an earlier release), :data:`OTHER_OBJECT`
        (it completes another object of the same stem), :data:`EARLIER_EXPORT` (it completes an earlier export of this
        object, since replaced) or :data:`MALFORMED` (what is at its manifest's place is no late file's manifest).
    """
    if manifest is None or is_marker(manifest):
        return UNMANIFESTED
    if not isinstance(manifest, dict) or manifest.get("kind") != "late":
        return MALFORMED
    completes = _url_name(manifest.get("object"))
    if completes is not None and completes != object_name:
        return OTHER_OBJECT
    recorded = manifest.get("object_sha256")
    if not isinstance(recorded, str) or not recorded:
        return MALFORMED
    return EVIDENCE if recorded == object_sha256 else EARLIER_EXPORT


def next_late_second(newest: int | None, window_latest: int) -> int:
    """The second that names the next late file of an object: one after ``newest`` (the newest late file's
    second, or the export manifest's ``late_after`` when later), or the window's end (``window_latest + 1``)
    for the first.

    It depends only on what is already there, never on the clock: two reconciliations that compared with
    the same late files pick the same name, and since a late file is only ever created where none is, one
    of them finds it taken and compares again (see ``SlackAuditLogsReconcileOperator``). So every late
    file was written by a run that had read all the late files named before it.
    """
    first = window_latest + 1
    return first if newest is None else max(first, newest + 1)


def newest_late_second(lates: list[ObjectStoragePath]) -> int | None:
    """The second of the newest of ``lates`` (as :func:`late_files` lists them, oldest first); None if none."""
    return max(late_second(late.name) for late in lates) if lates else None


def late_files(path: ObjectStoragePath, *, gzip: bool | None = None) -> list[ObjectStoragePath]:
    """The late files already written beside the object at ``path``, oldest first.

    :param gzip: None (the default) for every late file of the object's stem, ``.jsonl`` or ``.jsonl.gz``
        (their names are one sequence); True or False for those with that name only.
    """
    pattern = late_name_pattern(path.name, gzip=gzip)
    found = []
    for name in _sibling_names(path):
        match = pattern.match(name)
        if match and not name.endswith(MANIFEST_SUFFIX):
            found.append((int(match.group(1)), name))
    return [path.parent / name for _, name in sorted(found)]


def _sibling_names(path: ObjectStoragePath) -> list[str]:
    """The names of what is in the folder of ``path`` (one listing of the store, as ``iterdir`` makes).

    Names, not path objects: a folder holds every window's object and manifest (a backfill of a year of hourly
    windows, 17,520 files), and building a path object for each of them cost more than the rest of an export
    of a small window; only the late files get one.
    """
    parent = path.parent
    names = []
    for entry in parent.fs.listdir(parent.path, detail=False):
        full = entry.get("name", "") if isinstance(entry, dict) else entry
        names.append(full.rstrip("/").rpartition("/")[2])
    return names


def read_late_manifest(late: ObjectStoragePath) -> Any:
    """The JSON at the manifest's place of the late file ``late`` (None when there is none).

    Raises ``ValueError`` when it is not JSON.
    """
    try:
        return json.loads(manifest_path(late).read_bytes())
    except FileNotFoundError:
        return None


def create_manifest(late: ExportTarget, manifest: dict[str, Any]) -> None:
    """Create ``manifest`` at the manifest's place of the late file ``late``, only where nothing is there.

    The same conditional create as the late file's (and an export's with ``overwrite=False``: the export's
    sink), so of a reconciliation that writes a late file's manifest and one that marks that late file
    abandoned (:data:`ABANDONED_MARKER`), exactly one succeeds. Raises
    :class:`~airflow_provider_slack_audit.export.storage.TargetExistsError` when something is there already.
    """
    from airflow_provider_slack_audit.export.writer import open_sink

    where = late.sibling(late.name + MANIFEST_SUFFIX)
    sink = open_sink(where, overwrite=False)
    sink.open()
    try:
        sink.write(json.dumps(manifest, indent=2).encode() + b"\n")
        sink.commit()
    except BaseException:
        sink.abort()
        sink.close()
        raise


def remove_stale_late_files(
    listed: list[ObjectStoragePath],
    target: ExportTarget,
    sha256: str,
    *,
    gzip_: bool | None = None,
    object_ids: Callable[[], Container[str]],
) -> tuple[list[str], list[str]]:
    """Delete, of the late files ``listed`` beside the object ``target``, those that an export replacing it
    supersedes.

    Called after an export replaced the object: it read the window again, so it holds their events, and a
    loader that takes the object and its late files must not get them twice. A late file is superseded when
    its manifest names this object (``object``; ``x.json`` and ``x.jsonl`` share a stem) with another
    ``object_sha256`` and every one of its events is in the new object (Slack may no longer return some: such a
    late file is kept, the only copy of them, and still names the earlier export); a late file without a
    manifest (its reconciliation was killed before writing it; part of no window's evidence), when every one of
    its events is in the new object (``object_ids()``, built once, when the first such file is met), once
    :data:`ABANDONED_MARKER` was created in its manifest's place (so that a reconciliation still about to write
    that manifest cannot leave a manifest without its file); one marked :data:`ABANDONED_MARKER`, always. The
    late file goes first, then its
    manifest. Only ``listed`` files are touched: the export records the newest of their names in its manifest
    (``late_after``), so a name removed here is never given to a late file again.

    :param gzip_: unused (a late file's compression is read from its bytes); kept for callers.
    :return: the names removed and those that could not be (a role that may write but not delete): those stay,
        and their manifest still tells loaders and reconciliations that they complete an earlier export.
    """
    from airflow_provider_slack_audit.export.manifest import delete_if_allowed
    from airflow_provider_slack_audit.export.storage import TargetExistsError

    removed: list[str] = []
    kept: list[str] = []
    in_object: Container[str] | None = None
    for late in listed:
        manifest_file = manifest_path(late)
        try:
            recorded = read_late_manifest(late)
        except (OSError, ValueError):
            continue
        role = late_file_role(recorded, target.name, sha256)
        if recorded is None:
            if in_object is None:
                in_object = object_ids()
            if not _all_ids_in(late, target.sibling(late.name).url, in_object):
                continue  # its events are not all in the object: keep it for whoever looks into them
            try:  # a reconciliation may be about to write its manifest: it may not, once this marker is there
                create_manifest(target.sibling(late.name), ABANDONED_MARKER)
            except TargetExistsError:
                continue  # its manifest came first: judged by the next export, never removed under it
            recorded = ABANDONED_MARKER
        elif role not in (UNMANIFESTED, EARLIER_EXPORT):
            continue
        elif role == EARLIER_EXPORT:
            # the re-export read Slack again, yet Slack may no longer return some of its events (vanished): the
            # late file may be the only copy of those, so it goes only if the new object holds every one of them
            if in_object is None:
                in_object = object_ids()
            if not _all_ids_in(late, target.sibling(late.name).url, in_object):
                continue  # kept, still naming the earlier export's sha256: part of no window's evidence
        # the manifest (or marker) stays, marking the file no evidence, unless the late file itself is gone
        if delete_if_allowed(late) and delete_if_allowed(manifest_file):
            removed.append(late.name)
        else:
            kept.append(late.name)
    return removed, kept


def _all_ids_in(late: ObjectStoragePath, url: str, ids: Container[str]) -> bool:
    """Whether every event of the late file at ``late`` has its id in ``ids`` (read as a stream)."""
    from airflow_provider_slack_audit.export.scan import scan_object

    outside = 0

    def check(event_id: str) -> None:
        nonlocal outside
        outside += event_id not in ids

    scan_object(late, url, None, on_id=check)
    return outside == 0
