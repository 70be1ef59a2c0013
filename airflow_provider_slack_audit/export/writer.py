"""Writing a window of events to storage as JSON Lines, all or nothing.

:class:`ExportWriter` is the seam every export goes through: it takes events (``write_page``) or lines
already encoded (``write_lines``), compresses them in a background thread, counts and hashes the stored
bytes (``events``, ``bytes``, ``sha256``), and ends in one :meth:`~ExportWriter.commit` or one
:meth:`~ExportWriter.abort` (used by failures and by ``on_kill``). Where the bytes go until the commit
is the job of a sink (:mod:`.storage`): temp-and-rename locally, one conditional upload elsewhere.

Internal to the export and reconcile operators; not an API.

:meta private:
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from airflow.providers.common.compat.sdk import AirflowFailException, ObjectStoragePath

from airflow_provider_slack_audit.client.jsonio import CHUNK_ENTRIES, iter_lines_chunks
from airflow_provider_slack_audit.client.raw_page import RawPage
from airflow_provider_slack_audit.export.parallel_gzip import ParallelGzipWriter
from airflow_provider_slack_audit.export.storage import (
    DEFAULT_STALE_AFTER,
    ExportAborted,
    LocalFileSink,
    ObjectStoreSink,
    StorageSink,
)

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

    def sibling(self, name: str) -> ExportTarget:
        """The object ``name`` in the same folder (a late file, say), with its URL."""
        return ExportTarget(path=self.path.parent / name, url=f"{self.url.rsplit('/', 1)[0]}/{name}")


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


class _StoredBytes:
    """The file object gzip writes into: counts and hashes the stored bytes and hands them to the sink."""

    def __init__(self, sink: StorageSink) -> None:
        self.sink = sink
        self.bytes = 0
        self.hash = hashlib.sha256()

    def write(self, data: bytes) -> int:
        if data:
            self.sink.write(data)
            self.hash.update(data)
            self.bytes += len(data)
        return len(data)

    def flush(self) -> None:
        pass


#: Encoded chunks (about 1000 events, ~0.7 MB each) that may wait for the writer thread at once.
_CHUNKS_IN_FLIGHT = 4


class ExportWriter:
    """One export's bytes, from encoded lines to a committed object.

    gzip output is compressed on every core, as a series of gzip members (one gzip file to every
    reader; see :class:`ParallelGzipWriter`); plain output is stored by one background thread. Either
    way (zlib and file or network writes release the GIL) the task's thread fetches the next page
    meanwhile, and at most a few chunks wait.

    Use it as a context manager (the body's exception aborts, a clean exit commits) or call
    :meth:`open`, :meth:`commit` and :meth:`abort` yourself. :meth:`abort` is safe from a signal handler
    and from another thread (``on_kill``); after it, every write and the commit raise
    :class:`ExportAborted`. Once :meth:`commit` returned, the object is in place and :meth:`abort` is
    a no-op.

    :param sink: where the stored bytes go until the commit (see :func:`open_sink`).
    :param gzip: compress the stream with gzip.
    :param compresslevel: gzip's level (1 fastest .. 9 smallest).
    """

    def __init__(self, sink: StorageSink, *, gzip: bool, compresslevel: int = 6) -> None:
        self.sink = sink
        self.gzip = gzip
        self.compresslevel = compresslevel
        self.events = 0
        self._stored = _StoredBytes(sink)
        self._stream: Any = None
        self._executor: ThreadPoolExecutor | None = None
        self._pending: deque[Future[Any]] = deque()
        self._state = "new"  # new -> open -> committing -> committed, or -> aborted
        self._lock = threading.Lock()

    @property
    def bytes(self) -> int:
        """Bytes stored so far (after compression)."""
        return self._stored.bytes

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the bytes stored so far (after compression): of the whole object once committed."""
        return self._stored.hash.hexdigest()

    @property
    def aborted(self) -> bool:
        return self._state == "aborted"

    def open(self) -> ExportWriter:
        """Open the sink and the writer thread. Nothing is created at or beside the target before this."""
        if self._state != "new":
            raise ExportAborted(f"cannot open: the export is {self._state}")
        self.sink.open()
        try:
            if self.gzip:
                # No file name and mtime 0 in the headers: the same events give the same bytes on every store.
                self._stream = ParallelGzipWriter(self._stored, compresslevel=self.compresslevel)
            else:
                self._stream = self._stored
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slack-audit-writer")
            with self._lock:
                if self._state == "aborted":  # killed while opening
                    raise ExportAborted("the export was aborted while it opened")
                self._state = "open"
        except BaseException:
            self.abort()
            self.close()
            raise
        return self

    def write_page(self, entries: list[dict[str, Any]]) -> None:
        """Append one page of events, one compact JSON object per line (in chunks: the encoded page is never whole)."""
        for chunk in iter_lines_chunks(entries):
            self.write_lines(chunk, 0)
        self.events += len(entries)

    def write_lines(self, chunk: bytes, events: int) -> None:
        """Append ``chunk``, whole JSON lines already encoded (each ending in a newline) holding ``events`` events."""
        if self._state != "open":
            raise ExportAborted(f"cannot write: the export is {self._state}")
        if self._executor is None:  # gzip: the members are compressed on their own threads
            self._stream.write(chunk)
            self.events += events
            return
        while len(self._pending) >= _CHUNKS_IN_FLIGHT:
            self._pending.popleft().result()  # also raises what the writer thread hit
        self._pending.append(self._executor.submit(self._stream.write, chunk))  # type: ignore[union-attr]
        self.events += events

    def write_raw_page(self, page: RawPage) -> None:
        """Append a page's events as Slack sent them: each entry's JSON bytes, one per line."""
        lines = page.lines
        for start in range(0, len(lines), CHUNK_ENTRIES):
            piece = lines[start : start + CHUNK_ENTRIES]
            self.write_lines(b"\n".join(piece) + b"\n", len(piece))

    def _drain(self) -> None:
        """Wait until every chunk handed to the writer thread is written; raise what it hit."""
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self._pending.clear()
            if self._executor is not None:
                self._executor.shutdown(wait=True)

    def commit(self) -> None:
        """Write what is pending, end the stream and make the object appear at the target in one step.

        On any failure the export is aborted and the error raised: nothing appears at the target.
        """
        with self._lock:
            state = self._state
            if state == "open":
                self._state = "committing"
        if state != "open":
            raise self._cannot_commit()
        try:
            self._drain()
            if self._stream is not self._stored:
                self._stream.close()  # the last member, then every member still in flight, in order
            self.sink.commit()
        except BaseException:
            self.abort()
            self.close()
            raise
        with self._lock:
            if self._state == "committing":
                self._state = "committed"

    def _cannot_commit(self) -> ExportAborted:
        """The error of a commit that comes too late: after an abort (``on_kill``), first release the writer's
        threads and files, which no one else will."""
        if self._state == "aborted":
            self.close()
        return ExportAborted(f"cannot commit: the export is {self._state}")

    def abort(self) -> None:
        """Throw the export away: nothing appears at the target, an earlier object there stays as it was.

        Idempotent; safe from a signal handler or another thread while a write is under way. Does nothing
        once the commit has completed.
        """
        if self._state == "committed":
            return
        self._state = "aborted"
        try:
            self.sink.abort()
        except Exception:
            log.warning("Could not throw away the partial export at %s", self.sink, exc_info=True)

    def close(self) -> None:
        """After an abort: wait for the writer thread and release files and buffers (never publishes)."""
        try:
            self._drain()
            if isinstance(self._stream, ParallelGzipWriter):
                self._stream.abort()  # the compressing threads are done too, nothing more is written
        except Exception:
            log.debug("the writer thread failed as well", exc_info=True)
        try:
            self.sink.close()
        except Exception:
            log.debug("releasing the partial export failed", exc_info=True)

    def __enter__(self) -> ExportWriter:
        return self.open()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()
            self.close()


def open_sink(
    target: ExportTarget, *, overwrite: bool, stale_after: float = DEFAULT_STALE_AFTER
) -> StorageSink:
    """The sink for ``target``: temp-and-rename on local files, one conditional upload on object stores.

    :param overwrite: replace an existing object; False refuses one, also one that appears during the export.
    :param stale_after: (local files) seconds after which a killed run's temporary of this target is removed.
    """
    if target.is_local:
        return LocalFileSink(target.path.path, target.url, overwrite=overwrite, stale_after=stale_after)
    return ObjectStoreSink(target.path, target.url, overwrite=overwrite)
