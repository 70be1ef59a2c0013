"""A window's events as one Parquet file, written through the export's writer like JSON Lines.

:class:`ParquetExportWriter` is an :class:`~airflow_provider_slack_audit.export.writer.ExportWriter` whose
pages become rows of a table (flat or OCSF) instead of lines: the rows are gathered into row groups of exactly
:data:`ROW_GROUP_ROWS` (the last one fewer), and the file's bytes go through the very same path as a JSON Lines
export's (counted, hashed, handed to the sink, committed in one step, or thrown away on abort or kill).

The task's thread fetches the next page (and records its ids) while a background thread makes the rows of the
page before (:func:`table_maker`) and, once a row group is whole, encodes it (pyarrow, which releases the GIL:
the fetch, the walk's bookkeeping and the encoding run at once). One page at a time is handed on, so memory is
bounded by two pages and one row group, never by the window; what the thread hits is raised in the task's thread
at its next write or at the commit, so nothing half-written is ever committed.

:meta private:
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from airflow_provider_slack_audit.client.jsonio import dumps_lines
from airflow_provider_slack_audit.client.raw_page import RawPage
from airflow_provider_slack_audit.export.formats.arrow import POOL, pa, pq
from airflow_provider_slack_audit.export.formats.choice import PARQUET_CODEC, ExportFormat
from airflow_provider_slack_audit.export.storage import ExportAborted, StorageSink
from airflow_provider_slack_audit.export.writer import ExportWriter

log = logging.getLogger(__name__)

#: Rows of a row group: about 10 MB of Arrow data for Slack's events (most of it the raw column).
ROW_GROUP_ROWS = 10_000
#: Events decoded at a time into Python records (about 2.6 KB each while their columns are built): 500 rather
#: than 1,000 keeps a chunk's records in the CPU's caches: 0-5% less time per event for the flat table, ~15% less
#: for OCSF, and 2,000 ~25% more (bench/table_rows.py, bench/results-2026-12-08-table-rows.md); 1,000 rather than
#: 2,000 was also ~15 MB less at the peak.
DECODE_ROWS = 500
#: Bytes of the encoded file gathered before they are handed to the export's writer.
WRITE_CHUNK = 1 << 20


#: The columns of each table schema whose values are (nearly) all different.
UNIQUE_COLUMNS = {
    "flat": {"id", "date_create", "raw", "details", "context_session_id", "context_ip_address"},
    "ocsf": {"metadata.uid", "time", "raw_data", "unmapped", "actor.session.uid", "src_endpoint.ip"},
}


def _leaf_paths(schema: Any) -> list[str]:
    """The dotted paths of a schema's leaf columns (``metadata.uid``), as Parquet names them."""
    paths = []

    def walk(kind: Any, path: str) -> None:
        if pa.types.is_struct(kind):
            for field in kind:
                walk(field.type, f"{path}.{field.name}")
        else:
            paths.append(path)

    for field in schema:
        walk(field.type, field.name)
    return paths


def table_maker(schema: str) -> tuple[Any, Callable[[list[Any], list[Any], list[Any]], Any]]:
    """The Arrow schema of a table schema (``"flat"`` or ``"ocsf"``) and the function that makes a page's table."""
    if schema == "ocsf":
        from airflow_provider_slack_audit.export.formats.ocsf import ocsf_schema, ocsf_table

        return ocsf_schema(), ocsf_table
    from airflow_provider_slack_audit.export.formats.flat import flat_schema, flat_table

    return flat_schema(), flat_table


class _EncodedBytes:
    """The file object pyarrow writes the Parquet file into: hands the bytes, in chunks, to the export's writer."""

    def __init__(self, writer: ExportWriter) -> None:
        self.writer = writer
        self.position = 0
        self.closed = False
        self._buffer = bytearray()

    def write(self, data: Any) -> int:
        size = len(data) if isinstance(data, bytes) else memoryview(data).nbytes
        self._buffer += data
        self.position += size
        if len(self._buffer) >= WRITE_CHUNK:
            self.flush()
        return size

    def flush(self) -> None:
        if self._buffer:
            chunk, self._buffer = bytes(self._buffer), bytearray()
            ExportWriter.write_lines(self.writer, chunk, 0)

    def tell(self) -> int:
        return self.position

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True


