"""A loopback HTTP server that answers with raw bytes, for what a well-behaved server never does.

Each test gives a function ``answer(sock, path, query)`` that writes whatever it likes on the socket
(trickled bytes, a reset, a cut body); ``requests`` records every request's path, query and headers.
"""

from __future__ import annotations

import json
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import parse_qs, urlsplit

Answer = Callable[[socket.socket, str, dict[str, str]], None]


class RawServer:
    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[tuple[str, dict[str, str], dict[str, str]]] = []
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = self.request.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
                target = head[0].split(" ")[1]
                headers = dict(line.split(": ", 1) for line in head[1:] if ": " in line)
                parts = urlsplit(target)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                outer.requests.append((parts.path, query, headers))
                with suppress(OSError):
                    outer.answer(self.request, parts.path, query)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/audit/v1/"

    @property
    def calls(self) -> int:
        return len(self.requests)


@contextmanager
def raw_server(answer: Answer) -> Iterator[RawServer]:
    server = RawServer(answer)
    thread = threading.Thread(target=server.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()
        thread.join(5)


def http_response(body: bytes | str | Any, status: int = 200, headers: dict[str, str] | None = None) -> bytes:
    """A whole HTTP/1.1 answer (``Connection: close``); a non-bytes, non-str body is sent as JSON."""
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    data = body.encode() if isinstance(body, str) else body
    lines = [
        f"HTTP/1.1 {status} X",
        "Content-Type: application/json",
        f"Content-Length: {len(data)}",
        "Connection: close",
    ]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def chunked_response(data: bytes, piece: int = 100, headers: dict[str, str] | None = None) -> bytes:
    """An HTTP/1.1 answer with no Content-Length: the body in chunks of ``piece`` bytes."""
    head = ["HTTP/1.1 200 OK", "Content-Type: application/json", "Transfer-Encoding: chunked", "Connection: close"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    body = b"".join(
        f"{len(data[i : i + piece]):x}\r\n".encode() + data[i : i + piece] + b"\r\n" for i in range(0, len(data), piece)
    )
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body + b"0\r\n\r\n"


def send(data: bytes) -> Answer:
    def answer(sock: socket.socket, path: str, query: dict[str, str]) -> None:
        sock.sendall(data)

    return answer


def trickle(data: bytes, every: float) -> Answer:
    """Send ``data`` one byte at a time, ``every`` seconds apart (each read gets a byte well within any timeout)."""

    def answer(sock: socket.socket, path: str, query: dict[str, str]) -> None:
        for i in range(len(data)):
            sock.sendall(data[i : i + 1])
            time.sleep(every)

    return answer


def close_without_answer(sock: socket.socket, path: str, query: dict[str, str]) -> None:
    """Close the connection before any answer: the client sees ``RemoteDisconnected``."""
    sock.shutdown(socket.SHUT_RDWR)


def reset(sock: socket.socket, path: str, query: dict[str, str]) -> None:
    """Reset the connection (RST): the client sees ``ConnectionResetError``."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
