"""Whether a manifest describes the object found at its path: the one rule every reader applies.

A manifest records what it describes: the stored bytes (``bytes``, ``sha256``) and what the store said
identifies that write of the object (``object_version``, see :func:`version_key`). A reader (the
reconciliation, ``slack-audit verify``) measures the object it finds and asks :func:`judge_binding`,
which tells four cases apart:

``describes``
    the bytes are the manifest's (size and sha256): the manifest is evidence of this object.
``another write``
    the bytes differ and the store names another write than the manifest's (another ETag, generation or
    inode): the object at the path was written again after this manifest's write, by an export whose
    manifest is not there (it was killed between its object and its manifest, or lost a race), or by
    anyone else. The manifest is of another write; nothing was altered. No manifest describes the object.
``altered``
    the bytes differ although the store names the very write the manifest records (locally: the same
    file, edited in place): the object was altered after its export.
``undetermined``
    the bytes differ and the write cannot be compared (a manifest written before ``object_version``
    existed, or a copy of the object on another store or in another folder): altered, or written again.

Imports only the standard library: ``slack-audit verify`` uses it where Airflow is not installed.

Internal; not an API.

:meta private:
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

#: The manifest's layout version: 2 added ``format``, ``compression`` and ``object_version``.
MANIFEST_VERSION = 2

#: The fields of ``object_version`` that name one write of the object, per store; the others (a local
#: file's ``mtime_ns`` and ``size``, the write id in an object's metadata) are recorded for the reader.
_WRITE_FIELDS: dict[str, tuple[str, ...]] = {
    "s3": ("etag", "version_id"),
    "gcs": ("generation",),
    "azure": ("etag", "version_id"),
    # A local export is a new file each time (renamed or linked into place): its inode names the write, and an
    # edit in place keeps it. mtime and size change with such an edit, so they are not compared.
    "local": ("device", "inode"),
}

DESCRIBES = "describes"
ANOTHER_WRITE = "another write"
ALTERED = "altered"
UNDETERMINED = "undetermined"


@dataclass(frozen=True)
class FoundObject:
    """The object a reader found at a manifest's path.

    :param size: its size in bytes.
    :param sha256: the hex sha256 of its bytes.
    :param version: what the store says identifies its write (as :func:`local_version` or the export's
        sinks record it), or None when the reader cannot compare it (a copy elsewhere).
    """

    size: int
    sha256: str
    version: Mapping[str, Any] | None = None


class Binding(NamedTuple):
    """:func:`judge_binding`'s verdict (one of the four constants above) and one sentence that explains it."""

    verdict: str
    detail: str

    @property
    def describes(self) -> bool:
        return self.verdict == DESCRIBES


def local_version(stat: os.stat_result) -> dict[str, Any]:
    """The ``object_version`` of a local file from its ``os.stat``: device and inode name the write."""
    return {
        "store": "local",
        "device": stat.st_dev,
        "inode": stat.st_ino,
        "mtime_ns": stat.st_mtime_ns,
        "size": stat.st_size,
    }


def version_key(version: Mapping[str, Any] | None) -> tuple[Any, ...] | None:
    """What names the write in ``version`` (``("s3", etag, version_id)``...), None if it names none."""
    if not isinstance(version, Mapping):
        return None
    fields = _WRITE_FIELDS.get(version.get("store"))  # type: ignore[arg-type]
    if fields is None or all(version.get(name) is None for name in fields):
        return None
    return (version["store"], *(version.get(name) for name in fields))


def same_write(recorded: Mapping[str, Any] | None, found: Mapping[str, Any] | None) -> bool | None:
    """Whether two ``object_version`` records name the same write; None when they cannot be compared
    (one is missing, or they come from different stores)."""
    one, two = version_key(recorded), version_key(found)
    if one is None or two is None or one[0] != two[0]:
        return None
    if one[0] in ("s3", "azure") and (one[2] is None or two[2] is None):
        return one[1] == two[1]  # an unversioned bucket: the ETag alone
    return one == two


def describe_version(version: Mapping[str, Any] | None) -> str:
    """``object_version`` as a reader reads it: ``etag "…", version_id …`` or ``inode 123``."""
    key = version_key(version)
    if key is None:
        return "no version recorded"
    fields = _WRITE_FIELDS[key[0]]
    return ", ".join(f"{name} {value}" for name, value in zip(fields, key[1:], strict=True) if value is not None)


def judge_binding(manifest: Mapping[str, Any], found: FoundObject) -> Binding:
    """Whether ``manifest`` describes ``found``, the object at its path; the one home of that rule.

    :param manifest: the manifest as read (an export's or a late file's); its ``bytes``, ``sha256`` and
        ``object_version`` are compared.
    :param found: the object as measured now (its ``version`` None when the reader cannot compare it).
    :return: a :class:`Binding`: ``describes``, ``another write``, ``altered`` or ``undetermined`` (see the
        module's description). Only ``describes`` lets the manifest's other fields (events, ids, window) be
        taken as the object's.
    """
    if manifest.get("sha256") == found.sha256 and manifest.get("bytes", found.size) == found.size:
        return Binding(DESCRIBES, f"the bytes are the manifest's (sha256 {found.sha256}, {found.size} bytes)")
    recorded = manifest.get("object_version")
    measured = (
        f"sha256 {found.sha256} ({found.size} bytes); the manifest records {manifest.get('sha256')} "
        f"({manifest.get('bytes')} bytes)"
    )
    same = same_write(recorded, found.version)
    if same is False:
        return Binding(
            ANOTHER_WRITE,
            f"the object was written again after this manifest's write (the store names "
            f"{describe_version(found.version)}; the manifest records {describe_version(recorded)}): no manifest "
            f"describes the object now, whose {measured}",
        )
    if same is True:
        return Binding(
            ALTERED,
            f"the store names the write the manifest records ({describe_version(recorded)}), yet its bytes differ: "
            f"altered after its export; {measured}",
        )
    why = "the manifest records no object_version" if version_key(recorded) is None else "it is a copy"
    return Binding(
        UNDETERMINED,
        f"the bytes differ and the write cannot be compared ({why}): altered, or written again after this "
        f"manifest; {measured}",
    )
