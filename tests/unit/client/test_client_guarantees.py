"""What both clients guarantee, each tried on the sync and the async client against a real loopback server.

Every call and walk ends; bodies that cannot be pages are typed errors; transport failures are
``URLError``s whose whole chain is free of the token; slack_sdk-style handlers see what slack_sdk
would show them.
"""

from __future__ import annotations

import asyncio
import gc
import gzip
import json
import socket
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.client import RemoteDisconnected
from typing import Any
from urllib.error import URLError

import pytest
from client_helpers import TOKEN, entry, page
from raw_server import chunked_response, close_without_answer, http_response, raw_server, reset, send, trickle

from airflow_provider_slack_audit.client import (
    AsyncSlackAuditLogsClient,
    LogsResponse,
    SlackAuditLogsAuthError,
    SlackAuditLogsClient,
    SlackAuditLogsConnectionError,
    SlackAuditLogsError,
    SlackAuditLogsServerError,
)
from airflow_provider_slack_audit.client.core import ClientCore

KINDS = ["sync", "async"]


def make(kind: str, base_url: str, **kwargs: Any) -> Any:
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("max_retry_wait", 0.01)
    cls = SlackAuditLogsClient if kind == "sync" else AsyncSlackAuditLogsClient
    return cls(TOKEN, base_url=base_url, **kwargs)


def walk(kind: str, client: Any) -> list[dict[str, Any]]:
    """Every entry of ``iter_logs(oldest=1, latest=100)``, on either client."""
    if kind == "sync":
        with client:
            return list(client.iter_logs(oldest=1, latest=100))

    async def go() -> list[dict[str, Any]]:
        async with client:
            return [e async for e in client.iter_logs(oldest=1, latest=100)]

    return asyncio.run(go())


def logs(kind: str, client: Any) -> Any:
    """``client.logs()``, on either client."""
    if kind == "sync":
        with client:
            return client.logs()

    async def go() -> Any:
        async with client:
            return await client.logs()

    return asyncio.run(go())


SIX = [entry(f"id{i}", 50) for i in range(6)]


def by_cursor(pages: dict[str | None, Any]):
    def answer(sock, path, query):
        sock.sendall(http_response(pages[query.get("cursor")]))

    return answer


# --- walks always end --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_cursor_that_cycles_ends_the_walk_with_a_typed_error(kind):
    """A -> B -> A: no cursor is equal to the one just sent, yet the walk would never end."""
    cycle = by_cursor({None: page(SIX, "A"), "A": page(SIX, "B"), "B": page(SIX, "A")})
    with (
        raw_server(cycle) as server,
        pytest.raises(SlackAuditLogsServerError, match="a cursor this walk already followed"),
    ):
        walk(kind, make(kind, server.base_url))
    assert [q.get("cursor") for _, q, _ in server.requests] == [None, "A", "B"]


@pytest.mark.parametrize("kind", KINDS)
def test_pages_that_bring_no_new_id_end_the_walk(kind):
    """Fresh cursors for ever, always the same events: the walk gives up after a bound, not never."""

    def endless(sock, path, query):
        n = int((query.get("cursor") or "c0")[1:])
        sock.sendall(http_response(page(SIX, f"c{n + 1}")))

    with (
        raw_server(endless) as server,
        pytest.raises(SlackAuditLogsServerError, match="20 pages in a row without an event"),
    ):
        walk(kind, make(kind, server.base_url))
    assert server.calls == 21  # the first page brought the six ids, then 20 pages brought none


# --- calls always end --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("what", ["body", "headers"])
def test_timeout_bounds_the_whole_call_against_a_trickling_server(kind, what):
    """70 bytes, one every 0.12 s: every read gets a byte in time; the call must still end at timeout=1."""
    body = b'{"entries": [], "response_metadata": {"next_cursor": ""}, "x": "' + b"a" * 4 + b'"}'
    assert len(body) == 70
    whole = http_response(body)
    head, tail = whole[: -len(body)], body
    answer = trickle(whole, 0.12) if what == "headers" else None
    if answer is None:

        def answer(sock, path, query):
            sock.sendall(head)
            trickle(tail, 0.12)(sock, path, query)

    with raw_server(answer) as server:
        started = time.monotonic()
        with pytest.raises(SlackAuditLogsConnectionError, match=r"within timeout=1\.0s") as info:
            logs(kind, make(kind, server.base_url, timeout=1))
        took = time.monotonic() - started
    assert took < 2.0, f"the call took {took:.1f}s with timeout=1"
    assert isinstance(info.value.reason, TimeoutError)


