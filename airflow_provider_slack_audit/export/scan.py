"""Reading an exported object back: each event's id, and the sha256 and size of the stored bytes.

Streams the object (gzip or plain JSON Lines; a Parquet export's id column, see
:mod:`~airflow_provider_slack_audit.export.formats.parquet_reading`) a chunk at a time, so an object of any
size is read in bounded memory; an object that is cut, altered or not an export of this provider fails the task.
:func:`scan_object` is the one way in: it reads an object as its manifest says it was written (format and
compression), never by its name.

Internal to the export and reconcile operators; not an API.

:meta private:
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_slack_audit.client.jsonio import loads
from airflow_provider_slack_audit.export.formats.choice import ExportFormat, format_of_object
from airflow_provider_slack_audit.export.formats.parquet_reading import PARQUET_MAGIC
from airflow_provider_slack_audit.export.ids import IdIndex
from airflow_provider_slack_audit.export.stream import HashingReader, iter_lines

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    from airflow_provider_slack_audit.export.writer import ExportTarget


#: What every gzip member starts with (RFC 1952).
GZIP_MAGIC = b"\x1f\x8b"
#: The formats :func:`scan_object` reads back.
READABLE_FORMATS = ("jsonl", "parquet")


def stored_format(path: ObjectStoragePath, manifest: dict[str, Any] | None) -> str:
    """The object's format as its manifest records it (``format``); without one, as its first bytes say (a Parquet
    file starts with ``PAR1``; anything else is read as JSON Lines), never its name."""
    recorded = (manifest or {}).get("format")
    if recorded:
        return str(recorded)
    with path.open("rb") as raw:
        return "parquet" if raw.read(len(PARQUET_MAGIC)) == PARQUET_MAGIC else "jsonl"


def stored_compression(path: ObjectStoragePath, url: str, manifest: dict[str, Any] | None) -> str | None:
    """How the object at ``path`` is compressed: ``"gzip"`` or None, as its manifest records it (``compression``);
    for a manifest written before that field existed, or none, as its first bytes say (never its name).

    :param url: the object as the user knows it (for messages).
    :param manifest: the object's manifest, or None.
    """
    with path.open("rb") as raw:
        found = "gzip" if raw.read(len(GZIP_MAGIC)) == GZIP_MAGIC else None
    if manifest is None or "compression" not in manifest:
        return found
    recorded = manifest["compression"]
    if recorded not in ("gzip", None):
        raise AirflowFailException(
            f'The manifest of {url} records compression {recorded!r}, which this provider does not write ("gzip" or '
            "null): it was altered or written by something else. Export the window again."
        )
    if recorded != found:
        raise AirflowFailException(
            f"The manifest of {url} records compression {recorded or 'none'}, and the object's bytes are "
            f"{found or 'not gzip'}: the manifest does not describe this object (a manifest of another write, or "
            "the object was altered). Export the window again."
        )
    return recorded


def export_format_of(path: ObjectStoragePath, url: str, manifest: dict[str, Any] | None) -> ExportFormat:
    """The format the object at ``path`` was written in (its late files are written in it too): as its manifest
    records it, else as its bytes show; a Parquet object's table schema from its manifest, else its metadata."""
    file_format = stored_format(path, manifest)
    schema = (manifest or {}).get("schema")
    if file_format == "parquet" and schema is None:
        from airflow_provider_slack_audit.export.formats.parquet_reading import NotAnExport, open_parquet

        try:
            with path.open("rb") as stream:
                schema = open_parquet(stream)[1]
        except NotAnExport as err:
            raise AirflowFailException(
                f"{url} cannot be read as a Parquet export ({err}): it was altered or cut. Export the window again."
            ) from None
    return format_of_object(file_format, schema)


