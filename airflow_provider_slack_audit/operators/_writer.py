"""Writing a window of events to object storage as JSON Lines, all or nothing."""

from __future__ import annotations

import gzip
import hashlib
import logging
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any, BinaryIO

from airflow.providers.common.compat.sdk import AirflowFailException, Asset, AssetAlias, ObjectStoragePath

from airflow_provider_slack_audit.client.jsonio import iter_lines_chunks

log = logging.getLogger(__name__)

#: Local schemes: their folders are made on demand; every other scheme is a bucket store.
_LOCAL_PROTOCOLS = ("file", "local")


@dataclass(frozen=True)
class ExportTarget:
    """Where an export goes: the storage path and the URL it is known by (no connection id in it)."""

    path: ObjectStoragePath
    url: str

    @property
    def name(self) -> str:
        """The object's file name."""
        return self.path.name

    @property
    def is_local(self) -> bool:
        """Whether the target is on the worker's own file system."""
        return self.path.protocol in _LOCAL_PROTOCOLS


def resolve_target(path: str, conn_id: str | None) -> ExportTarget:
    """Check an export ``path`` and open it as an :class:`ObjectStoragePath`.

    :param path: a URL with a scheme, naming an object (not a folder).
    :param conn_id: the storage connection, or None for the scheme's default.
    """
    examples = "file:///data/slack/audit.jsonl.gz or s3://my-bucket/slack/audit.jsonl.gz"
    if not isinstance(path, str) or not path.strip():
        raise AirflowFailException(f"path={path!r}: give the object to write as a URL, e.g. {examples}.")
    path = path.strip()
    if "://" not in path:
        raise AirflowFailException(
            f"path={path!r} has no scheme, so it is not clear which storage it names. Write it as a URL, "
            f"e.g. {examples}."
        )
    if path.endswith("/"):
        raise AirflowFailException(f"path={path!r} names a folder; name the object to write, e.g. {examples}.")
    scheme, rest = path.split("://", 1)
    if scheme.lower() not in _LOCAL_PROTOCOLS and not rest.split("/", 1)[0]:
        raise AirflowFailException(f"path={path!r} names no bucket; write it as {scheme}://<bucket>/<key>.")
    try:
        target = ObjectStoragePath(path, conn_id=conn_id)
        target.fs  # noqa: B018  (Airflow 2.11 resolves the scheme's filesystem only here)
    except (ValueError, ImportError) as err:
        raise AirflowFailException(
            f"path={path!r}: Airflow's object storage cannot open this scheme ({err}). Install the provider "
            "that brings it (e.g. apache-airflow-providers-amazon[s3fs] for s3://) or use file:// for local files."
        ) from None
    protocol = target.protocol if isinstance(target.protocol, str) else target.protocol[0]
    if protocol not in _LOCAL_PROTOCOLS and not target.path.split("/", 1)[0]:
        raise AirflowFailException(f"path={path!r} names no bucket; write it as {protocol}://<bucket>/<key>.")
    url = f"file://{target.path}" if protocol in _LOCAL_PROTOCOLS else f"{protocol}://{target.path}"
    return ExportTarget(path=target, url=url)


def export_asset_outlet(path: Any, task_id: str, dag: Any = None) -> Any:
    """The Asset an export task declares: the object itself, or an alias when ``path`` is templated."""
    if isinstance(path, str) and "://" in path and "{{" not in path and "{%" not in path:
        scheme = path.strip().split("://", 1)[0]
        try:
            return Asset(path.strip())
        except ValueError as err:  # Airflow checks the URL of each scheme it knows (e.g. an s3:// bucket)
            raise ValueError(
                f"path={path!r} is not a storage URL Airflow accepts ({err}). Write it as "
                f"{scheme}://<bucket>/<key>, e.g. s3://my-bucket/slack/audit.jsonl.gz."
            ) from None
    dag_id = getattr(dag, "dag_id", None)
    return AssetAlias(f"slack-audit-logs:{dag_id}.{task_id}" if dag_id else f"slack-audit-logs:{task_id}")


