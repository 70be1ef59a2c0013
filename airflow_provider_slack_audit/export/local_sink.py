"""The sink of ``file://`` targets: a temporary sibling, synced, then renamed (or hard-linked) onto the target.

A temporary is named ``.<name>.<random>.partial``; a successful commit removes this target's own temporaries
that earlier, killed runs left behind, once they are older than ``stale_after`` seconds.

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
from typing import Any

from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_slack_audit.export.binding import local_version
from airflow_provider_slack_audit.export.sink import ExportAborted, StoredVersion, TargetExistsError, exists_message

log = logging.getLogger(__name__)

#: A temporary of a local export older than this (seconds) belongs to a run that is gone.
DEFAULT_STALE_AFTER = 24 * 3600


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