def scan_object(
    path: ObjectStoragePath, url: str, manifest: dict[str, Any] | None, *, on_id: Callable[[str], Any]
) -> tuple[str, int, int]:
    """Read the object at ``path`` as its ``manifest`` says it was written and call ``on_id`` with each event's id.

    The one place that reads an object's ids back, whatever its format (the manifest's ``format``; JSON Lines
    for a manifest without one, or no manifest) and compression (:func:`stored_compression`).

    :param url: the object as the user knows it (for messages).
    :param manifest: the object's manifest (an export's or a late file's), or None.
    :return: ``(sha256, bytes, events)`` of the stored object.
    """
    file_format = stored_format(path, manifest)
    if file_format not in READABLE_FORMATS:
        raise AirflowFailException(
            f"{url} is {file_format!r} (its manifest says so), which this version of the provider cannot read "
            f"back (it reads {', '.join(READABLE_FORMATS)}). Upgrade the provider, or export the window again."
        )
    if file_format == "parquet":
        return scan_parquet_ids(path, url, on_id=on_id)
    gzip_ = stored_compression(path, url, manifest) == "gzip"
    return scan_ids(path, url, gzip_=gzip_, on_id=on_id)


def scan_ids(path: ObjectStoragePath, url: str, *, gzip_: bool, on_id: Callable[[str], Any]) -> tuple[str, int, int]:
    """Stream the JSON Lines object at ``path`` and call ``on_id`` with each event's id.

    Returns ``(sha256, bytes, events)`` of the stored object. Only one chunk and one line are in
    memory at a time (a Parquet object is read by :func:`scan_parquet_ids`).
    """
    events = 0
    with path.open("rb") as raw:
        hashing = HashingReader(raw)
        stream: Any = gzip.GzipFile(fileobj=hashing, mode="rb") if gzip_ else hashing
        try:
            for number, line in enumerate(iter_lines(stream), 1):
                if not line.strip():
                    continue
                try:
                    event_id = loads(line)["id"]
                except (ValueError, KeyError, TypeError):
                    raise AirflowFailException(
                        f"{url} line {number} is not an audit event with an id: the object was altered or is not "
                        "an export of this provider. Export the window again."
                    ) from None
                on_id(event_id)
                events += 1
        except (OSError, EOFError) as err:  # gzip: a cut or altered stream
            raise AirflowFailException(
                f"{url} cannot be read as {'gzip ' if gzip_ else ''}JSON Lines ({err}): it was altered or cut. "
                "Export the window again."
            ) from None
        hashing.drain()
    return hashing.digest.hexdigest(), hashing.size, events


def scan_parquet_ids(path: ObjectStoragePath, url: str, *, on_id: Callable[[str], Any]) -> tuple[str, int, int]:
    """Call ``on_id`` with each event id of the Parquet export at ``path`` (its id column, a batch at a time);
    ``(sha256, bytes, events)`` of the stored object, hashed as it streams by."""
    from airflow_provider_slack_audit.export.formats.parquet_reading import NotAnExport, iter_keys

    with path.open("rb") as raw:
        hashing = HashingReader(raw)
        hashing.drain()
    events = 0
    try:
        with path.open("rb") as stream:
            for ids, _ in iter_keys(stream):
                for event_id in ids:
                    on_id(event_id)
                events += len(ids)
    except NotAnExport as err:
        raise AirflowFailException(
            f"{url} cannot be read as a Parquet export ({err}): it was altered or cut. Export the window again."
        ) from None
    return hashing.digest.hexdigest(), hashing.size, events


def object_ids(target: ExportTarget, gzip_: bool | None = None) -> IdIndex:
    """The ids of the object at ``target``, read back from the store (a frozen :class:`IdIndex`).

    :param target: the exported object.
    :param gzip_: whether the object is gzip-compressed; None reads it from its first bytes.
    """
    index = IdIndex()
    if gzip_ is None:
        scan_object(target.path, target.url, None, on_id=index.add)
    else:
        scan_ids(target.path, target.url, gzip_=gzip_, on_id=index.add)
    index.freeze()
    return index
