"""The manifest beside an export: what the object holds and the evidence that it is whole and unaltered.

``<path>.manifest.json`` is written after its object is in place, so its presence means the export
completed. It records the window and filters, the counts, the sha256 of the stored bytes and the
sha256 of the sorted event ids (``ids_sha256``), the API usage, and when the export ran.

Internal to the export and reconcile operators; not an API.

:meta private:
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_slack_audit import __version__
from airflow_provider_slack_audit.export.ids import SortedIdsDigest
from airflow_provider_slack_audit.export.layout import (
    MANIFEST_SUFFIX,
    REPLACING_MARKER,
    is_replacing_marker,
    manifest_path,
)
from airflow_provider_slack_audit.export.storage import LocalFileSink
from airflow_provider_slack_audit.export.stream import READ_CHUNK

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    from airflow_provider_slack_audit.arguments.window import AuditWindow
    from airflow_provider_slack_audit.client import LogsQuery, SlackAuditLogsClient
    from airflow_provider_slack_audit.export.writer import ExportTarget, ExportWriter

__all__ = [  # the names of the manifest's layout (export.layout) and READ_CHUNK (export.stream) stay importable here
    "MANIFEST_SUFFIX",
    "READ_CHUNK",
    "REPLACING_MARKER",
    "ExportTally",
    "build_manifest",
    "delete_if_allowed",
    "filters_record",
    "manifest_path",
    "put_atomically",
    "read_manifest",
    "remove_manifest",
    "sha256_of",
    "utc_now",
    "write_manifest",
    "write_manifest_of",
]


def utc_now() -> str:
    """Now, as ISO-8601 UTC to the second (``2024-03-01T00:02:00Z``)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def filters_record(filters: LogsQuery) -> dict[str, Any]:
    """The query's filters as the manifest records them (the page size changes no result: left out)."""
    return {
        "action": list(filters.action) if filters.action else None,
        "actor": filters.actor,
        "entity": filters.entity,
    }


@dataclass
class ExportTally:
    """What a manifest says about the events written: counts, first and last second, the ids' digest.

    Fed with each page as it is written; memory stays bounded (see :class:`SortedIdsDigest`).
    """

    events: int = 0
    pages: int = 0
    first_date_create: int | None = None
    last_date_create: int | None = None
    started_at: str = field(default_factory=utc_now)
    ids: SortedIdsDigest = field(default_factory=SortedIdsDigest)

    def add(self, ids: list[Any], seconds: list[Any]) -> None:
        """Count one page of events given as their ids and ``date_create`` values (same order)."""
        self.pages += 1
        self.ids.update(ids)
        created = seconds if set(map(type, seconds)) == {int} else [s for s in seconds if type(s) is int]
        if created:
            low, high = min(created), max(created)
            if self.first_date_create is None or low < self.first_date_create:
                self.first_date_create = low
            if self.last_date_create is None or high > self.last_date_create:
                self.last_date_create = high
        self.events += len(ids)

    def close(self) -> None:
        """Free the id digest's temporary files (an export that failed)."""
        self.ids.close()


def build_manifest(
    *,
    url: str,
    window: AuditWindow,
    filters: LogsQuery,
    tally: ExportTally,
    ids_sha256: str,
    size: int,
    sha256: str,
    client: SlackAuditLogsClient | None,
    **extra: Any,
) -> dict[str, Any]:
    """The manifest of a written object, fields in a fixed order; ``extra`` adds fields at the end."""
    stats = client.stats if client is not None else None
    return {
        "path": url,
        "window": {"oldest": window.oldest, "latest": window.latest},
        "filters": filters_record(filters),
        "events": tally.events,
        "bytes": size,
        "sha256": sha256,
        "ids_sha256": ids_sha256,
        "first_date_create": tally.first_date_create,
        "last_date_create": tally.last_date_create,
        "pages": tally.pages,
        "calls": stats.calls if stats else None,
        "retries": stats.retries if stats else None,
        "rate_limited": stats.rate_limited if stats else None,
        "started_at": tally.started_at,
        "finished_at": utc_now(),
        "provider_version": __version__,
        **extra,
    }


