"""Reading one file for ``slack-audit verify``, once: its bytes' size and sha256, and its events' count, ids and
seconds (a :class:`Scan`).

Internal to :mod:`airflow_provider_slack_audit.cli.verify`.

:meta private:
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_slack_audit.cli.verify.report import iso
from airflow_provider_slack_audit.export.formats.parquet_reading import PARQUET_MAGIC
from airflow_provider_slack_audit.export.ids import SortedIdsDigest
from airflow_provider_slack_audit.export.stream import HashingReader, terminated_lines

#: What every gzip member starts with (RFC 1952).
GZIP_MAGIC = b"\x1f\x8b"
#: Ids handed to the digests at a time.
ID_BATCH = 1000
#: Events named in a failed window check (all are counted).
MAX_NAMED = 5


@dataclass
class Scan:
    """What a file holds, read once: its bytes' size and sha256, and its events' count, ids and seconds."""

    size: int = 0
    sha256: str = ""
    gzip: bool = False
    #: ``"parquet, <table schema> schema v<version>"`` for a Parquet export (its bytes start with PAR1); None for
    #: JSON Lines.
    parquet: str | None = None
    #: Why the file is not JSON Lines of audit events (gzip or plain) or a Parquet export; None when it is.
    error: str | None = None
    events: int = 0
    ids_sha256: str | None = None
    duplicates: int = 0
    duplicate_ids: list[str] = field(default_factory=list)
    first: int | None = None
    last: int | None = None
    #: Events without a date_create (absent or null): not placed in the window.
    undated: int = 0
    #: Events whose date_create is there but no integer (a float, a bool, a string...): Slack sends integers.
    not_integer: int = 0
    not_integer_named: list[str] = field(default_factory=list)
    outside: int = 0
    outside_named: list[str] = field(default_factory=list)
    #: Lines whose id cannot be encoded as UTF-8 (a lone surrogate): left out of the ids digests.
    unencodable: int = 0
    unencodable_named: list[str] = field(default_factory=list)


def _lines(stream: Any, scan: Scan) -> Iterator[bytes]:
    """The lines of ``stream`` without their line break; a last line without one is an error (a cut file), and
    so is a gzip stream that cannot be decompressed (only the reading is guarded: an error in what is done
    with a line is not taken for a damaged stream)."""
    lines = terminated_lines(stream)
    while True:
        try:
            line = next(lines)
        except StopIteration as end:
            rest = end.value
            break
        except (OSError, EOFError, zlib.error) as err:  # gzip: a cut or altered stream
            if not scan.gzip:
                raise  # a plain file that cannot be read: no finding about its bytes
            scan.error = f"the gzip stream is cut or altered after {scan.events} events ({err})"
            return
        yield line
    if rest:
        scan.error = f"line {scan.events + 1} does not end with a line break: the file was cut or appended to"


def _event_id(line: bytes, number: int) -> tuple[str | None, Any, str | None]:
    """``(id, date_create, None)`` of one line, or ``(None, None, why it is not an audit event)``."""
    if not line:
        return None, None, f"line {number} is empty"
    try:
        event = json.loads(line)
    except (ValueError, RecursionError) as err:  # RecursionError: nested deeper than the decoder goes
        return None, None, f"line {number} is not JSON ({err})"
    if not isinstance(event, dict):
        return None, None, f"line {number} is not a JSON object"
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id or "\n" in event_id:
        return None, None, f"line {number} has no id (a non-empty string without line breaks)"
    return event_id, event.get("date_create", None), None


def _encodable(event_id: str) -> bool:
    """Whether ``event_id`` can be written as UTF-8 (a lone surrogate, such as ``"\\ud800"`` in JSON, cannot):
    the ids digest hashes the ids' UTF-8 bytes."""
    try:
        event_id.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _Ids:
    """The ids of one file on their way to its digests: in batches; the ids UTF-8 cannot write counted instead.

    :param scan: where the unencodable ids are counted and, at :meth:`finish`, the digests' results go.
    :param every_id: a digest that also gets every id, or None.
    """

    def __init__(self, scan: Scan, every_id: SortedIdsDigest | None) -> None:
        self.scan = scan
        self.digest = SortedIdsDigest(find_duplicates=True)
        self.every_id = every_id
        self.batch: list[str] = []

    def add(self, event_id: str, unit: str) -> None:
        """Take the id of the scan's last counted event; ``unit`` is what the file holds events in (``line``,
        ``row``), to name an id left out."""
        if not _encodable(event_id):
            self.scan.unencodable += 1
            if len(self.scan.unencodable_named) < MAX_NAMED:
                self.scan.unencodable_named.append(f"{unit} {self.scan.events} ({event_id!a})")
            return
        self.batch.append(event_id)
        if len(self.batch) >= ID_BATCH:
            self._flush()

    def _flush(self) -> None:
        self.digest.update(self.batch)
        if self.every_id is not None:
            self.every_id.update(self.batch)
        self.batch.clear()

    def finish(self) -> None:
        """The whole file was read: record its ids digest and its duplicates in the scan."""
        self._flush()
        self.scan.ids_sha256 = self.digest.hexdigest()
        self.scan.duplicates, self.scan.duplicate_ids = self.digest.duplicates, self.digest.duplicate_ids

    def close(self) -> None:
        """Release the digest's temporary files (whether the file was read whole or not)."""
        self.digest.close()