@contextmanager
def trickling_tls_server() -> Iterator[str]:
    """Accepts TCP, takes the ClientHello, then sends a TLS record header and its body a byte every 0.12 s."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)
    stop = threading.Event()

    def serve() -> None:
        with suppress(OSError):
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)  # the ClientHello
                conn.sendall(b"\x16\x03\x03\x3f\xff")  # a handshake record of 16,383 bytes is coming...
                while not stop.wait(0.12):
                    conn.sendall(b"\x02")  # ...one byte at a time: every read gets a byte in time

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{listener.getsockname()[1]}/audit/v1/"
    finally:
        stop.set()
        listener.close()
        thread.join(5)


@pytest.mark.parametrize("kind", KINDS)
def test_timeout_bounds_the_whole_call_against_a_proxy_that_trickles_its_connect_answer(kind):
    """An HTTPS call through a proxy: the tunnel's answer comes a byte every 0.12 s, before any TLS."""
    tunnel = b"HTTP/1.1 200 Connection established\r\nX-Pad: " + b"a" * 40 + b"\r\n\r\n"
    with raw_server(trickle(tunnel, 0.12)) as proxy:
        started = time.monotonic()
        with pytest.raises(SlackAuditLogsConnectionError, match=r"within timeout=1\.0s") as info:
            logs(kind, make(kind, "https://audit.example.test/audit/v1/", timeout=1, proxy=proxy.base_url[:-10]))
        took = time.monotonic() - started
    assert proxy.calls == 1  # the CONNECT reached the proxy: the time went on its answer
    assert took < 2.0, f"the call took {took:.1f}s with timeout=1"
    assert isinstance(info.value.reason, TimeoutError)


@pytest.mark.parametrize("kind", KINDS)
def test_timeout_bounds_the_whole_call_against_a_trickling_tls_handshake(kind):
    with trickling_tls_server() as base_url:
        started = time.monotonic()
        with pytest.raises(SlackAuditLogsConnectionError, match=r"within timeout=1\.0s") as info:
            logs(kind, make(kind, base_url, timeout=1))
        took = time.monotonic() - started
    assert took < 2.0, f"the call took {took:.1f}s with timeout=1"
    assert isinstance(info.value.reason, TimeoutError)


@pytest.mark.parametrize("kind", KINDS)
def test_a_body_nested_5000_deep_is_a_typed_error_and_retried(kind):
    deep = "[" * 5000 + "]" * 5000
    with (
        raw_server(send(http_response(deep))) as server,
        pytest.raises(SlackAuditLogsServerError, match="cut short or not JSON") as info,
    ):
        walk(kind, make(kind, server.base_url, max_retries=1))
    assert not isinstance(info.value, RecursionError)
    assert server.calls == 2  # retried like any other unreadable body
    assert "after 2 attempts" in str(info.value)


@pytest.mark.parametrize("kind", KINDS)
def test_a_body_over_the_size_bound_is_a_typed_error_and_retried(kind):
    big = page([entry(f"id{i}", 50) for i in range(20)])
    with (
        raw_server(send(http_response(big))) as server,
        pytest.raises(SlackAuditLogsServerError, match="larger than max_body_bytes=1000") as info,
    ):
        walk(kind, make(kind, server.base_url, max_retries=2, max_body_bytes=1000))
    assert server.calls == 3
    assert "after 3 attempts" in str(info.value)


def cut_then_good(announced: int, good: bytes, cuts: int) -> Any:
    """``cuts`` answers that announce ``announced`` bytes and send 100 before closing, then ``good``."""
    sent = []

    def answer(sock: socket.socket, path: str, query: dict[str, str]) -> None:
        sent.append(path)
        if len(sent) <= cuts:
            head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {announced}\r\n\r\n"
            sock.sendall(head.encode() + b"{" * 100)
        else:
            sock.sendall(good)

    return answer


@pytest.mark.parametrize("kind", KINDS)
def test_a_body_cut_short_is_let_go_with_its_attempt_not_kept_by_the_error(kind, monkeypatch):
    """Each failed attempt's bytes go when it fails: the error's traceback does not keep them till a GC."""
    from airflow_provider_slack_audit.client import body_buffer

    made: list[Any] = []
    real_init = body_buffer.BodyBuffer.__init__

    def tracked(self: Any) -> None:
        real_init(self)
        made.append(self)

    monkeypatch.setattr(body_buffer.BodyBuffer, "__init__", tracked)
    good = http_response(page([entry("a", 50)]))
    gc.disable()
    try:
        with raw_server(cut_then_good(7_000_000, good, cuts=3)) as server:
            assert [e["id"] for e in walk(kind, make(kind, server.base_url, max_retries=3))] == ["a"]
        assert server.calls == 4
        assert len(made) == 4
        assert [buffer.capacity for buffer in made] == [0, 0, 0, 0]  # discarded, or taken by the good page
    finally:
        gc.enable()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("status", [204, 304])
