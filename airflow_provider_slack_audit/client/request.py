"""One API call as the transports send it, and the bound on the body of its answer.

:meta private:

:class:`Request` and :class:`BodyLimit` can still be imported from :mod:`.core`; they live here so
that :mod:`.attempts`, a base of the core, uses them without importing the core.
"""

from __future__ import annotations

import mmap
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_slack_audit.client.body_buffer import BodyBuffer
from airflow_provider_slack_audit.client.retry_rules import TransportFailure

#: The largest body read: far above a full page (9999 events are about 6.5 MB of JSON).
MAX_BODY_BYTES = 128 * 1024 * 1024


@dataclass
class Request:
    """One API call, as the transports send it (the token is added by the transport, never here).

    ``attempts`` counts the attempts made so far (the transports add one per attempt).
    """

    method: str
    url: str
    params: dict[str, Any]
    headers: dict[str, str]
    body: dict[str, Any] | None = None
    #: Keep a ``logs`` answer's bytes and read a good page entry by entry (``response.raw_page``).
    raw_entries: bool = False
    path: str = field(init=False)
    attempts: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.path = urlsplit(self.url).path


def announced_length(headers: Mapping[str, str], status: int, method: str) -> int | None:
    """The body's length in bytes when the bytes read will be exactly that many, else None: 0 for an answer
    that has no body whatever its headers say (to ``HEAD``, 1xx, 204, 304: RFC 9110, 6.4.1); a
    ``Content-Length`` of ASCII digits on a body sent as is (no ``Content-Encoding``, no ``Transfer-Encoding``,
    which overrides any ``Content-Length``: RFC 9112, 6.3). ``headers`` look names up case-insensitively."""
    if method.upper() == "HEAD" or status < 200 or status in (204, 304):
        return 0
    length = headers.get("Content-Length", "")
    if not (length.isascii() and length.isdigit()) or "Transfer-Encoding" in headers:  # "²".isdigit() is True
        return None
    return int(length) if headers.get("Content-Encoding", "identity").lower() == "identity" else None


class BodyLimit:
    """Counts the bytes of one body as they arrive; a body over the bound is a retryable failure.

    The bytes go into a :class:`~.body_buffer.BodyBuffer` (a mapping of the body's own, outside the
    C library's heap: see :mod:`.body_buffer`).
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.buffer = BodyBuffer()
        self.started = False  # the headers came: a failure from now on cuts the body

    def expect(self, size: int) -> None:
        """The server announced ``size`` bytes (Content-Length): refuse a body over the bound before reading it."""
        if size > self.max_bytes:
            raise TransportFailure(f"a body larger than max_body_bytes={self.max_bytes}")
        self.buffer.reserve(size)

    @property
    def size(self) -> int:
        """Bytes of the body read so far (0 again once :meth:`content` took them)."""
        return self.buffer.size

    def add(self, chunk: bytes) -> None:
        """Take the next ``chunk`` of the body; past the bound, a retryable failure."""
        if self.buffer.size + len(chunk) > self.max_bytes:
            raise TransportFailure(f"a body larger than max_body_bytes={self.max_bytes}")
        self.buffer.write(chunk)

    def discard(self) -> None:
        """Let the bytes read so far go now (the attempt failed)."""
        self.buffer.discard()

    def content(self) -> bytes | mmap.mmap:
        """The body's bytes, as they came: ``b""`` or the mapping they were written to (read it as a buffer)."""
        return self.buffer.take()

    def text(self) -> str:
        """The body as text; a body that is not UTF-8 is a retryable failure (it cannot be JSON)."""
        data = self.content()
        try:
            return str(data, "utf-8")
        except UnicodeDecodeError:
            failed = True
        finally:
            if isinstance(data, mmap.mmap):
                data.close()  # decoded or refused, the mapping is not needed: given back now, not at the next GC
        if failed:
            raise TransportFailure("a body that is not UTF-8")
        return ""
