"""JSON in and out of an export, fast: msgspec when it is importable, else the standard library.

msgspec is already installed wherever Airflow is (Airflow 2.11 and 3.x depend on it), so the fast
path costs no new dependency; without it the standard ``json`` module does the same job, slower.
Decoding and encoding a page with msgspec takes a fraction of the time ``json`` takes (see
``bench/``: parsing and re-encoding were over half of an export's CPU), and msgspec builds Python
objects straight from the bytes, with no intermediate document, so the peak memory stays that of
the parsed page.

Both paths give the same Python values: msgspec accepts only standard JSON (RFC 8259) and reads
integers of any size exactly; whatever it refuses (``NaN``, ``Infinity``, lone surrogates, numbers
beyond a double) goes to ``json``, which reads it as it always did. Encoding keeps the key order
and every string and integer byte for byte; a float may be spelled differently (``1e-07`` by
``json``, ``1e-7`` by msgspec), with the same value. A non-finite number ``json`` let through is
written back as it came (``NaN``), not as msgspec's ``null``.
"""

from __future__ import annotations

import gc
import json
import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

try:
    import msgspec
except ImportError:  # pragma: no cover - Airflow installs it; tests force this path by hiding it
    msgspec = None  # type: ignore[assignment]

__all__ = ["CHUNK_ENTRIES", "FAST", "dumps_lines", "iter_lines_chunks", "loads"]

#: Entries encoded per chunk by :func:`iter_lines_chunks`: about 0.7 MB of Slack events.
CHUNK_ENTRIES = 1000


class _NonFinite(float):
    """A ``NaN`` / ``Infinity`` / ``-Infinity`` read by ``json``: written back with the same literal."""

    __slots__ = ()


def _non_finite(literal: str) -> float:
    return _NonFinite(literal)


def _float(literal: str) -> float:
    value = float(literal)
    return value if math.isfinite(value) else _NonFinite(value)  # 1e400 reads as inf


def _json_loads(data: str | bytes) -> Any:
    try:
        with _no_cyclic_gc():
            return json.loads(data, parse_constant=_non_finite, parse_float=_float)
    except RecursionError:
        failed = True  # raised below, outside this block: the error carries no RecursionError context
    if failed:
        raise ValueError("JSON nested too deeply to decode")


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause Python's cycle collector while a page is decoded.

    A decoded page is a tree (no cycles) of ~300,000 new containers; while they are made, the
    collector runs again and again, and its full passes walk every object of the process (Airflow's
    included): measured 0.09-0.42 s per 9999-event page with it, 0.065 s without. Reference counting
    still frees everything; the collector resumes (if it was on) as soon as the page is built.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


_json_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _json_dumps_lines(entries: list[Any]) -> bytes:
    return ("\n".join(map(_json_encode, entries)) + "\n").encode("utf-8")


if msgspec is not None:
    _decode = msgspec.json.Decoder().decode

    def _enc_hook(value: Any) -> Any:
        if isinstance(value, _NonFinite):
            return msgspec.Raw(repr(float(value)).replace("nan", "NaN").replace("inf", "Infinity").encode())
        raise TypeError(f"cannot write a {type(value).__name__} as JSON")

    _encode = msgspec.json.Encoder(enc_hook=_enc_hook).encode

    def loads(data: str | bytes) -> Any:
        """The value of the JSON document ``data``; raises ``ValueError`` when it is not JSON."""
        try:
            with _no_cyclic_gc():
                return _decode(data)
        except msgspec.DecodeError:
            return _json_loads(data)  # json is more lenient (NaN, lone surrogates) or says what is wrong

    def dumps_lines(entries: Iterable[Any]) -> bytes:
        """``entries`` as UTF-8 JSON Lines: one compact JSON value per line, each line ending in ``\\n``."""
        entries = entries if isinstance(entries, list) else list(entries)
        if not entries:
            return b""
        try:
            return b"\n".join(map(_encode, entries)) + b"\n"
        except (msgspec.EncodeError, TypeError, UnicodeEncodeError, OverflowError):
            return _json_dumps_lines(entries)  # the same error (or output) as the standard library

    FAST = True
else:  # pragma: no cover
    loads = _json_loads

    def dumps_lines(entries: Iterable[Any]) -> bytes:
        """``entries`` as UTF-8 JSON Lines: one compact JSON value per line, each line ending in ``\\n``."""
        entries = entries if isinstance(entries, list) else list(entries)
        return _json_dumps_lines(entries) if entries else b""

    FAST = False


def iter_lines_chunks(entries: list[Any], chunk_entries: int = CHUNK_ENTRIES) -> Iterator[bytes]:
    """:func:`dumps_lines` of ``entries`` in pieces of ``chunk_entries`` entries, for a stream to write.

    The concatenation is ``dumps_lines(entries)``; only one piece is in memory at a time, not the
    encoded page (a page of 9999 Slack events is about 6.5 MB as JSON).
    """
    for start in range(0, len(entries), chunk_entries):
        yield dumps_lines(entries[start : start + chunk_entries])