def test_an_answer_that_has_no_body_is_judged_by_its_status_not_as_a_transfer_cut_short(kind, status):
    """RFC 9110: 204 and 304 have no body, whatever Content-Length says: the connection did not fail."""
    answer = f"HTTP/1.1 {status} X\r\nContent-Length: 100\r\nConnection: close\r\n\r\n".encode()
    with raw_server(send(answer)) as server, pytest.raises(SlackAuditLogsError) as info:
        walk(kind, make(kind, server.base_url, max_retries=2))
    assert not isinstance(info.value, SlackAuditLogsConnectionError)
    assert f"HTTP {status}" in str(info.value)
    assert "Content-Length" not in str(info.value)


@pytest.mark.parametrize("kind", KINDS)
def test_a_content_length_that_is_not_ascii_digits_is_a_typed_error(kind):
    """'²'.isdigit() is True in Python; int('²') raises. A length like it is the server's fault, typed."""
    answer = "HTTP/1.1 200 OK\r\nContent-Length: \u00b2\r\nConnection: close\r\n\r\n{}".encode("latin-1")
    with raw_server(send(answer)) as server, pytest.raises(SlackAuditLogsError):
        walk(kind, make(kind, server.base_url, max_retries=0))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_a_body_without_a_length_or_compressed_is_read_whole(kind, encoding):
    entries = [entry(f"id{i}", 50) for i in range(20)]
    data = json.dumps(page(entries)).encode()
    headers = {}
    if encoding == "gzip":
        data, headers = gzip.compress(data), {"Content-Encoding": "gzip"}
    with raw_server(send(chunked_response(data, headers=headers))) as server:
        assert walk(kind, make(kind, server.base_url)) == entries


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_the_size_bound_holds_for_a_body_without_a_length_and_after_decompression(kind, encoding):
    data = json.dumps(page([entry(f"id{i}", 50) for i in range(20)])).encode()
    headers = {}
    if encoding == "gzip":
        data, headers = gzip.compress(data), {"Content-Encoding": "gzip"}
        assert len(data) < 1000  # only the decompressed body is over the bound
    with (
        raw_server(send(chunked_response(data, headers=headers))) as server,
        pytest.raises(SlackAuditLogsServerError, match="larger than max_body_bytes=1000"),
    ):
        walk(kind, make(kind, server.base_url, max_retries=1, max_body_bytes=1000))
    assert server.calls == 2


# --- errors: URLError, no secret anywhere in the chain -----------------------------------------


def free_port_url() -> str:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/audit/v1/"


@pytest.mark.parametrize("kind", KINDS)
def test_transport_failures_are_url_errors_and_so_os_errors_as_slack_sdks(kind):
    with pytest.raises(URLError) as info:
        logs(kind, make(kind, free_port_url()))
    assert isinstance(info.value, OSError)
    assert isinstance(info.value, SlackAuditLogsServerError)
    assert isinstance(info.value.reason, ConnectionRefusedError)
    assert "could not connect" in str(info.value)
    assert "127.0.0.1" in str(info.value)


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception as exc:  # an object whose repr fails shows that failure instead
        return repr(exc)


def _holds_token(value: Any, depth: int = 0, seen: set[int] | None = None) -> str | None:
    """Where in ``value`` (its repr, its items, its attributes, recursively) the token is, or None."""
    seen = set() if seen is None else seen
    if id(value) in seen or depth > 6:
        return None
    seen.add(id(value))
    if isinstance(value, (str, bytes)):
        return "a string" if (TOKEN in value if isinstance(value, str) else TOKEN.encode() in value) else None
    if TOKEN in _safe_repr(value):
        return f"repr of {type(value).__name__}"
    children: list[Any] = []
    if isinstance(value, dict):
        children = [*value.keys(), *value.values()]
    elif isinstance(value, (list, tuple, set, frozenset)):
        children = list(value)
    elif not isinstance(value, (int, float, type(None))) and not isinstance(value, type):
        children = list(getattr(value, "__dict__", {}).values())
        children += [getattr(value, s, None) for s in getattr(type(value), "__slots__", ()) if isinstance(s, str)]
        if isinstance(value, BaseException):
            children += list(value.args)
    for child in children:
        where = _holds_token(child, depth + 1, seen)
        if where:
            return f"{type(value).__name__} -> {where}"
    return None


def assert_chain_holds_no_token(error: BaseException) -> None:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for exc in chain:
        assert _holds_token(exc) is None, f"{type(exc).__name__} holds the token: {_holds_token(exc)}"
        # What a traceback rendered with locals (Sentry, --showlocals) would show.
        for frame, _ in traceback.walk_tb(exc.__traceback__):
            for name, local in frame.f_locals.items():
                where = f"local {name!r} of {frame.f_code.co_name}"
                if isinstance(local, ClientCore):  # a client holds its token; its repr, what is shown, does not
                    assert TOKEN not in repr(local), where
                else:
                    assert _holds_token(local) is None, f"{where} holds the token: {_holds_token(local)}"
    rendered = "".join(traceback.format_exception(error))
    assert TOKEN not in rendered


