"""Pagination cursors: where the next page starts, and nothing else.

Like Slack's, a cursor is standard base64 **with** ``=`` padding (and, by construction, with
``+`` and ``/`` in it), so a client that does not URL-encode it sends a different string and
gets ``invalid_cursor``. It records only the second the next page starts from, never the
filters: a client must send ``oldest``, ``latest`` and every filter again with each cursor, or
it reads the wrong data, exactly as with the real API. A keyed signature makes cursors of another
emulator instance (another seed or token) or garbled ones fail with ``invalid_cursor``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct

# Leading bytes that base64-encode to "+/": a cursor pasted into a URL unencoded breaks.
_MAGIC = b"\xfb\xf0"
_VERSION = 1
_LAYOUT = struct.Struct(">2sBq8s")  # magic, version, second, signature: 19 bytes -> "==" padding


class InvalidCursor(ValueError):
    """The cursor was not issued by this emulator (or was damaged on the way)."""


class CursorCodec:
    """Encodes and checks cursors for one emulator instance.

    Args:
        secret: Key of the signature; instances with different secrets reject each other's cursors.
    """

    def __init__(self, secret: bytes) -> None:
        self._secret = hashlib.blake2b(secret, digest_size=32).digest()

    def _sign(self, second: int) -> bytes:
        return hashlib.blake2b(struct.pack(">q", second), key=self._secret, digest_size=8).digest()

    def encode(self, second: int) -> str:
        """The cursor of a page that starts at ``second`` (inclusive, reading towards the past)."""
        raw = _LAYOUT.pack(_MAGIC, _VERSION, second, self._sign(second))
        return base64.b64encode(raw).decode("ascii")

    def decode(self, cursor: str) -> int:
        """The second a cursor points at; raises :class:`InvalidCursor` for anything else."""
        try:
            raw = base64.b64decode(cursor.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
            raise InvalidCursor("cursor is not base64 (was it URL-encoded?)") from exc
        if len(raw) != _LAYOUT.size:
            raise InvalidCursor("cursor has the wrong length")
        magic, version, second, signature = _LAYOUT.unpack(raw)
        if magic != _MAGIC or version != _VERSION or signature != self._sign(second):
            raise InvalidCursor("cursor was not issued by this server")
        return second
