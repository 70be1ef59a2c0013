"""A ``logs`` page split into its entries' exact bytes with the standard library alone.

:meta private:

:mod:`.raw_page` reads pages with msgspec, which refuses some of what Slack may send: a lone
surrogate escape (``"\\ud83d"``, what a producer that cuts an emoji in half writes), ``NaN``,
numbers beyond a double. Those bodies, and every body on a machine without msgspec, are read here:
the standard ``json`` module decodes each entry in place (``raw_decode`` at its position in the
body), and each entry's text is cut out of the body as it came, so the bytes written are Slack's
bytes whichever reader ran. An entry spread over several lines has its whitespace between tokens
taken out (every byte inside its strings kept), as msgspec's reader does.

What cannot be carried is said precisely: a body cut short (or not JSON at all) is a
:class:`RawPageError` (the client retries it); a complete body in which one entry is not JSON, not
an object or not UTF-8 is an :class:`UnreadableEntryError` naming that entry (not retried: Slack
would send the same entry again).
"""

from __future__ import annotations

import json
import mmap
import re
from typing import Any, NamedTuple

from airflow_provider_slack_audit.client.entry_rules import RawPageError, UnreadableEntryError, excerpt
from airflow_provider_slack_audit.client.jsonio import _float, _non_finite

_WHITESPACE = re.compile(r"[ \t\n\r]*")
#: A JSON token as far as nesting goes: a whole string, a bracket, a comma or colon, or a run of anything else.
_LEXEME = re.compile(r'"(?:[^"\\]|\\.)*"|"|[{}\[\],:]|[^"{}\[\],:]+', re.S)
#: A whole string, or whitespace between tokens (taken out of an entry that spans lines).
_STRING_OR_SPACE = re.compile(r'("(?:[^"\\]|\\.)*")|[ \t\n\r]+', re.S)
#: Characters ``surrogateescape`` makes of bytes that are not UTF-8.
_NOT_UTF8 = re.compile("[\udc80-\udcff]")

_decoder = json.JSONDecoder(parse_constant=_non_finite, parse_float=_float)


class SplitPage(NamedTuple):
    """The entries of a page: each one's bytes on one line, its id and date_create as decoded."""

    lines: list[bytes]
    ids: list[Any]
    seconds: list[Any]
    next_cursor: Any
    ok: Any
    error: Any


def _skip_ws(text: str, pos: int) -> int:
    return _WHITESPACE.match(text, pos).end()  # type: ignore[union-attr]


def _value(text: str, pos: int) -> tuple[Any, int]:
    """The JSON value at ``pos`` and where it ends; a body that is not JSON there is a :class:`RawPageError`."""
    try:
        return _decoder.raw_decode(text, pos)
    except (ValueError, RecursionError):
        raise RawPageError("a body that is cut short or not JSON") from None


def _expect(text: str, pos: int, chars: str) -> tuple[str, int]:
    pos = _skip_ws(text, pos)
    if pos >= len(text) or text[pos] not in chars:
        raise RawPageError("a body that is cut short or not JSON")
    return text[pos], pos + 1


def _is_complete(text: str, start: int) -> bool:
    """Whether the JSON text from ``start`` (inside the top-level object) closes it, with nothing but
    whitespace after: the body came whole, so an entry that does not decode is Slack's, not the network's."""
    depth = 2  # inside the top-level object and the entries array
    for match in _LEXEME.finditer(text, start):
        lexeme = match.group()
        if lexeme == '"':
            return False  # a string that never ends
        if lexeme in "{[":
            depth += 1
        elif lexeme in "}]":
            depth -= 1
            if depth == 0:
                return not text[match.end() :].strip(" \t\n\r")
    return False


def _unreadable(text: str, index: int, problem: str, start: int, end: int, offset_of: Any) -> RawPageError:
    """The error for entry ``index`` (``text[start:end]``): named when the body is whole, else a cut body."""
    if not _is_complete(text, start):
        return RawPageError("a body that is cut short or not JSON")
    return UnreadableEntryError(index, problem, offset=offset_of(start), excerpt=excerpt(_encode(text[start:end])))


def _entry_bytes(text: str, start: int, end: int, index: int, offset_of: Any) -> bytes:
    """Entry ``index``'s bytes as they came, on one line."""
    piece = text[start:end]
    if _NOT_UTF8.search(piece):
        raise _unreadable(text, index, "not UTF-8, as JSON must be", start, end, offset_of)
    if "\n" in piece or "\r" in piece:
        piece = _STRING_OR_SPACE.sub(lambda m: m.group(1) or "", piece)
    return _encode(piece)


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def split_page(body: bytes | mmap.mmap | str) -> SplitPage:
    """The entries of the ``logs`` answer ``body``, each as the bytes Slack sent (see the module).

    Raises:
        RawPageError: the body is cut short, not JSON, not an object, or has no ``entries`` list.
        UnreadableEntryError: the body is whole but one entry is not JSON, not an object or not UTF-8.
    """
    text = body if isinstance(body, str) else str(body, "utf-8", "surrogateescape")  # bytes or any buffer
    utf8 = isinstance(body, str) or not _NOT_UTF8.search(text)

    def offset_of(pos: int) -> int:
        return pos if utf8 and text.isascii() else len(_encode(text[:pos]))

    lines: list[bytes] = []
    ids: list[Any] = []
    seconds: list[Any] = []
    found_entries = False
    fields: dict[str, Any] = {}
    pos = _skip_ws(text, 0)
    if not text.startswith("{", pos):
        _value(text, pos)  # not JSON at all: says so
        raise RawPageError("a body that is not a JSON object")
    char, pos = "{", pos + 1
    if text.startswith("}", _skip_ws(text, pos)):
        raise RawPageError("no entries list")
    while char != "}":
        key, pos = _value(text, _skip_ws(text, pos))
        if not isinstance(key, str):
            raise RawPageError("a body that is cut short or not JSON")
        _, pos = _expect(text, pos, ":")
        pos = _skip_ws(text, pos)
        if key == "entries" and text.startswith("[", pos):
            found_entries = True
            lines, ids, seconds = [], [], []
            pos = _skip_ws(text, pos + 1)
            index = 0
            char, pos = ("]", pos + 1) if text.startswith("]", pos) else (",", pos)
            while char == ",":
                pos = _skip_ws(text, pos)
                try:
                    entry, end = _decoder.raw_decode(text, pos)
                except (ValueError, RecursionError) as err:
                    why = err.msg if isinstance(err, json.JSONDecodeError) else "nested too deeply"
                    raise _unreadable(text, index, f"not JSON ({why})", pos, len(text), offset_of) from None
                if not isinstance(entry, dict):
                    problem = f"not a JSON object ({type(entry).__name__})"
                    raise _unreadable(text, index, problem, pos, end, offset_of)
                lines.append(_entry_bytes(text, pos, end, index, offset_of))
                ids.append(entry.get("id"))
                seconds.append(entry.get("date_create"))
                index += 1
                char, pos = _expect(text, end, ",]")
        else:
            fields[key], pos = _value(text, pos)
        char, pos = _expect(text, pos, ",}")
    if text[pos:].strip(" \t\n\r"):
        raise RawPageError("a body that is cut short or not JSON")
    if not found_entries:
        raise RawPageError("no entries list")
    metadata = fields.get("response_metadata")
    cursor = metadata.get("next_cursor") if isinstance(metadata, dict) else None
    return SplitPage(lines, ids, seconds, cursor, fields.get("ok"), fields.get("error"))


__all__ = ["SplitPage", "split_page"]