def write_manifest_of(
    target: ExportTarget,
    writer: ExportWriter,
    *,
    window: AuditWindow,
    filters: LogsQuery,
    tally: ExportTally,
    ids_sha256: str | None,
    client: SlackAuditLogsClient | None,
    **extra: Any,
) -> str:
    """Write the manifest of the object ``writer`` committed at ``target`` (an export's or a late file's).

    :param tally: what was counted of the events written.
    :param ids_sha256: the digest of the sorted ids (taken from ``tally`` before it was closed).
    :param client: the client that walked the window (its calls, retries and 429s are recorded).
    :param extra: fields added at the end (a late file names the object it completes).
    :return: the manifest's URL.
    """
    manifest = build_manifest(
        url=target.url,
        window=window,
        filters=filters,
        tally=tally,
        ids_sha256=ids_sha256 or "",
        size=writer.bytes,
        sha256=writer.sha256,
        client=client,
        **extra,
    )
    write_manifest(target.path, manifest, local=target.is_local)
    return target.url + MANIFEST_SUFFIX


def put_atomically(path: ObjectStoragePath, data: bytes, *, local: bool) -> None:
    """Write a small object so that it appears whole or not at all.

    Locally: as an export is (:class:`LocalFileSink`): a temporary sibling, synced, renamed into place.
    On object stores: one upload (a single PUT for an object this small), which becomes visible only
    when complete.
    """
    if not local:
        path.write_bytes(data)
        return
    sink = LocalFileSink(path.path, f"file://{path.path}", overwrite=True)
    sink.open()
    try:
        sink.write(data)
        sink.commit()
    finally:
        sink.close()  # after a failure: the temporary goes (after the commit there is none left)


def write_manifest(path: ObjectStoragePath, manifest: dict[str, Any], *, local: bool) -> ObjectStoragePath:
    """Write ``manifest`` beside the object at ``path``; returns where it went."""
    where = manifest_path(path)
    put_atomically(where, json.dumps(manifest, indent=2).encode() + b"\n", local=local)
    return where


def remove_manifest(path: ObjectStoragePath, *, local: bool) -> bool:
    """Take the manifest of the object at ``path`` away, if there is one (before the object is replaced).

    Deleted where the store allows it; where it refuses (s3fs reports no error for a refused delete, so
    this checks), overwritten with :data:`REPLACING_MARKER`, which :func:`read_manifest` reads as no manifest.
    """
    where = manifest_path(path)
    if not where.exists():
        return False
    if not delete_if_allowed(where):
        put_atomically(where, json.dumps(REPLACING_MARKER).encode() + b"\n", local=local)
    return True


def delete_if_allowed(path: ObjectStoragePath) -> bool:
    """Delete the object at ``path``; whether it is gone.

    False where the store refuses the delete (a role that may write but not delete). s3fs reports no
    error for a refused delete, so this checks that the object is gone rather than trusting the call.
    """
    with contextlib.suppress(PermissionError, FileNotFoundError):
        path.unlink()
    return not path.exists()


def read_manifest(path: ObjectStoragePath, url: str) -> dict[str, Any] | None:
    """The manifest beside the object at ``path``, or None when there is none; a broken one fails clearly."""
    where = manifest_path(path)
    if not where.exists():
        return None
    try:
        manifest = json.loads(where.read_bytes())
    except ValueError as err:
        raise AirflowFailException(
            f"The manifest {url}{MANIFEST_SUFFIX} is not JSON ({err}): it was altered or cut. Export the window "
            "again to get a sound object and manifest."
        ) from None
    if is_replacing_marker(manifest):
        return None  # an export that replaced the object did not finish: the object has no manifest
    missing = {"window", "filters", "events", "sha256"} - set(manifest) if isinstance(manifest, dict) else {"all"}
    if missing:
        raise AirflowFailException(
            f"The manifest {url}{MANIFEST_SUFFIX} lacks {sorted(missing)}: it was not written by this provider "
            "or was altered. Export the window again."
        )
    return manifest


def sha256_of(path: ObjectStoragePath) -> tuple[str, int]:
    """The sha256 and size of the stored object, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while chunk := stream.read(READ_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