class _CountingWriter:
    """Passes bytes on to ``raw``, counts and hashes them (the stored object's size and sha256)."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.bytes = 0
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.raw.write(data)
        self.bytes += len(data)
        self.digest.update(data)
        return len(data)

    def flush(self) -> None:
        self.raw.flush()


#: Encoded chunks (about 1000 events, ~0.7 MB each) that may wait for the writer thread at once.
_CHUNKS_IN_FLIGHT = 4


class AtomicJsonLinesWriter:
    """Writes pages of events to a temporary sibling of the target and moves it into place on success.

    Compressing and storing happen in one background thread (zlib and file or network writes release
    the GIL) while the task's thread fetches and encodes the next events; at most a few chunks wait.

    :param target: where the finished file goes.
    :param gzip: compress the stream with gzip.
    :param overwrite: replace an object already at the target; False fails before anything is read.
    :param compresslevel: gzip's level (1 fastest .. 9 smallest).
    """

    def __init__(self, target: ExportTarget, *, gzip: bool, overwrite: bool, compresslevel: int = 6) -> None:
        self.target = target
        self.gzip = gzip
        self.overwrite = overwrite
        self.compresslevel = compresslevel
        self.events = 0
        self.temp = target.path.parent / f".{target.name}.{uuid.uuid4().hex[:12]}.partial"
        self._raw: Any = None
        self._counter: _CountingWriter | None = None
        self._stream: Any = None
        self._executor: ThreadPoolExecutor | None = None
        self._pending: deque[Future[Any]] = deque()

    @property
    def bytes(self) -> int:
        """Bytes written to storage so far (after compression)."""
        return self._counter.bytes if self._counter else 0

    @property
    def sha256(self) -> str:
        """sha256 of the bytes written to storage (the stored object's, once committed)."""
        return self._counter.digest.hexdigest() if self._counter else hashlib.sha256().hexdigest()

    def __enter__(self) -> AtomicJsonLinesWriter:
        if not self.overwrite and self.target.path.exists():
            raise AirflowFailException(
                f"{self.target.url} exists and overwrite=False. Delete it, write to another path, or set "
                "overwrite=True to replace it (a re-run of the same window does)."
            )
        if self.target.is_local:
            self.target.path.parent.mkdir(parents=True, exist_ok=True)
        self._raw = self.temp.open("wb")
        self._counter = _CountingWriter(self._raw)
        if self.gzip:
            # No file name and mtime 0 in the header: the same events give the same bytes on every store.
            self._stream = gzip.GzipFile(
                filename="", fileobj=self._counter, mode="wb", compresslevel=self.compresslevel, mtime=0
            )
        else:
            self._stream = self._counter
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slack-audit-writer")
        return self

    def write_page(self, entries: list[dict[str, Any]]) -> None:
        """Append one page of events, one compact JSON object per line (in chunks: the encoded page is never whole)."""
        if not entries:
            return
        for chunk in iter_lines_chunks(entries):
            while len(self._pending) >= _CHUNKS_IN_FLIGHT:
                self._pending.popleft().result()  # also raises what the writer thread hit
            self._pending.append(self._executor.submit(self._stream.write, chunk))  # type: ignore[union-attr]
        self.events += len(entries)

    def _drain(self) -> None:
        """Wait until every chunk handed to the writer thread is written; raise what it hit."""
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self._pending.clear()
            if self._executor is not None:
                self._executor.shutdown(wait=True)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self._commit()
        else:
            self._abort()

    def _commit(self) -> None:
        try:
            self._drain()
            if self._stream is not self._counter:
                self._stream.close()
            self._raw.close()
            self.temp.move(self.target.path)
        except BaseException:
            self._abort()
            raise

    def _abort(self) -> None:
        """Throw the partial object away; nothing is left at the target."""
        try:
            self._drain()  # the writer thread must be done with the file before it is thrown away
        except Exception:
            log.debug("the writer thread failed as well", exc_info=True)
        discard = getattr(self._raw, "discard", None)
        if callable(discard):
            try:
                discard()  # fsspec buffered files (S3, GCS): abort the upload instead of completing it
            except Exception:  # local files (autocommit) cannot discard: they are closed and deleted below
                log.debug("discarding the partial export failed", exc_info=True)
        try:
            self._raw.close()
        except Exception:
            log.debug("closing the partial export failed", exc_info=True)
        try:
            if self.temp.exists():
                self.temp.unlink()
        except Exception:
            log.warning("Could not delete the partial export %s; it is safe to delete by hand", self.temp)
