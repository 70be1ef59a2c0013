"""Where an export's bytes go until they are committed: one sink per kind of store.

A sink takes the stored bytes (already encoded and compressed) in order, and ends in exactly one of
``commit()`` (the object appears at the target, whole, in one step) or ``abort()`` (nothing appears,
and an earlier object at the target is left as it was).

- :class:`LocalFileSink` (``file://``): a temporary sibling ``.<name>.<random>.partial`` that is renamed
  onto the target (``os.replace``), or hard-linked to it when the target must not exist yet
  (``os.link`` fails if it does). A successful commit removes this target's own temporaries that
  earlier, killed runs left behind, once they are older than ``stale_after`` seconds.
- :class:`ObjectStoreSink` (every other scheme): one upload straight to the key that the store makes
  visible only when it completes (a multipart upload completed at commit, aborted on failure): no
  temporary object, no copy and no delete. ``overwrite=False`` uses the store's conditional create
  (S3 ``If-None-Match: *``, GCS ``ifGenerationMatch=0``, Azure Blob ``If-None-Match: *``: fsspec's mode
  ``"xb"``), so it holds at the moment the object appears; a store without one is refused at
  :meth:`~StorageSink.open`, before anything is read (:func:`conditional_write_support`).

After the commit, :meth:`~StorageSink.stored_version` says what the store now has at the target and whether it
is still this sink's write (an object store's upload carries a random write id in its metadata; a local file
is this sink's while the target's inode is its temporary's): a manifest is written only while it is.

``abort()`` may run from a signal handler (Airflow calls ``on_kill()`` from its SIGTERM handler) while
the writer thread is inside ``write()``: it only sets a flag and throws the partial data away; it never
closes a file descriptor another thread may be using.

This module names them all; each has a module of its own: what every sink is (:mod:`.sink`), the local
sink (:mod:`.local_sink`), the object store's (:mod:`.object_store_sink`), which stores can create an
object only where none is (:mod:`.store_support`) and what a store says identifies a write
(:mod:`.object_versions`).

Internal to the export and reconcile operators; not an API.

:meta private:
"""

from __future__ import annotations

from airflow_provider_slack_audit.export.local_sink import DEFAULT_STALE_AFTER, LocalFileSink, temporary_name_pattern
from airflow_provider_slack_audit.export.object_store_sink import DEFAULT_PART_SIZE, ObjectStoreSink
from airflow_provider_slack_audit.export.object_versions import WRITE_ID_KEY, object_version, stored_version_of
from airflow_provider_slack_audit.export.sink import (
    ExportAborted,
    StorageSink,
    StoredVersion,
    TargetExistsError,
    exists_message,
)
from airflow_provider_slack_audit.export.store_support import (
    conditional_write_support,
    require_conditional_create,
    store_of,
)

__all__ = [
    "DEFAULT_PART_SIZE",
    "DEFAULT_STALE_AFTER",
    "WRITE_ID_KEY",
    "ExportAborted",
    "LocalFileSink",
    "ObjectStoreSink",
    "StorageSink",
    "StoredVersion",
    "TargetExistsError",
    "conditional_write_support",
    "exists_message",
    "object_version",
    "require_conditional_create",
    "store_of",
    "stored_version_of",
    "temporary_name_pattern",
]