class ParquetExportWriter(ExportWriter):
    """One export's events as a Parquet file of the table ``export_format.schema``, from pages to a committed object.

    Used like :class:`ExportWriter` (``write_raw_page``, ``commit``, ``abort``; ``events``, ``bytes`` and
    ``sha256`` count the stored file); ``write_lines`` is not for callers (the bytes are Parquet's). A page given
    to :meth:`write_raw_page` is read later, on the build thread: it must not change afterwards.

    :param sink: where the stored bytes go until the commit.
    :param export_format: a Parquet :class:`ExportFormat` (its ``schema`` picks the table).
    :param row_group_rows: rows per row group (every row group but the last has exactly this many).
    """

    def __init__(self, sink: StorageSink, export_format: ExportFormat, *, row_group_rows: int = ROW_GROUP_ROWS) -> None:
        if row_group_rows < 1:
            raise ValueError(f"row_group_rows={row_group_rows!r}: a row group holds at least one row")
        super().__init__(sink, gzip=False)
        self.export_format = export_format
        self.row_group_rows = row_group_rows
        self.schema, self._make_table = table_maker(export_format.schema or "flat")
        self._rows: list[Any] = []  # tables of the row group being gathered (on the rows thread)
        self._row_count = 0
        self._file: _EncodedBytes | None = None
        self._parquet: Any = None
        self._thread: ThreadPoolExecutor | None = None
        self._in_progress: Future[Any] | None = None  # the page handed to the rows thread

    def open(self) -> ParquetExportWriter:
        super().open()
        self._file = _EncodedBytes(self)
        self._parquet = pq.ParquetWriter(
            self._file,
            self.schema,
            compression=PARQUET_CODEC,
            memory_pool=POOL,
            # columns of (nearly) unique values are not dictionary-encoded: a dictionary would only cost time and
            # hold the column chunk in memory until it falls back
            use_dictionary=[
                path for path in _leaf_paths(self.schema) if path not in UNIQUE_COLUMNS[self.export_format.schema]
            ],
        )
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slack-audit-parquet")
        return self

    def write_lines(self, chunk: bytes, events: int) -> None:
        raise TypeError("a Parquet export takes pages of events (write_raw_page), not lines")

    def write_page(self, entries: list[dict[str, Any]]) -> None:
        """Append one page of events given as dicts (encoded as compact JSON, which becomes ``raw``)."""
        lines = dumps_lines(entries).split(b"\n")[:-1] if entries else []
        ids = [e.get("id") if isinstance(e.get("id"), str) else None for e in entries]
        self.write_raw_page(RawPage(lines, ids, [e.get("date_create") for e in entries]))

    def write_raw_page(self, page: RawPage) -> None:
        """Append a page's events as rows (made on the rows thread once the page before is done)."""
        if self._state != "open":
            raise ExportAborted(f"cannot write: the export is {self._state}")
        if not len(page):
            return
        if None in page.ids:
            raise ValueError(
                "an event without a string id cannot be a row of a Parquet export (its id column is not null); "
                "Slack sends every event with one: export this window as JSON Lines to keep it as sent"
            )
        self._wait()  # raises what the page before hit
        assert self._thread is not None
        self._in_progress = self._thread.submit(self._add_page, page)
        self.events += len(page)

    def _add_page(self, page: RawPage) -> None:
        """Make the page's rows (on the rows thread), :data:`DECODE_ROWS` at a time, never across row groups; encode
        each row group once whole."""
        start = 0
        while start < len(page):
            end = min(start + DECODE_ROWS, start + self.row_group_rows - self._row_count, len(page))
            self._rows.append(self._make_table(page.lines[start:end], page.ids[start:end], page.seconds[start:end]))
            self._row_count += end - start
            start = end
            if self._row_count >= self.row_group_rows:
                self._encode_row_group()

    def _encode_row_group(self) -> None:
        """Encode the gathered rows as one row group, then give their memory back."""
        if not self._rows:
            return
        table = pa.concat_tables(self._rows, memory_pool=POOL)  # no copy: the tables' arrays become its chunks
        self._rows, self._row_count = [], 0
        self._parquet.write_table(table, row_group_size=len(table))
        del table
        POOL.release_unused()

    def _wait(self) -> None:
        if self._in_progress is not None:
            in_progress, self._in_progress = self._in_progress, None
            in_progress.result()  # raises what the rows thread (or the write under it) hit

    def commit(self) -> None:
        """Make the last rows, encode the last row group, write the file's footer, then commit as JSON Lines
        exports do."""
        if self._state != "open":
            raise self._cannot_commit()
        try:
            self._wait()
            self._encode_row_group()
            self._parquet.close()  # the footer
            assert self._file is not None
            self._file.flush()
        except BaseException:
            self.abort()
            self.close()
            raise
        finally:
            self._stop_thread()
        super().commit()

    def _stop_thread(self) -> None:
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None

    def close(self) -> None:
        """After an abort: stop the rows thread and release what is held (never publishes)."""
        try:
            self._wait()
        except Exception:  # the abort made the rows thread's writes fail: expected
            log.debug("the Parquet export's rows thread stopped with the abort", exc_info=True)
        self._stop_thread()
        self._rows = []
        super().close()