def scan_file(path: Path, window: tuple[int, int] | None, every_id: SortedIdsDigest | None) -> Scan:
    """Read ``path`` once: hash its bytes, decompress them if they start as gzip does, and go through its lines.

    :param window: ``(oldest, latest)``: count the events dated outside it.
    :param every_id: a digest that also gets every id (the object's and its late files' together).
    """
    scan = Scan()
    ids = _Ids(scan, every_id)
    try:
        with path.open("rb") as raw:
            head = raw.read(len(PARQUET_MAGIC))
            if head == PARQUET_MAGIC:
                return _scan_parquet(path, scan, ids, window)
            scan.gzip = head[: len(GZIP_MAGIC)] == GZIP_MAGIC
            raw.seek(0)
            hashing = HashingReader(raw)
            stream: Any = gzip.GzipFile(fileobj=hashing, mode="rb") if scan.gzip else hashing
            for line in _lines(stream, scan):
                event_id, second, scan.error = _event_id(line, scan.events + 1)
                if scan.error:
                    break
                scan.events += 1
                ids.add(event_id, "line")  # type: ignore[arg-type]
                _place(scan, event_id, second, window)  # type: ignore[arg-type]
            hashing.drain()
        scan.size, scan.sha256 = hashing.size, hashing.digest.hexdigest()
        if scan.error is None:
            ids.finish()
    finally:
        ids.close()
    return scan


def _scan_parquet(path: Path, scan: Scan, ids: _Ids, window: tuple[int, int] | None) -> Scan:
    """:func:`scan_file` of a Parquet export: its bytes hashed as they are, its id and time columns read."""
    from airflow_provider_slack_audit.export.formats.parquet_reading import NotAnExport, iter_keys, open_parquet

    with path.open("rb") as raw:
        hashing = HashingReader(raw)
        hashing.drain()
    scan.size, scan.sha256 = hashing.size, hashing.digest.hexdigest()
    try:
        _, schema, version = open_parquet(path)
        scan.parquet = f"{schema} schema v{version}"
        for event_ids, seconds in iter_keys(path):
            for event_id, second in zip(event_ids, seconds, strict=True):
                scan.events += 1
                if not isinstance(event_id, str) or not event_id or "\n" in event_id:
                    scan.error = f"row {scan.events} has no id (a non-empty string without line breaks)"
                    return scan
                ids.add(event_id, "row")
                _place(scan, event_id, second, window)
    except (NotAnExport, ImportError) as err:
        scan.error = str(err)
        return scan
    ids.finish()
    return scan


def _place(scan: Scan, event_id: str, second: Any, window: tuple[int, int] | None) -> None:
    if second is None:
        scan.undated += 1
        return
    if type(second) is not int:
        scan.not_integer += 1
        if len(scan.not_integer_named) < MAX_NAMED:
            shown = json.dumps(second)[:40] if isinstance(second, (bool, float, str)) else type(second).__name__
            scan.not_integer_named.append(f"{event_id} ({shown})")
        return
    scan.first = second if scan.first is None else min(scan.first, second)
    scan.last = second if scan.last is None else max(scan.last, second)
    if window is not None and not window[0] <= second <= window[1]:
        scan.outside += 1
        if len(scan.outside_named) < MAX_NAMED:
            scan.outside_named.append(f"{event_id} ({second}, {iso(second)})")
