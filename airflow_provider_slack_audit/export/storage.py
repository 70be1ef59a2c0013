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

Internal to the export and reconcile operators; not an API.

:meta private:
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_slack_audit.export.binding import local_version

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

log = logging.getLogger(__name__)

#: A temporary of a local export older than this (seconds) belongs to a run that is gone.
DEFAULT_STALE_AFTER = 24 * 3600
#: Bytes an object store upload holds in memory before it sends them as one part (S3's minimum is 5 MiB).
DEFAULT_PART_SIZE = 8 * 2**20


class ExportAborted(Exception):
    """The export was aborted (the task was killed, or it failed): nothing more is written."""


class TargetExistsError(AirflowFailException):
    """``overwrite=False`` and an object is at the target (already, or it appeared while the export ran)."""


def exists_message(url: str) -> str:
    """What to say when ``overwrite=False`` finds an object at the target."""
    return (
        f"{url} exists and overwrite=False. Delete it, write to another path, or set overwrite=True to "
        "replace it (a re-run of the same window does)."
    )


#: The key, in an object's user metadata, of the random id of the upload that wrote it (S3, GCS, Azure Blob
#: accept it: letters only).
WRITE_ID_KEY = "slackauditwrite"


@dataclass(frozen=True)
class StoredVersion:
    """What the store has at a sink's target after its commit.

    :param version: what the store says identifies that write (``object_version`` in the manifest: S3 ETag and
        VersionId, GCS generation, Azure etag and version id, local device, inode, mtime_ns and size); None when
        no object is there or the store tells nothing.
    :param ours: whether it is this sink's write; None when the store cannot tell (no metadata, unknown store).
    """

    version: dict[str, Any] | None
    ours: bool | None


class StorageSink(Protocol):
    """The stored bytes of one export, on their way to the target."""

    def open(self) -> None:
        """Prepare to take bytes (fails early when ``overwrite=False`` and the target exists)."""

    def write(self, data: bytes) -> None:
        """Append ``data``; raises :class:`ExportAborted` once :meth:`abort` was called."""

    def commit(self) -> None:
        """Make the object appear at the target, whole, in one step."""

    def abort(self) -> None:
        """Throw everything away; idempotent, safe from a signal handler and from any thread."""

    def close(self) -> None:
        """Release what is still held after an abort (files, buffers); never publishes anything."""

    def stored_version(self) -> StoredVersion:
        """After :meth:`commit`: what is at the target now, and whether it is still this sink's write."""


def temporary_name_pattern(name: str) -> re.Pattern[str]:
    """The names of the temporaries a local export of ``name`` creates: ``.<name>.<random hex>.partial``."""
    return re.compile(rf"\.{re.escape(name)}\.[0-9a-f]{{8,32}}\.partial")


