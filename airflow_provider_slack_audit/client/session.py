"""The requests side of the sync client: the session, TLS, the token as auth, and a per-call deadline."""

from __future__ import annotations

import socket
import ssl as ssl_module
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection


class BearerAuth(requests.auth.AuthBase):
    """Sets ``Authorization: Bearer <token>`` unless the request already has one; repr hides the token.

    Passing the token as ``auth`` (not as a session header) means requests never replaces it with
    ``.netrc`` credentials, and drops it, as any Authorization header, when a redirect changes host.
    """

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if "Authorization" not in request.headers:
            request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(token=***)"


class _Watched:
    """The socket one call is using, so that its deadline can cut it (see :func:`deadline`)."""

    def __init__(self) -> None:
        self.sock: Any = None
        self.expired = False
        self.lock = threading.Lock()

    def watch(self, sock: Any) -> None:
        with self.lock:
            self.sock = sock
            expired = self.expired
        if expired:
            self.cut()

    def cut(self) -> None:
        """Shut the call's socket down: a read blocked on it returns at once, whatever the server sends."""
        with self.lock:
            self.expired = True
            sock = self.sock
        if sock is not None:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


_watched = threading.local()


def _watch(sock: Any) -> None:
    watched = getattr(_watched, "current", None)
    if watched is not None and sock is not None:
        watched.watch(sock)


class _WatchedConnection:
    """A connection that hands its new socket to the current call's :class:`_Watched`.

    The TCP socket is watched as soon as it exists, before a TLS handshake (or a proxy's CONNECT) runs
    over it: a server that trickles its handshake is cut at the deadline too. Shutting the TCP socket
    down ends whatever is read over it, TLS included.
    """

    def _new_conn(self) -> Any:
        sock = super()._new_conn()  # type: ignore[misc]
        _watch(sock)
        return sock


class _WatchedPool:
    """A pool that hands a reused connection's socket to the current call's :class:`_Watched`.

    (A connection answered with ``Connection: close`` drops ``sock`` while the answer is still read
    from it, so the socket is kept when it is made or handed out, not looked up later.)
    """

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        _watch(conn.sock)
        return conn


class _WatchedHTTPConnection(_WatchedConnection, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedConnection, HTTPSConnection):
    pass


class _WatchedHTTPPool(_WatchedPool, HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(_WatchedPool, HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """An adapter whose connections a per-call deadline can cut; optionally with an ``ssl.SSLContext``.

    requests' ``timeout`` bounds each socket operation, not a call: a server that sends a byte now
    and then keeps a call alive for ever. With this adapter, :func:`deadline` shuts the call's
    socket down when its time is up, in the connect, the headers or the body alike.
    """

    def __init__(self, ssl_context: ssl_module.SSLContext | None = None, **kwargs: Any) -> None:
        self._ssl_context = ssl_context
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        if self._ssl_context is not None:
            kwargs["ssl_context"] = self._ssl_context
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}

    def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
        if self._ssl_context is not None:
            kwargs["ssl_context"] = self._ssl_context
        manager = super().proxy_manager_for(*args, **kwargs)
        manager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}
        return manager


@contextmanager
def deadline(seconds: float) -> Iterator[_Watched]:
    """Cut the connection of the call made inside this block once ``seconds`` have passed.

    Yields the watch: ``expired`` says whether the time ran out (the error the cut caused is then
    a timeout, whatever requests calls it).
    """
    watched = _Watched()
    timer = threading.Timer(max(0.0, seconds), watched.cut)
    timer.daemon = True
    previous = getattr(_watched, "current", None)
    _watched.current = watched
    timer.start()
    try:
        yield watched
    finally:
        timer.cancel()
        _watched.current = previous


def build_session(
    *,
    ssl: ssl_module.SSLContext | bool | str | None,
    headers: Mapping[str, str],
    token: str | None,
) -> requests.Session:
    """One keep-alive session: headers, TLS settings, the token as auth, connections a deadline can cut.

    Args:
        ssl: an ``ssl.SSLContext``; or what requests takes for ``verify`` (True, False, a CA bundle path),
            already checked by :func:`~.config.check_ssl`.
        headers: headers for every request (User-Agent included).
        token: the token, or None to send no Authorization.
    """
    session = requests.Session()
    session.headers.update(headers)
    context = ssl if isinstance(ssl, ssl_module.SSLContext) else None
    session.mount("https://", DeadlineAdapter(context))
    session.mount("http://", DeadlineAdapter())
    if isinstance(ssl, (bool, str)):
        session.verify = ssl
    if token:
        session.auth = BearerAuth(token)
    return session
