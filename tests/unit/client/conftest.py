"""Fixtures for the client tests: a fake clock and sleep, clients on them, and a loopback server.

Every test in this folder runs with all logging captured at DEBUG; the autouse fixture
``_token_never_logged`` fails the test if the token shows up in any captured line.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from client_helpers import BASE, TOKEN, FakeTime, LoopbackServer, Seen, page, send_json

from airflow_provider_slack_audit.client import SlackAuditLogsClient


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def make_client(fake_time: FakeTime) -> Iterator[Callable[..., SlackAuditLogsClient]]:
    """Build clients that sleep on the fake clock; closed at the end of the test."""
    made: list[SlackAuditLogsClient] = []

    def make(token: str | None = TOKEN, **kwargs: Any) -> SlackAuditLogsClient:
        kwargs.setdefault("base_url", BASE)
        kwargs.setdefault("sleep", fake_time.sleep)
        kwargs.setdefault("clock", fake_time.clock)
        kwargs.setdefault("wall_clock", fake_time.wall)
        kwargs.setdefault("rng", random.Random(1234))
        client = SlackAuditLogsClient(token, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture(autouse=True)
def _token_never_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    assert TOKEN not in caplog.text
    for record in caplog.records:
        assert TOKEN not in record.getMessage()


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    holder: dict[str, LoopbackServer] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            srv = holder["server"]
            with srv.lock:
                srv.seen.append(Seen(self.path, dict(self.headers.items()), self.client_address[1]))
                act = srv.script.pop(0) if srv.script else send_json(200, page([]))
            try:
                act(self)
            except OSError:
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    holder["server"] = srv = LoopbackServer(server)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield srv
    srv.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)
