"""One API call as the transports send it, and the bound on the body of its answer.

:meta private:

:class:`Request` and :class:`BodyLimit` can still be imported from :mod:`.core`; they live here so
that :mod:`.attempts`, a base of the core, uses them without importing the core.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

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


class BodyLimit:
    """Counts the bytes of one body as they arrive; a body over the bound is a retryable failure."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.chunks: list[bytes] = []
        self.size = 0
        self.started = False  # the headers came: a failure from now on cuts the body

    def expect(self, size: int) -> None:
        """The server announced ``size`` bytes (Content-Length): refuse a body over the bound before reading it."""
        if size > self.max_bytes:
            raise TransportFailure(f"a body larger than max_body_bytes={self.max_bytes}")

    def add(self, chunk: bytes) -> None:
        """Take the next ``chunk`` of the body; past the bound, a retryable failure."""
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise TransportFailure(f"a body larger than max_body_bytes={self.max_bytes}")
        self.chunks.append(chunk)

    def content(self) -> bytes:
        """The body's bytes, as they came; the pieces are let go, and a body read in one piece is not copied."""
        chunks, self.chunks = self.chunks, []
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def text(self) -> str:
        """The body as text; a body that is not UTF-8 is a retryable failure (it cannot be JSON)."""
        data = self.content()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            failed = True
        if failed:
            raise TransportFailure("a body that is not UTF-8")
        return ""
