"""Which object stores this provider knows, and which of them can create an object only where none is.

A write that must not replace an object (``overwrite=False``, a late file, a late file's manifest) needs the
store's conditional create (fsspec's mode ``"xb"`` where the store honours it at completion):
:func:`require_conditional_create` refuses the others before a task reads Slack.

Internal to the export and reconcile operators; not an API.

:meta private:
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import AirflowFailException

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
