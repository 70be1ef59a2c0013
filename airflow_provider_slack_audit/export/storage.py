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
  temporary object, no copy and no delete. ``overwrite=False`` uses the store's conditional write
  (S3 ``If-None-Match: *``), so it holds at the moment the object appears.

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
from typing import TYPE_CHECKING, Any, Protocol

from airflow.providers.common.compat.sdk import AirflowFailException

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


def conditional_write_support(fs: Any) -> str | None:
    """None when ``fs`` can make an upload fail if the key exists at completion; else why it cannot."""
    if type(fs).__module__.split(".", 1)[0] == "s3fs":
        import inspect

        from s3fs.core import S3File

        try:  # s3fs releases that know If-None-Match send it for mode "xb"; older ones ignore the "x"
            if "IfNoneMatch" in inspect.getsource(S3File.commit):
                return None
        except (OSError, TypeError):
            pass
        return "the installed s3fs has no exclusive write (If-None-Match: *); upgrade s3fs"
    return (
        f"{type(fs).__module__}.{type(fs).__name__} has no conditional write this provider can use "
        "(supported: file:// and s3:// with an s3fs that sends If-None-Match)"
    )


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

    @property
    def fs(self) -> Any:
        return self.target.fs

    @property
    def key(self) -> str:
        return self.target.path

    def open(self) -> None:
        fs = self.fs
        if not self.overwrite:
            missing = conditional_write_support(fs)
            if missing:
                raise AirflowFailException(
                    f"overwrite=False on {self.url} must refuse an object that appears while the export runs, "
                    f"which needs the store's conditional write: {missing}. Use overwrite=True or another store."
                )
            if fs.exists(self.key):
                raise TargetExistsError(exists_message(self.url))
        # autocommit=False: closing uploads the last part but does not complete the upload; commit() does.
        self._file = fs.open(
            self.key, "wb" if self.overwrite else "xb", block_size=self.part_size, autocommit=False
        )

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
        try:
            if f.tell() == 0 and not self.overwrite:
                f.discard()  # an empty object: s3fs would "touch" it unconditionally, so write it ourselves
                self.fs.touch(self.key, IfNoneMatch="*")
            else:
                f.close()  # uploads what is buffered as the last part; the object is not visible yet
                f.commit()  # completes the upload: the object appears whole, or not at all
        except FileExistsError:
            self._discard()
            raise TargetExistsError(exists_message(self.url)) from None
        except BaseException:
            self._discard()
            raise

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
