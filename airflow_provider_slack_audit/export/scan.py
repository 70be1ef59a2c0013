"""Reading an exported object back: each event's id, and the sha256 and size of the stored bytes.

Streams the object (gzip or plain JSON Lines; a Parquet export's id column, see
:mod:`~airflow_provider_slack_audit.export.formats.parquet_reading`) a chunk at a time, so an object of any
size is read in bounded memory; an object that is cut, altered or not an export of this provider fails the task.

Internal to the export and reconcile operators; not an API.

:meta private:
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_slack_audit.client.jsonio import loads
from airflow_provider_slack_audit.export.ids import IdIndex
from airflow_provider_slack_audit.export.layout import PARQUET_SUFFIX
from airflow_provider_slack_audit.export.stream import HashingReader, iter_lines

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    from airflow_provider_slack_audit.export.writer import ExportTarget


def scan_ids(path: ObjectStoragePath, url: str, *, gzip_: bool, on_id: Callable[[str], Any]) -> tuple[str, int, int]:
    """Stream the JSON Lines object at ``path`` and call ``on_id`` with each event's id.

    Returns ``(sha256, bytes, events)`` of the stored object. Only one chunk and one line are in
    memory at a time. A Parquet object (named ``*.parquet``) is read by :func:`scan_parquet_ids`.
    """
    if path.name.endswith(PARQUET_SUFFIX):
        return scan_parquet_ids(path, url, on_id=on_id)
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


def object_ids(target: ExportTarget, gzip_: bool) -> IdIndex:
    """The ids of the object at ``target``, read back from the store (a frozen :class:`IdIndex`).

    :param target: the exported object.
    :param gzip_: whether the object is gzip-compressed.
    """
    index = IdIndex()
    scan_ids(target.path, target.url, gzip_=gzip_, on_id=index.add)
    index.freeze()
    return index
