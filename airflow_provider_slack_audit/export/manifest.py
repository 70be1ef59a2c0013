"""The manifest beside an export: what the object holds and the evidence that it is whole and unaltered.

``<path>.manifest.json`` is written after its object is in place, so its presence means the export
completed. It records the window and filters, the counts, the format and compression, the sha256 of the
stored bytes and of the sorted event ids (``ids_sha256``), what the store says identifies the write it
describes (``object_version``), the API usage, and when the export ran.

A manifest is bound to its object: it is written only while the object at its path is still the write it
describes (:func:`write_manifest_of` asks the sink; another run's object gets no manifest of ours), and an
earlier manifest is never removed before that, so a run that does not commit leaves the earlier object and its
manifest as they were. Readers compare a manifest with the object they find through one function,
:func:`~airflow_provider_slack_audit.export.binding.judge_binding` (exported here).

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
from airflow_provider_slack_audit.export.binding import (
    ALTERED,
    ANOTHER_WRITE,
    DESCRIBES,
    MANIFEST_VERSION,
    UNDETERMINED,
    Binding,
    FoundObject,
    judge_binding,
)
from airflow_provider_slack_audit.export.ids import SortedIdsDigest
from airflow_provider_slack_audit.export.layout import (
    MANIFEST_SUFFIX,
    REPLACING_MARKER,
    is_marker,
    manifest_path,
)
from airflow_provider_slack_audit.export.storage import LocalFileSink
from airflow_provider_slack_audit.export.stream import READ_CHUNK

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    from airflow_provider_slack_audit.arguments.window import AuditWindow
    from airflow_provider_slack_audit.client import LogsQuery, SlackAuditLogsClient
    from airflow_provider_slack_audit.export.storage import StorageSink
    from airflow_provider_slack_audit.export.writer import ExportTarget, ExportWriter

__all__ = [  # the names of the manifest's layout (export.layout), its binding (export.binding) and READ_CHUNK
    "ALTERED",  # (export.stream) stay importable here
    "ANOTHER_WRITE",
    "DESCRIBES",
    "MANIFEST_SUFFIX",
    "MANIFEST_VERSION",
    "READ_CHUNK",
    "REPLACING_MARKER",
    "UNDETERMINED",
    "Binding",
    "ExportTally",
    "FoundObject",
    "ObjectReplacedError",
    "WrittenEvents",
    "build_manifest",
    "delete_if_allowed",
    "filters_record",
    "judge_binding",
    "manifest_path",
    "put_atomically",
    "read_manifest",
    "remove_earlier_manifest",
    "sha256_of",
    "utc_now",
    "write_manifest",
    "write_manifest_of",
]

#: ``compression`` of :func:`write_manifest_of` when not given: the writer's (gzip or none).
_FROM_WRITER: Any = object()


class ObjectReplacedError(AirflowFailException):
    """Another run replaced the object this run committed before its manifest was written: no manifest of ours."""


def replaced_message(url: str, found: dict[str, Any] | None) -> str:
    """What to say when the object at ``url`` is no longer this run's write when its manifest is due."""
    now = "no object is there now" if found is None else f"the store now names another write ({found})"
    return (
        f"Another run replaced {url} after this run committed it ({now}), so this run wrote no manifest: a "
        "manifest is written only while its object is there, and the object at the path is the other run's (its "
        "manifest is that run's to write). Nothing of this run remains to describe; the window is exported by "
        "the other run. Do not run two exports of one path at once (overwrite=False makes the second fail early)."
    )


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


@dataclass(frozen=True)
class WrittenEvents:
    """What a manifest records of the walk that wrote an object (an export or a late file), whatever the object.

    :param window: the window read.
    :param filters: the query that read it (the manifest records its filters).
    :param tally: what was counted of the events written.
    :param ids_sha256: the digest of the sorted ids (taken from ``tally`` before it was closed).
    :param client: the client that walked the window (its calls, retries and 429s are recorded); None if none.
    """

    window: AuditWindow
    filters: LogsQuery
    tally: ExportTally
    ids_sha256: str | None
    client: SlackAuditLogsClient | None


