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


def announced_length(headers: Mapping[str, str]) -> int | None:
    """The body's length in bytes as the server announced it, when the bytes read will be exactly that many:
    a ``Content-Length`` on a body sent as is (no ``Content-Encoding``, no ``Transfer-Encoding``, which
    overrides any ``Content-Length``: RFC 9112, 6.3); else None. ``headers`` look names up case-insensitively."""
    length = headers.get("Content-Length", "")
    if not length.isdigit() or "Transfer-Encoding" in headers:
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
        self.size = 0
        self.started = False  # the headers came: a failure from now on cuts the body

    def expect(self, size: int) -> None:
        """The server announced ``size`` bytes (Content-Length): refuse a body over the bound before reading it."""
        if size > self.max_bytes:
            raise TransportFailure(f"a body larger than max_body_bytes={self.max_bytes}")
        self.buffer.reserve(size)

    def add(self, chunk: bytes) -> None:
        """Take the next ``chunk`` of the body; past the bound, a retryable failure."""
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise TransportFailure(f"a body larger than max_body_bytes={self.max_bytes}")
        self.buffer.write(chunk)

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
        if failed:
            raise TransportFailure("a body that is not UTF-8")
        return ""
