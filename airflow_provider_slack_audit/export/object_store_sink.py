"""The sink of every store but local files: one upload straight to the key, visible only once completed.

``overwrite=False`` uses the store's conditional create (:mod:`.store_support`); the upload carries a random
write id in the object's metadata (:data:`~.object_versions.WRITE_ID_KEY`), so that after the commit the sink
can tell its own write from another's.

Internal to the export and reconcile operators; not an API.

:meta private:
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Any

from airflow_provider_slack_audit.export.object_versions import WRITE_ID_KEY, object_version
from airflow_provider_slack_audit.export.sink import ExportAborted, StoredVersion, TargetExistsError, exists_message
from airflow_provider_slack_audit.export.store_support import require_conditional_create, store_of

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

log = logging.getLogger(__name__)

#: Bytes an object store upload holds in memory before it sends them as one part (S3's minimum is 5 MiB).
DEFAULT_PART_SIZE = 8 * 2**20


class ObjectStoreSink:
    """One upload straight to the key, visible only once completed at commit, aborted on failure.

    :param path: the target object.
    :param url: the target as the user knows it (for messages).
    :param overwrite: replace an existing object; False completes the upload only if no object exists at
        that moment (the store's conditional write).
    :param part_size: bytes held in memory before they are sent as one part of the upload.
    """

    def __init__(
        self, path: ObjectStoragePath, url: str, *, overwrite: bool, part_size: int = DEFAULT_PART_SIZE
    ) -> None:
        self.target = path
        self.url = url
        self.overwrite = overwrite
        self.part_size = part_size
        self._file: Any = None
        self._aborted = False
        #: The random id this upload writes into the object's metadata, so a reader can tell it from another write.
        self.write_id = secrets.token_hex(16)
        self._written: int | None = None  # bytes of the committed object

    @property
    def fs(self) -> Any:
        return self.target.fs

    @property
    def key(self) -> str:
        return self.target.path

    def open(self) -> None:
        fs = self.fs
        if not self.overwrite:
            require_conditional_create(fs, self.url, "overwrite=False")
            if fs.exists(self.key):
                raise TargetExistsError(exists_message(self.url))
        # autocommit=False: closing uploads the last part but does not complete the upload; commit() does.
        self._file = fs.open(
            self.key,
            "wb" if self.overwrite else "xb",
            block_size=self.part_size,
            autocommit=False,
            **self._metadata_options(),
        )

    def _metadata_options(self) -> dict[str, Any]:
        """The options of ``fs.open`` that put this upload's write id in the object's metadata."""
        store = store_of(self.fs)
        if store == "s3":
            return {"Metadata": {WRITE_ID_KEY: self.write_id}}
        if store == "gcs":
            return {"metadata": {WRITE_ID_KEY: self.write_id}}
        if store == "azure":
            return {"metadata": {"is_directory": "false", WRITE_ID_KEY: self.write_id}}
        return {}

    def stored_version(self) -> StoredVersion:
        try:
            version = object_version(self.fs, self.key)
        except FileNotFoundError:
            return StoredVersion(None, False)
        if version is None:
            return StoredVersion(None, None)  # a store this provider cannot ask
        if version.get("write_id") is None and self._written is not None:
            # An S3-compatible store that keeps no user metadata: the size tells another write from ours at least
            # when they differ (our own always has the size we sent).
            return StoredVersion(version, None if version.get("size") == self._written else False)
        return StoredVersion(version, version.get("write_id") == self.write_id)

    def write(self, data: bytes) -> None:
        if self._aborted:
            raise ExportAborted(f"the export to {self.url} was aborted")
        self._file.write(data)
        if self._aborted:  # an abort ran while this part was being started or sent: leave no upload behind
            self._discard()
            raise ExportAborted(f"the export to {self.url} was aborted")

    def commit(self) -> None:
        if self._aborted:
            raise ExportAborted(f"the export to {self.url} was aborted")
        f = self._file
        size = f.tell()
        try:
            if size == 0 and not self.overwrite and store_of(self.fs) == "s3":
                f.discard()  # an empty object: s3fs would "touch" it unconditionally, so write it ourselves
                self.fs.touch(self.key, IfNoneMatch="*", **self._metadata_options())
            else:
                f.close()  # uploads what is buffered as the last part; the object is not visible yet
                f.commit()  # completes the upload: the object appears whole, or not at all
        except FileExistsError:
            self._discard()
            raise TargetExistsError(exists_message(self.url)) from None
        except BaseException:
            self._discard()
            raise
        self._written = size

    def _discard(self) -> None:
        f = self._file
        if f is None:
            return
        try:
            f.discard()  # aborts the multipart upload, if one was started
        except Exception:
            log.debug("aborting the upload to %s failed", self.url, exc_info=True)
        f.closed = True  # discarded: neither close() nor the garbage collector may upload anything now

    def abort(self) -> None:
        self._aborted = True
        self._discard()

    def close(self) -> None:
        self._discard()
