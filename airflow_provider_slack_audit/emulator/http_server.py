"""The emulator's HTTP plumbing: a threaded server that tracks its connections, and the request handler.

:meta private:

What a call is answered with is decided by :class:`~.routing.AuditLogsApi`: the handler hands it
every request (``route(handler, method)``), and it answers through :func:`write_response` or cuts
the connection with :func:`reset_connection`.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NoReturn

log = logging.getLogger("airflow_provider_slack_audit.emulator")


class Abort(Exception):
    """The handler dropped the connection on purpose (fault injection)."""


class EmulatorHTTPServer(ThreadingHTTPServer):
    """Serves each connection in a thread; knows its open connections, to close them on stop.

    Args:
        address: ``(host, port)`` to bind; port 0 picks a free one.
        route: Answers one request: ``route(handler, method)``.
    """

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], route: Callable[[EmulatorRequestHandler, str], None]) -> None:
        self.route = route
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(address, EmulatorRequestHandler)

    def process_request(self, request, client_address):  # type: ignore[no-untyped-def]
        with self.conn_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):  # type: ignore[no-untyped-def]
        with self.conn_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):  # type: ignore[no-untyped-def]
        exc = sys.exc_info()[1]
        if isinstance(exc, Abort | ConnectionError | TimeoutError | ValueError | OSError):
            return
        log.exception("emulator: error while serving a request")

    def close_connections(self) -> None:
        """Shut every open connection down (the server's own threads then end)."""
        with self.conn_lock:
            conns = list(self.connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class EmulatorRequestHandler(BaseHTTPRequestHandler):
    """One connection's requests (HTTP/1.1 keep-alive), each handed to the server's ``route``."""

    protocol_version = "HTTP/1.1"
    server_version = "SlackAuditLogsEmulator/1"
    sys_version = ""
    timeout = 120  # idle keep-alive connections close after this
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    server: EmulatorHTTPServer

    def do_GET(self) -> None:
        self.server.route(self, "GET")

    def _other(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.route(self, self.command)

    do_POST = do_PUT = do_DELETE = do_PATCH = _other

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The request line holds the path and query only, never the Authorization header.
        log.debug('"%s" %s', self.requestline, code)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("emulator: " + format, *args)


def write_response(
    handler: EmulatorRequestHandler,
    status: int,
    body: bytes,
    now: float,
    *,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json; charset=utf-8",
    cut: bool = False,
) -> None:
    """Send one answer; with ``cut``, half the body, then the connection is closed."""
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("X-Slack-Req-Id", f"emu-{int(now * 1000):x}")
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    if cut:
        handler.wfile.write(body[: max(1, len(body) // 2)])
        handler.wfile.flush()
        handler.close_connection = True
        reset_connection(handler, hard=False)
    handler.wfile.write(body)


def reset_connection(handler: EmulatorRequestHandler, hard: bool = True) -> NoReturn:
    """Close the connection (``hard``: a TCP reset, else a shutdown) and abort the request."""
    handler.close_connection = True
    conn = handler.connection
    try:
        if hard:  # RST instead of FIN
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            conn.shutdown(socket.SHUT_RDWR)
        conn.close()
    except OSError:
        pass
    raise Abort()