class LocalFileSink:
    """Temp-and-rename on the worker's file system.

    :param path: the target's absolute path.
    :param url: the target as the user knows it (for messages).
    :param overwrite: replace an existing file (``os.replace``); False links the finished file to the
        target, which fails if a file appeared there meanwhile.
    :param stale_after: seconds after which another run's temporary of this target counts as left behind
        by a killed run and is removed by a successful commit.
    """

    def __init__(self, path: str, url: str, *, overwrite: bool, stale_after: float = DEFAULT_STALE_AFTER) -> None:
        self.path = path
        self.url = url
        self.overwrite = overwrite
        self.stale_after = stale_after
        folder, name = os.path.split(path)
        self.folder = folder
        self.name = name
        self.temp = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.partial")
        self._file: Any = None
        self._aborted = False
        self._identity: tuple[int, int] | None = None  # (device, inode) of the file committed

    def open(self) -> None:
        if not self.overwrite and os.path.lexists(self.path):
            raise TargetExistsError(exists_message(self.url))
        os.makedirs(self.folder, exist_ok=True)
        # O_EXCL: never write into a file someone else made; 0o666 leaves the mode to the worker's umask.
        fd = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        self._file = os.fdopen(fd, "wb")

    def write(self, data: bytes) -> None:
        if self._aborted:
            raise ExportAborted(f"the export to {self.url} was aborted")
        self._file.write(data)

    def commit(self) -> None:
        if self._aborted:
            raise ExportAborted(f"the export to {self.url} was aborted")
        self._file.flush()
        os.fsync(self._file.fileno())  # the data is on disk before the name points at it
        stat = os.fstat(self._file.fileno())
        self._identity = (stat.st_dev, stat.st_ino)  # a rename or a link keeps it: the write's own name
        self._file.close()
        if self.overwrite:
            os.replace(self.temp, self.path)
        else:
            try:
                os.link(self.temp, self.path)  # fails if the target appeared meanwhile: no silent replace
            except FileExistsError:
                raise TargetExistsError(exists_message(self.url)) from None
            except OSError as err:
                raise AirflowFailException(
                    f"overwrite=False needs hard links to commit {self.url} without replacing a file that "
                    f"appeared meanwhile, and this file system refused one ({err}). Use overwrite=True, or "
                    "another file system."
                ) from None
            with contextlib.suppress(FileNotFoundError):  # an on_kill at this instant removed it already
                os.unlink(self.temp)
        self._sync_folder()
        self.remove_stale_temporaries()

    def stored_version(self) -> StoredVersion:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return StoredVersion(None, False)
        return StoredVersion(local_version(stat), (stat.st_dev, stat.st_ino) == self._identity)

    def _sync_folder(self) -> None:
        try:
            fd = os.open(self.folder, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass  # some file systems cannot sync a folder; the rename itself is still atomic
        finally:
            os.close(fd)

    def remove_stale_temporaries(self) -> list[str]:
        """Remove this target's temporaries that were not written to for ``stale_after`` seconds.

        A live export writes to its temporary as it goes, so it is never that old; a killed run's is.
        Returns the names removed.
        """
        pattern = temporary_name_pattern(self.name)
        own = os.path.basename(self.temp)
        cutoff = time.time() - self.stale_after
        removed = []
        try:
            names = os.listdir(self.folder)
        except OSError:
            return removed
        for name in names:
            if name == own or not pattern.fullmatch(name):
                continue
            full = os.path.join(self.folder, name)
            try:
                if os.lstat(full).st_mtime < cutoff:
                    os.unlink(full)
                    removed.append(name)
            except OSError:
                continue  # gone meanwhile, or not ours to remove
        if removed:
            log.info("Removed %d temporary file(s) killed runs left beside %s: %s", len(removed), self.url, removed)
        return removed

    def abort(self) -> None:
        self._aborted = True
        with contextlib.suppress(OSError):
            os.unlink(self.temp)

    def close(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
        with contextlib.suppress(OSError):
            os.unlink(self.temp)


#: The stores whose fsspec filesystem this provider writes through, by the filesystem's top-level module: the
#: store's name in ``object_version`` and the first release whose mode ``"xb"`` is a conditional create.
_STORES: dict[str, tuple[str, str | None, str]] = {
    "s3fs": ("s3", None, "If-None-Match: *"),  # detected from the source (see below): releases vary
    "gcsfs": ("gcs", "2024.12.0", "ifGenerationMatch=0"),
    "adlfs": ("azure", "2024.12.0", "If-None-Match: *"),
}


def store_of(fs: Any) -> str | None:
    """``"s3"``, ``"gcs"`` or ``"azure"`` for the filesystems this provider knows; None for any other."""
    known = _STORES.get(type(fs).__module__.split(".", 1)[0])
    return known[0] if known else None


def conditional_write_support(fs: Any) -> str | None:
    """None when ``fs`` can make an upload fail if the key exists at completion; else what is missing.

    S3 (s3fs that sends ``If-None-Match: *`` for mode ``"xb"``), GCS (gcsfs 2024.12.0 or later:
    ``ifGenerationMatch=0``) and Azure Blob (adlfs 2024.12.0 or later: ``If-None-Match: *``) have one.
    """
    package = type(fs).__module__.split(".", 1)[0]
    known = _STORES.get(package)
    if known is None:
        return (
            f"{type(fs).__module__}.{type(fs).__name__} has no conditional create this provider can use "
            "(supported: file://, s3:// with an s3fs that sends If-None-Match, gs:// with gcsfs 2024.12.0 or "
            "later, abfs:// and az:// with adlfs 2024.12.0 or later)"
        )
    _, first_release, header = known
    if first_release is None:
        import inspect

        from s3fs.core import S3File

        try:  # s3fs releases that know If-None-Match send it for mode "xb"; older ones ignore the "x"
            if "IfNoneMatch" in inspect.getsource(S3File.commit):
                return None
        except (OSError, TypeError):
            pass
        return f"the installed s3fs has no exclusive write ({header}); upgrade s3fs"
    import sys

    from packaging.version import InvalidVersion, Version

    installed = getattr(sys.modules.get(package), "__version__", None)
    try:
        if installed is not None and Version(installed) >= Version(first_release):
            return None
    except InvalidVersion:
        pass
    return (
        f"{package} {installed or '(unknown version)'} has no exclusive write ({header}); upgrade {package} to "
        f"{first_release} or later"
    )


def require_conditional_create(fs: Any, url: str, why: str) -> None:
    """Fail, naming what is missing, when the store of ``url`` has no conditional create.

    Call it when a task starts, before it reads Slack: a write that must not replace an object (``overwrite=False``,
    a late file) cannot be made safely without one.

    :param fs: the fsspec filesystem of ``url`` (None for local files, which always have one).
    :param url: the object to be written, for the message.
    :param why: what needs it, for the message (``"overwrite=False"``, ``"a late file"``).
    """
    if fs is None:
        return
    missing = conditional_write_support(fs)
    if missing:
        raise AirflowFailException(
            f"{why} on {url} must refuse an object that appears while the task runs, which needs the store's "
            f"conditional write: {missing}. Use overwrite=True (an export) or another store."
        )


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
