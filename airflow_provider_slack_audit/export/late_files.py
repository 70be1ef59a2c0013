"""The late files beside an exported object: their names, finding them, removing the stale ones.

A late file ``<stem>.late-<unix seconds>.jsonl[.gz]`` holds the events Slack returned for an exported
window after the export had read it. The first is named for the window's end, each next one for the
second after the newest one's, or after the export manifest's ``late_after`` (the newest name a
re-export saw and may have removed), whichever is later (:func:`next_late_second`). Its manifest
names the object it completes (``object`` and ``object_sha256``), so a late file of an object that
was since exported again is recognised as stale (and removed by that export where it may delete).

Internal to the export and reconcile operators; not an API.

:meta private:
"""

from __future__ import annotations

import json
from collections.abc import Callable, Container
from typing import TYPE_CHECKING, Any

from airflow_provider_slack_audit.export.layout import (
    LATE_MARK,
    MANIFEST_SUFFIX,
    late_name,
    late_name_pattern,
    late_second,
    manifest_path,
    split_name,
)
from airflow_provider_slack_audit.export.manifest import delete_if_allowed
from airflow_provider_slack_audit.export.scan import scan_ids

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    from airflow_provider_slack_audit.export.writer import ExportTarget

__all__ = [  # the naming rules live in export.layout (no Airflow); they stay importable from here
    "LATE_MARK",
    "late_files",
    "late_name",
    "late_second",
    "newest_late_second",
    "next_late_second",
    "remove_stale_late_files",
    "split_name",
]


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
    return late_second(lates[-1].name) if lates else None


def late_files(path: ObjectStoragePath, *, gzip: bool) -> list[ObjectStoragePath]:
    """The late files already written beside the object at ``path``, oldest first."""
    pattern = late_name_pattern(path.name, gzip=gzip)
    found = []
    for sibling in path.parent.iterdir():
        match = pattern.match(sibling.name)
        if match and not sibling.name.endswith(MANIFEST_SUFFIX):
            found.append((int(match.group(1)), sibling.name, sibling))
    return [sibling for _, _, sibling in sorted(found, key=lambda item: item[:2])]


def remove_stale_late_files(
    listed: list[ObjectStoragePath],
    target: ExportTarget,
    sha256: str,
    *,
    gzip_: bool,
    object_ids: Callable[[], Container[str]],
) -> tuple[list[str], list[str]]:
    """Delete, of the late files ``listed`` beside the object ``target``, those that an export replacing it
    supersedes.

    Called after an export replaced the object: it read the window again, so it holds their events, and a
    loader that takes the object and its late files must not get them twice. A late file is superseded when
    its manifest names this object (``object``; ``x.json`` and ``x.jsonl`` share a stem) with another
    ``object_sha256``; a late file without a manifest (its reconciliation was killed before writing it), when
    every one of its events is in the new object (``object_ids()``, built only if there is such a file).
    The late file goes first, then its manifest. Only ``listed`` files are touched: the export records the
    newest of their names in its manifest (``late_after``), so a name removed here is never given to a late
    file again.

    Returns the names removed and those that could not be (a role that may write but not delete): those stay,
    and their manifest still tells loaders and reconciliations that they complete an earlier export.
    """
    removed: list[str] = []
    kept: list[str] = []
    in_object: Container[str] | None = None
    for late in listed:
        manifest_file = manifest_path(late)
        try:
            recorded: Any = json.loads(manifest_file.read_bytes())
        except FileNotFoundError:
            recorded = None
        except (OSError, ValueError):
            continue
        if recorded is None:
            if in_object is None:
                in_object = object_ids()
            if not _all_ids_in(late, target.sibling(late.name).url, gzip_, in_object):
                continue  # it still completes the object (or part of it does): a loader needs it
        elif not _of_an_earlier_export(recorded, target.url, sha256):
            continue
        # the manifest stays (marking the file stale) unless the late file itself is gone
        if delete_if_allowed(late) and (recorded is None or delete_if_allowed(manifest_file)):
            removed.append(late.name)
        else:
            kept.append(late.name)
    return removed, kept


def _of_an_earlier_export(manifest: Any, url: str, sha256: str) -> bool:
    """Whether a late file's ``manifest`` says it completes an earlier export of the object ``url``."""
    if not isinstance(manifest, dict) or manifest.get("object") not in (None, url):
        return False
    return bool(manifest.get("object_sha256")) and manifest["object_sha256"] != sha256


def _all_ids_in(late: ObjectStoragePath, url: str, gzip_: bool, ids: Container[str]) -> bool:
    """Whether every event of the late file at ``late`` has its id in ``ids`` (read as a stream)."""
    outside = 0

    def check(event_id: str) -> None:
        nonlocal outside
        outside += event_id not in ids

    scan_ids(late, url, gzip_=gzip_, on_id=check)
    return outside == 0
