"""What every sink is: the protocol of :mod:`.storage`'s sinks, what they say after a commit, and their errors.

Internal to the export and reconcile operators; not an API.

:meta private:
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from airflow.providers.common.compat.sdk import AirflowFailException


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
