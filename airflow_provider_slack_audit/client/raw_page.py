"""A ``logs`` page read without building its events: each entry's bytes as Slack sent them.

An export copies events from Slack to a file; it needs to know only two things about each one:
its ``id`` (to write it once) and its ``date_create`` (to check it belongs to the window). Decoding
every entry into dicts and encoding them again is most of an export's work otherwise (see
``bench/``), and changes nothing in the file. :func:`read_raw_page` therefore splits the body into
its entries' JSON texts (msgspec, which Airflow installs, gives each as a view of the body) and
decodes only those two fields of each.

Each entry's text becomes one line of JSON Lines: Slack's answers are compact, so it is written as
it came; an entry with a line break inside (a pretty-printed body) has its whitespace taken out,
every other byte kept (strings, escapes, numbers as written). A body msgspec refuses (``NaN``,
a lone surrogate escape such as ``"\\ud83d"``) or a machine without msgspec falls back to the
standard library (:mod:`.page_spans`), which cuts the same bytes out of the body: what is written
does not depend on the reader. An entry that cannot be carried (not JSON, not an object, not UTF-8)
is an :class:`UnreadableEntryError` that names it.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from airflow_provider_slack_audit.client.entry_rules import RawPageError, UnreadableEntryError, excerpt, offset_of
from airflow_provider_slack_audit.client.page_spans import split_page

if TYPE_CHECKING:
    import mmap

try:
    import msgspec
except ImportError:  # pragma: no cover - Airflow installs it; tests force this path by hiding it
    msgspec = None  # type: ignore[assignment]

#: Bytes of a mapped body read at a time (64 KiB: 0.7 ms to decode a 7 MB page, 1 MiB took 5.8 ms).
_PIECE = 1 << 16

__all__ = ["RawEntry", "RawPage", "RawPageError", "UnreadableEntryError", "read_raw_page"]


class RawEntry(NamedTuple):
    """One event of a page.

    Attributes:
        json: the event's JSON text on one line, without the line end (bytes or a view of the body).
        id: its ``id`` when that is a string, else None (a walk refuses such an entry, see :mod:`.entry_rules`).
        date_create: its ``date_create`` as decoded (an int on Slack's answers), None when absent.
    """

    json: bytes | Any
    id: str | None
    date_create: Any


@dataclass
class RawPage:
    """The entries of one ``logs`` answer and the cursor of the next page.

    Held as three lists of the same length, not an object per event: a page is 10,000 events, and
    objects the cycle collector tracks cost more than the copy itself (see ``bench/``).

    Attributes:
        lines: each event's JSON text on one line, without the line end (bytes or views of the body).
        ids: each event's ``id`` when it is a string, else None (a walk refuses such an entry).
        seconds: each event's ``date_create`` as decoded (an int on Slack's answers), None when absent.
        next_cursor: the cursor of the next page, or None at the end (absent or empty).
    """

    lines: list[Any]
    ids: list[str | None]
    seconds: list[Any]
    next_cursor: str | None = None

    def __len__(self) -> int:
        return len(self.lines)

    def __iter__(self) -> Iterator[RawEntry]:
        return map(RawEntry, self.lines, self.ids, self.seconds)

    def subset(self, keep: Iterable[int]) -> RawPage:
        """The page with only the entries at the indexes ``keep`` (in that order)."""
        keep = list(keep)
        return RawPage(
            [self.lines[i] for i in keep],
            [self.ids[i] for i in keep],
            [self.seconds[i] for i in keep],
            self.next_cursor,
        )


def _id(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _next_cursor(cursor: Any) -> str | None:
    if cursor is not None and not isinstance(cursor, str):
        raise RawPageError(f"a next_cursor that is not a string ({cursor!r})")
    return cursor or None


def _check_not_an_error(ok: Any, error: Any) -> None:
    """A body that says it failed (``"ok": false``) is not a page, entries or not."""
    if ok is False:
        raise RawPageError(f'"ok": false ({error!r})')


def _read_split(body: bytes | mmap.mmap | str) -> RawPage:
    """The standard-library path (:mod:`.page_spans`): the same bytes, read without msgspec."""
    split = split_page(body)
    _check_not_an_error(split.ok, split.error)
    return RawPage(split.lines, list(map(_id, split.ids)), split.seconds, _next_cursor(split.next_cursor))


if msgspec is not None:

    class _Body(msgspec.Struct):
        entries: list[msgspec.Raw]
        response_metadata: Any = None
        ok: Any = None
        error: Any = None

    class _Key(msgspec.Struct, gc=False):  # untracked by the cycle collector: 10,000 a page
        id: Any = None
        date_create: Any = None

    _decode_body = msgspec.json.Decoder(_Body).decode
    _decode_key = msgspec.json.Decoder(_Key).decode
    _compact = msgspec.json.format

    def _split(body: bytes | mmap.mmap | str) -> _Body | None:
        """The body's entries as views, or None when msgspec cannot tell (the fallback decides)."""
        try:
            return _decode_body(body)
        except msgspec.ValidationError as err:  # standard JSON, but not the shape of a page
            if "`$." in str(err) or "entries" in str(err):  # entries missing, or not a list
                raise RawPageError("no entries list") from None
            raise RawPageError("a body that is not a JSON object") from None
        except msgspec.DecodeError:
            return None

    def read_raw_page(body: bytes | mmap.mmap | str) -> RawPage:
        """The entries of the ``logs`` answer ``body`` (its bytes, their mapping, or its text) and its next cursor.

        Raises :class:`RawPageError` when the body is not a page: not JSON or cut short, not an
        object, no ``entries`` list, a ``next_cursor`` that is not a string; its subclass
        :class:`UnreadableEntryError` when one entry cannot be carried (not JSON, not an object,
        not UTF-8). The entries' texts are views of ``body``: they keep it in memory while they live.
        """
        utf8, breaks = _scan(body)
        split = _split(body) if utf8 else None  # msgspec does not check the bytes it keeps raw
        if split is None:
            return _read_split(body)
        _check_not_an_error(split.ok, split.error)
        lines: list[Any] = split.entries
        try:
            keys = list(map(_decode_key, lines))
        except msgspec.ValidationError:
            for index, raw in enumerate(lines):
                value = msgspec.json.decode(raw)
                if not isinstance(value, dict):
                    raise UnreadableEntryError(
                        index,
                        f"not a JSON object ({type(value).__name__})",
                        offset=offset_of(body, raw),
                        excerpt=excerpt(raw),
                    ) from None
            raise  # pragma: no cover - every entry decoded as an object
        ids = [key.id for key in keys]
        if ids and set(map(type, ids)) != {str}:  # the common case, all strings, checked at C speed
            ids = list(map(_id, ids))
        if breaks:  # some entry may span lines (whitespace between them too)
            lines = [_one_line(raw) for raw in lines]
        metadata = split.response_metadata
        cursor = metadata.get("next_cursor") if isinstance(metadata, dict) else None
        return RawPage(lines, ids, [key.date_create for key in keys], _next_cursor(cursor))

    def _scan(body: bytes | mmap.mmap | str) -> tuple[bool, bool]:
        """Whether ``body`` is UTF-8, and whether it has a line break (both in one pass, no copy of the whole).

        Bytes that are not all ASCII, and a mapping, are read :data:`_PIECE` bytes at a time (a mapping's
        own ``find`` is a byte-by-byte loop before Python 3.11: 4 ms a page); the UTF-8 decoder runs from
        the first piece that is not ASCII on.
        """
        if isinstance(body, str):
            return True, "\n" in body or "\r" in body
        if isinstance(body, bytes) and body.isascii():  # the usual page: 0.5 ms for 7 MB
            return True, b"\n" in body or b"\r" in body
        decoder = None
        breaks = False
        try:
            for piece in map(bytes, _pieces(body)):
                breaks = breaks or b"\n" in piece or b"\r" in piece
                if decoder is None and piece.isascii():
                    continue
                decoder = decoder or codecs.getincrementaldecoder("utf-8")()
                decoder.decode(piece)
            if decoder is not None:
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False, breaks
        return True, breaks

    def _pieces(body: bytes | mmap.mmap) -> Iterator[memoryview]:
        """``body`` as views of :data:`_PIECE` bytes each."""
        with memoryview(body) as view:
            for start in range(0, len(view), _PIECE):
                yield view[start : start + _PIECE]

    def _one_line(raw: Any) -> Any:
        """An entry's text as is, or with its whitespace taken out when it spans lines."""
        data = bytes(raw)
        return _compact(data, indent=-1) if b"\n" in data or b"\r" in data else raw

else:  # pragma: no cover
    read_raw_page = _read_split
