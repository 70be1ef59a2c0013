"""What the store says identifies the write of an object now (a manifest's ``object_version``).

Internal to the export and reconcile operators; not an API.

:meta private:
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from airflow_provider_slack_audit.export.binding import local_version
from airflow_provider_slack_audit.export.store_support import store_of

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

#: The key, in an object's user metadata, of the random id of the upload that wrote it (S3, GCS, Azure Blob
#: accept it: letters only).
WRITE_ID_KEY = "slackauditwrite"


def object_version(fs: Any, key: str) -> dict[str, Any] | None:
    """What the store says identifies the write of the object ``key`` now (``object_version``), with the write
    id in its metadata (``write_id``, None when another writer made it); None for a store this provider cannot
    ask. Raises ``FileNotFoundError`` when no object is there.

    S3: ``etag`` and ``version_id`` (None in an unversioned bucket), from one HEAD; GCS: ``generation``; Azure
    Blob: ``etag`` and ``version_id``; each with the object's ``size``. Caches are bypassed: another process may
    have written it.
    """
    store = store_of(fs)
    if store == "s3":
        bucket, name, _ = fs.split_path(key)
        head = fs.call_s3("head_object", Bucket=bucket, Key=name)  # one answer: ETag and metadata agree
        version = {"store": "s3", "etag": head.get("ETag"), "version_id": head.get("VersionId")}
        metadata, size = head.get("Metadata"), head.get("ContentLength")
    elif store == "gcs":
        fs.invalidate_cache(key)
        info = fs.info(key)
        version = {"store": "gcs", "generation": info.get("generation")}
        metadata, size = info.get("metadata"), info.get("size")
    elif store == "azure":
        info = fs.info(key, refresh=True)
        version = {"store": "azure", "etag": info.get("etag"), "version_id": info.get("version_id")}
        metadata, size = info.get("metadata"), info.get("size")
    else:
        return None
    version["write_id"] = (metadata or {}).get(WRITE_ID_KEY)
    version["size"] = size
    return version


def stored_version_of(path: ObjectStoragePath, *, local: bool) -> dict[str, Any] | None:
    """The ``object_version`` of the object at ``path`` as it is now (None if none is there, or the store tells
    nothing): what a reader hands :func:`~airflow_provider_slack_audit.export.binding.judge_binding`."""
    try:
        return local_version(os.stat(path.path)) if local else object_version(path.fs, path.path)
    except FileNotFoundError:
        return None