def raise_from(kind: str, base_url: str, **kwargs: Any) -> BaseException:
    with pytest.raises(SlackAuditLogsError) as info:
        walk(kind, make(kind, base_url, **kwargs))
    gc.collect()
    return info.value


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("failure", ["refused", "reset", "closed", "timeout", "unauthorized", "503"])
def test_no_exception_in_the_chain_holds_the_token(kind, failure):
    if failure == "refused":
        error = raise_from(kind, free_port_url(), max_retries=1)
        assert_chain_holds_no_token(error)
        return
    answers = {
        "reset": reset,
        "closed": close_without_answer,
        "timeout": trickle(http_response(page([])), 0.3),
        "unauthorized": send(http_response({"ok": False, "error": "invalid_auth"}, 401)),
        "503": send(http_response({"ok": False, "error": "x"}, 503)),
    }
    with raw_server(answers[failure]) as server:
        error = raise_from(kind, server.base_url, max_retries=1, timeout=0.5)
    assert server.requests[0][2]["Authorization"] == f"Bearer {TOKEN}"  # the token was sent, and is held nowhere
    if failure == "unauthorized":
        assert isinstance(error, SlackAuditLogsAuthError)
    assert_chain_holds_no_token(error)


# --- slack_sdk's retry handlers ------------------------------------------------------------------


class CountingHandler:
    """Written for slack_sdk: retries once on the raw errors slack_sdk's sync client passes."""

    def __init__(self, error_types: tuple[type[BaseException], ...]) -> None:
        self.error_types = error_types
        self.seen: list[Any] = []

    def can_retry(self, *, state, request, response=None, error=None) -> bool:
        self.seen.append(error)
        return state.current_attempt < 1 and isinstance(error, self.error_types)

    def prepare_for_next_attempt(self, *, state, request, response=None, error=None) -> None:
        state.next_attempt_requested = True
        state.increment_current_attempt()


@pytest.mark.parametrize(
    ("answer", "expected"),
    [(close_without_answer, RemoteDisconnected), (reset, ConnectionResetError)],
)
def test_a_slack_sdk_style_handler_sees_the_raw_socket_error(answer, expected):
    handler = CountingHandler((ConnectionResetError, RemoteDisconnected))
    with raw_server(answer) as server, pytest.raises(SlackAuditLogsConnectionError):
        logs("sync", make("sync", server.base_url, retry_handlers=[handler]))
    assert server.calls == 2  # the handler recognised the error and asked for one retry
    assert [type(e) for e in handler.seen] == [expected, expected]
    assert all(e.__traceback__ is None and e.__context__ is None for e in handler.seen)


def test_a_slack_sdk_style_handler_sees_url_error_for_a_refused_connection():
    handler = CountingHandler((URLError,))
    with pytest.raises(SlackAuditLogsConnectionError):
        logs("sync", make("sync", free_port_url(), retry_handlers=[handler]))
    assert isinstance(handler.seen[0], URLError)
    assert isinstance(handler.seen[0].reason, ConnectionRefusedError)


def test_an_async_slack_sdk_handler_sees_aiohttps_server_disconnected():
    aiohttp = pytest.importorskip("aiohttp")

    class AsyncHandler(CountingHandler):
        async def can_retry_async(self, **kwargs: Any) -> bool:
            return self.can_retry(**kwargs)

        async def prepare_for_next_attempt_async(self, **kwargs: Any) -> None:
            self.prepare_for_next_attempt(**kwargs)

    handler = AsyncHandler((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError))
    with raw_server(close_without_answer) as server, pytest.raises(SlackAuditLogsConnectionError):
        logs("async", make("async", server.base_url, retry_handlers=[handler]))
    assert server.calls == 2
    assert all(isinstance(e, aiohttp.ServerDisconnectedError) for e in handler.seen)


# --- the typed body, as slack_sdk builds it ----------------------------------------------------


def test_logs_response_is_built_from_keywords_as_slack_sdk_builds_it():
    body = {
        "entries": [{"id": "a", "actor": {"type": "user", "user": {"id": "W1"}}, "context": {"session_id": 12}}],
        "response_metadata": {"next_cursor": "", "later": 1},
        "new_field": True,
    }
    typed = LogsResponse(**json.loads(json.dumps(body)))
    assert typed == LogsResponse(body)
    assert typed.entries[0].actor.user.id == "W1"
    assert typed.entries[0].context.session_id == "12"
    assert typed.unknown_fields == {"new_field": True}
    assert typed.response_metadata.unknown_fields == {"later": 1}
