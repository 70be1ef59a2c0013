"""Shared helpers of the client tests: the token, fake time, pages, and a scripted loopback server."""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "xoxp-1111111111-2222222222-3333333333-secretsecretsecret0123"
BASE = "https://api.slack.com/audit/v1/"
LOGS = BASE + "logs"


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now

    def wall(self) -> float:
        return 1_700_000_000.0 + self.now


def entry(entry_id: str, second: int, **extra: Any) -> dict[str, Any]:
    """A realistic audit event."""
    return {
        "id": entry_id,
        "date_create": second,
        "action": "user_login",
        "actor": {"type": "user", "user": {"id": "W123AB456", "name": "Charlie Parker", "email": "bird@slack.com"}},
        "entity": {"type": "user", "user": {"id": "W123AB456", "name": "Charlie Parker", "team": "T123AB456"}},
        "context": {
            "location": {"type": "enterprise", "id": "E1701NCCA", "name": "Birdland", "domain": "birdland"},
            "ua": "Mozilla/5.0",
            "ip_address": "1.23.45.67",
            "session_id": "847288190092",
        },
        **extra,
    }


def page(entries: list[dict[str, Any]], next_cursor: Any = "", *, metadata: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {"entries": entries}
    if metadata:
        body["response_metadata"] = {"next_cursor": next_cursor}
    return body


# --- a real HTTP server on loopback ----------------------------------------------------------------


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    client_port: int


@dataclass
class LoopbackServer:
    """Answers requests from a script: each item is a callable run in the handler, in order.

    When the script is exhausted, it answers ``200 {"entries": [], ...}``.
    """

    server: ThreadingHTTPServer
    script: list[Callable[[BaseHTTPRequestHandler], None]] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/audit/v1/"

    @property
    def port(self) -> int:
        return self.server.server_address[1]


def send_json(status: int, body: Any, headers: dict[str, str] | None = None) -> Callable[[Any], None]:
    def act(handler: BaseHTTPRequestHandler) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            handler.send_header(k, v)
        handler.end_headers()
        handler.wfile.write(data)

    return act


def send_cut(body: Any) -> Callable[[Any], None]:
    """Declare the full length, send half the body, close: a body cut short."""

    def act(handler: BaseHTTPRequestHandler) -> None:
        data = json.dumps(body).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data[: len(data) // 2])
        handler.wfile.flush()
        handler.close_connection = True

    return act


def reset(handler: BaseHTTPRequestHandler) -> None:
    """Close the connection with a TCP reset before any answer."""
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.close_connection = True
    handler.connection.close()


def stall(server: LoopbackServer) -> Callable[[Any], None]:
    """Answer nothing until the test ends: the client's read times out."""

    def act(handler: BaseHTTPRequestHandler) -> None:
        server.release.wait(10)
        handler.close_connection = True

    return act


def redirect(location: str) -> Callable[[Any], None]:
    def act(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return act
