"""How an export lies in storage: the names beside an object and the marker of an unfinished replacement.

The rules that the operators (which write and read exports through Airflow's object storage) and
``slack-audit verify`` (which reads local copies, without Airflow) must agree on, kept in one place:
the manifest's name (``<object>.manifest.json``), the markers that may stand in its place (the ``replacing``
marker that releases before 0.2 wrote, and the ``stale`` marker), and the late files' names
(``<stem>.late-<unix seconds>.jsonl[.gz]``, or ``.parquet`` beside a Parquet export).

Imports only the standard library: ``slack-audit verify`` runs where Airflow is not installed.

Internal; not an API.

:meta private:
"""

from __future__ import annotations

import re
from typing import Any, Protocol, TypeVar

#: What a manifest's name adds to its object's.
MANIFEST_SUFFIX = ".manifest.json"

#: What earlier releases put at a manifest's place while its object was replaced, where the store refused to
#: delete the old manifest. No longer written (an export now leaves the old manifest until its own replaces it);
#: still read as "no manifest" wherever one is found.
REPLACING_MARKER = {"replacing": True, "note": "the object beside this file is being replaced; no manifest yet"}

#: What a manifest's place holds beside a file that the provider left behind but is no evidence, because the
#: store refused to delete it (a role that may write but not delete): ``{"stale": true, ...}``. A loader tests
#: ``stale`` (or applies the rule "a window's events are its object and the late files whose manifest names this
#: object's sha256": a marker names none).
STALE_KEY = "stale"

#: The suffixes of an export's name that :func:`split_name` takes off to find its stem.
EXTENSIONS = (".jsonl.gz", ".ndjson.gz", ".json.gz", ".jsonl", ".ndjson", ".json", ".gz", ".parquet")
#: The suffix of a Parquet export, and of its late files (which are Parquet of the same table schema).
PARQUET_SUFFIX = ".parquet"
#: What marks a late file's name, between the object's stem and the unix second.
LATE_MARK = ".late-"


class _Path(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def parent(self) -> Any: ...


P = TypeVar("P", bound=_Path)


def manifest_path(path: P) -> P:
    """The manifest's place: ``<path>.manifest.json`` beside the object (an ``ObjectStoragePath`` or a ``Path``)."""
    return path.parent / f"{path.name}{MANIFEST_SUFFIX}"  # type: ignore[no-any-return]


def is_replacing_marker(manifest: Any) -> bool:
    """Whether a manifest's content is :data:`REPLACING_MARKER`: an export replacing the object did not finish,
    so the object has no manifest."""
    return manifest == REPLACING_MARKER


def stale_marker(*, object_url: str, superseded_by_sha256: str, why: str) -> dict[str, Any]:
    """The ``stale`` marker of a file left behind beside the object ``object_url``.

    :param superseded_by_sha256: the sha256 of the object that holds the file's events now.
    :param why: one sentence for whoever reads the marker.
    """
    return {STALE_KEY: True, "object": object_url, "superseded_by_sha256": superseded_by_sha256, "note": why}


def is_stale_marker(manifest: Any) -> bool:
    """Whether a manifest's content is a :func:`stale_marker`: the file beside it is no evidence."""
    return isinstance(manifest, dict) and manifest.get(STALE_KEY) is True


def is_marker(manifest: Any) -> bool:
    """Whether a manifest's content is a marker (``replacing`` or ``stale``), not a manifest."""
    return is_replacing_marker(manifest) or is_stale_marker(manifest)


def split_name(name: str) -> tuple[str, str]:
    """``("2024-03-01T00", ".jsonl.gz")`` for ``2024-03-01T00.jsonl.gz``; no known suffix: ``(name, "")``."""
    for ext in EXTENSIONS:
        if name.endswith(ext) and len(name) > len(ext):
            return name[: -len(ext)], ext
    return name, ""


def late_name(object_name: str, unix_seconds: int, *, gzip: bool) -> str:
    """The late file's name beside ``object_name``: ``<stem>.late-<unix seconds>.jsonl[.gz]``; beside a Parquet
    export (``*.parquet``), ``<stem>.late-<unix seconds>.parquet``."""
    stem, ext = split_name(object_name)
    if ext == PARQUET_SUFFIX:
        return f"{stem}{LATE_MARK}{unix_seconds}{PARQUET_SUFFIX}"
    return f"{stem}{LATE_MARK}{unix_seconds}.jsonl{'.gz' if gzip else ''}"


def late_name_pattern(object_name: str, *, gzip: bool | None) -> re.Pattern[str]:
    """The names of the late files beside ``object_name``; group 1 is the unix second.

    :param gzip: True for ``.jsonl.gz`` late files, False for ``.jsonl``, None for either (beside a Parquet
        export: ``.parquet`` whatever it says).
    """
    stem, object_ext = split_name(object_name)
    ext = {True: r"\.jsonl\.gz", False: r"\.jsonl", None: r"\.jsonl(?:\.gz)?"}[gzip]
    if object_ext == PARQUET_SUFFIX:
        ext = re.escape(PARQUET_SUFFIX)
    return re.compile(re.escape(stem + LATE_MARK) + r"(\d+)" + ext + "$")


def late_second(name: str) -> int:
    """The unix second in the name of a late file (one that :func:`late_name_pattern` matches)."""
    return int(name.rsplit(LATE_MARK, 1)[1].split(".", 1)[0])
