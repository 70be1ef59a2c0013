"""What makes an audit event identifiable, and how an entry that is not is named in an error.

:meta private:

An export writes each event once, by its ``id``; an event's ``id`` is therefore what it stands on.
An id is a non-empty string, without a line break (the manifest's ids digest joins ids by lines),
that can be written as UTF-8 (a lone surrogate, ``"\\ud83d"`` in JSON, cannot). This module is the
one home of that rule (:func:`id_problem`, :func:`ids_block`); the walk refuses an entry that breaks
it, and the export's id digests (``export.ids``) use the same functions.

An entry that cannot be identified, or cannot be read at all (not JSON, not an object, not UTF-8),
is an :class:`UnreadableEntryError`: which entry (its position in the page, the byte it starts at in
the body) and a short, escaped excerpt, never the whole body.
"""

from __future__ import annotations

import mmap
from typing import Any

#: Characters of an entry shown in an error (escaped: one line, ASCII, no control character).
EXCERPT_CHARS = 120


class RawPageError(ValueError):
    """The body is not a page of entries; the message completes "answered HTTP 200 with ..."."""


class UnreadableEntryError(RawPageError):
    """One entry of a page cannot be carried: not JSON, not an object, not UTF-8, or without a usable id.

    Retrying cannot help (Slack serves the same entry again), so the answer is not retried.

    Attributes:
        index: the entry's position in the page's ``entries`` (0 for the first).
        offset: the byte of the body the entry starts at, or None when unknown (a decoded body).
        problem: what is wrong with it, in words.
        excerpt: the start of the entry, escaped (see :func:`excerpt`).
    """

    def __init__(self, index: int, problem: str, *, offset: int | None = None, excerpt: str = "") -> None:
        self.index = index
        self.offset = offset
        self.problem = problem
        self.excerpt = excerpt
        super().__init__(f"an entry it cannot read ({describe(index, problem, offset, excerpt)})")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.index, self.problem, self.offset, self.excerpt))


def _rebuild(index: int, problem: str, offset: int | None, text: str) -> UnreadableEntryError:
    return UnreadableEntryError(index, problem, offset=offset, excerpt=text)


def describe(index: int, problem: str, offset: int | None, text: str) -> str:
    """``entry <index> (byte <offset> of the body): <problem>; it starts <excerpt>``."""
    where = f"entry {index}" + (f" (byte {offset} of the body)" if offset is not None else "")
    return f"{where}: {problem}" + (f"; it starts {text}" if text else "")


def excerpt(data: bytes | str | Any) -> str:
    """The first :data:`EXCERPT_CHARS` characters of an entry as one escaped ASCII line, quoted.

    Bytes that are not UTF-8 show as ``\\xNN``, lone surrogates and control characters as Python
    escapes: the excerpt can go into a log line or an exception without breaking either.
    """
    if not isinstance(data, str):
        data = bytes(data).decode("utf-8", "backslashreplace")
    cut = data[:EXCERPT_CHARS]
    shown = cut.encode("ascii", "backslashreplace").decode("ascii")
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in shown)
    return repr(shown + ("..." if len(data) > EXCERPT_CHARS else ""))


def offset_of(body: bytes | mmap.mmap | str | None, data: Any) -> int | None:
    """The byte at which ``data`` (an entry's bytes, or a view of them) first occurs in ``body``, or None."""
    raw = (body or "").encode("utf-8", "surrogateescape") if isinstance(body, str) or body is None else body
    at = raw.find(bytes(data))
    return at if at >= 0 else None


def id_problem(value: Any) -> str | None:
    """Why ``value`` cannot be an event's id, or None when it can (see the module)."""
    if value is None:
        return "no id"
    if not isinstance(value, str):
        return f"an id that is not a string ({type(value).__name__})"
    if not value:
        return "an empty id"
    if "\n" in value:
        return "an id with a line break"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "an id that cannot be written as UTF-8 (a lone surrogate)"
    return None


def ids_block(ids: list[Any]) -> bytes | None:
    """``ids`` as UTF-8 joined by ``"\\n"`` when every one passes :func:`id_problem`, else None.

    Checked at C speed for a page of ids; the caller looks for the first bad one only when it is None.
    """
    if not ids:
        return b""
    if set(map(type, ids)) != {str} or "" in ids:
        return None
    text = "\n".join(ids)
    if text.count("\n") != len(ids) - 1:
        return None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return None


def first_bad_id(ids: list[Any]) -> tuple[int, str] | None:
    """The position and :func:`id_problem` of the first id of ``ids`` that is not one, or None."""
    if ids_block(ids) is not None:
        return None
    for index, value in enumerate(ids):
        problem = id_problem(value)
        if problem is not None:
            return index, problem
    return None  # pragma: no cover - ids_block refused one of them


__all__ = [
    "EXCERPT_CHARS",
    "RawPageError",
    "UnreadableEntryError",
    "describe",
    "excerpt",
    "first_bad_id",
    "id_problem",
    "ids_block",
    "offset_of",
]