def build_manifest(
    *,
    url: str,
    writer: ExportWriter,
    written: WrittenEvents,
    format: str = "jsonl",
    compression: str | None = None,
    object_version: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The manifest of the object ``writer`` wrote at ``url``, fields in a fixed order; ``extra`` adds fields at
    the end (a late file names the object it completes).

    :param writer: the writer that wrote the object: its size and sha256 are the manifest's.
    :param written: the window, filters, counts and client of the walk that wrote it.
    :param format: the object's format: ``"jsonl"`` (JSON Lines of the events as Slack sent them) or
        ``"parquet"``.
    :param compression: the compression of the stored bytes as a whole: ``"gzip"`` or None.
    :param object_version: what the store said identifies the write described (see
        :class:`~airflow_provider_slack_audit.export.storage.StoredVersion`); None when it tells nothing.
    """
    if not isinstance(format, str) or not format:
        raise ValueError(f"format={format!r}: name the object's format, e.g. 'jsonl' or 'parquet'.")
    if compression is not None and not isinstance(compression, str):
        raise ValueError(f"compression={compression!r}: give 'gzip' or None.")
    window, tally, client = written.window, written.tally, written.client
    stats = client.stats if client is not None else None
    return {
        "manifest_version": MANIFEST_VERSION,
        "path": url,
        "window": {"oldest": window.oldest, "latest": window.latest},
        "filters": filters_record(written.filters),
        "events": tally.events,
        "format": format,
        "compression": compression,
        "bytes": writer.bytes,
        "sha256": writer.sha256,
        "object_version": object_version,
        "ids_sha256": written.ids_sha256 or "",
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
    written: WrittenEvents,
    *,
    format: str = "jsonl",
    compression: Any = _FROM_WRITER,
    **extra: Any,
) -> str:
    """Write the manifest of the object ``writer`` committed at ``target`` (an export), only while that object is
    still the one at ``target``.

    The store is asked right before the manifest is written (:meth:`StorageSink.stored_version`): when another
    run replaced the object since the commit, nothing is written and :class:`ObjectReplacedError` says so (an
    earlier manifest there, or the other run's, is left alone). The store's identifier of the write goes into the
    manifest (``object_version``). Asked again once written: an object replaced in between raises too (the
    manifest then names the replaced write, which readers report as "manifest of another write").

    :param written: the window, filters, counts and client of the walk that wrote the object.
    :param format: the object's format (``"jsonl"``, ``"parquet"``).
    :param compression: the stored bytes' compression (``"gzip"`` or None); by default the writer's.
    :param extra: fields added at the end (the newest late file name seen, Parquet's schema).
    :return: the manifest's URL.
    """
    stored = writer.sink.stored_version()
    if stored.ours is False:
        raise ObjectReplacedError(replaced_message(target.url, stored.version))
    manifest = build_manifest(
        url=target.url,
        writer=writer,
        written=written,
        format=format,
        compression=("gzip" if writer.gzip else None) if compression is _FROM_WRITER else compression,
        object_version=stored.version,
        **extra,
    )
    write_manifest(target.path, manifest, local=target.is_local)
    if stored.ours and writer.sink.stored_version().ours is False:
        raise ObjectReplacedError(
            replaced_message(target.url, None) + " It was replaced while this manifest was written: the manifest "
            "names this run's write, so readers report it as the manifest of another write until the other run's "
            "manifest replaces it."
        )
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


def remove_earlier_manifest(path: ObjectStoragePath, sink: StorageSink) -> bool:
    """After an export without manifest committed at ``path``: remove the manifest of an earlier write beside it.

    Only while the object at ``path`` is still this export's (the sink says so): a manifest another run wrote for
    its own object is never touched. Where the store refuses the delete the manifest stays; readers then report
    it as the manifest of another write (:func:`judge_binding`). Returns whether one was removed.
    """
    where = manifest_path(path)
    if not where.exists() or sink.stored_version().ours is False:
        return False
    return delete_if_allowed(where)


def delete_if_allowed(path: ObjectStoragePath) -> bool:
    """Delete the object at ``path``; whether it is gone.

    False where the store refuses the delete (a role that may write but not delete). s3fs reports no
    error for a refused delete, so this checks that the object is gone rather than trusting the call.
    """
    with contextlib.suppress(PermissionError, FileNotFoundError):
        path.unlink()
    return not path.exists()


def read_manifest(path: ObjectStoragePath, url: str) -> dict[str, Any] | None:
    """The manifest beside the object at ``path``, or None when there is none (or a marker stands there); a broken
    one fails clearly. Whether it describes the object found is :func:`judge_binding`'s to say."""
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
    if is_marker(manifest):
        return None  # a "replacing" marker of an earlier release, or an "abandoned" one: no manifest of the file
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
