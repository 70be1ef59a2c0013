"""``AsyncSlackAuditLogsClient``: the shared client core over ``httpx``, retries run by ``tenacity.AsyncRetrying``.

Nothing here blocks an event loop (the triggerer runs every deferred task's trigger on one): requests
go through ``httpx.AsyncClient`` (a dependency of Airflow itself, 2.11 and 3.x alike) and every wait
is an ``asyncio.sleep``. What httpx would otherwise import on a client's first request (anyio's
asyncio backend, some 30 modules) is imported with this module, so that code which imports it in a
worker thread (the hook does) keeps that work off the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import ssl as ssl_module
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx
from anyio import fail_after
from tenacity import AsyncRetrying

from airflow_provider_slack_audit.client.core import ClientCore
from airflow_provider_slack_audit.client.query import LogsQuery
from airflow_provider_slack_audit.client.request import BodyLimit, Request, announced_length
from airflow_provider_slack_audit.client.response import AuditLogsResponse
from airflow_provider_slack_audit.client.retry_rules import TransportFailure, bare, root_error
from airflow_provider_slack_audit.client.walk import AuditLogsPage, PageWalk

if TYPE_CHECKING:
    from airflow_provider_slack_audit.client.budget.async_pacer import AsyncSharedRequestPacer

#: What httpx's transport (httpcore) imports lazily on the first request of an ``AsyncClient`` under
#: asyncio: its locks and sockets come from anyio's asyncio backend. Loaded here instead of on the
#: event loop in the middle of that request (measured 10-25 ms of imports in a fresh triggerer).
_FIRST_REQUEST_MODULES = ("anyio", "anyio._backends._asyncio")
for _name in _FIRST_REQUEST_MODULES:
    with contextlib.suppress(ImportError):  # another httpcore release may not use anyio: nothing to load
        importlib.import_module(_name)

#: Bodies from this size on (about 390 Slack events) are decoded in a worker thread; smaller ones take
#: a few milliseconds at most, less than handing them to a thread would save.
DECODE_IN_THREAD_BYTES = 256 * 1024


class AsyncSlackAuditLogsClient(
    ClientCore[Awaitable[AuditLogsResponse], AsyncIterator[AuditLogsPage], AsyncIterator[dict[str, Any]]]
):
    __doc__ = (ClientCore.__doc__ or "").replace(
        "; see the transports.",
        ", asyncio on httpx: a drop-in for slack_sdk's ``AsyncAuditLogsClient``. ``schemas``, ``actions``, "
        "``logs`` and ``api_call`` return awaitables; ``iter_pages`` and ``iter_logs`` async iterators.",
        1,
    )
    http_library = f"httpx/{httpx.__version__}"

    def __init__(
        self,
        token: str | None,
        timeout: float = 30,
        ssl: ssl_module.SSLContext | bool | str | None = None,
        proxy: str | None = None,
        base_url: str = ClientCore.BASE_URL,
        session: httpx.AsyncClient | None = None,
        trust_env_in_session: bool = False,
        auth: Any = None,
        default_headers: Mapping[str, str] | None = None,
        user_agent_prefix: str | None = None,
        user_agent_suffix: str | None = None,
        logger: logging.Logger | None = None,
        retry_handlers: Sequence[Any] | None = None,
        **options: Any,
    ) -> None:
        """slack_sdk's ``AsyncAuditLogsClient`` arguments, in its order; ``options`` are :class:`ClientCore`'s
        keyword-only options (``max_retries``, ``requests_per_minute``, ...), documented and checked there.

        Args:
            session: an ``httpx.AsyncClient`` to send the requests with (slack_sdk takes an
                ``aiohttp.ClientSession``; this client runs on httpx). The caller owns it: ``aclose``
                leaves it open. Its own proxy and TLS settings apply, so ``proxy=`` and ``ssl=`` are
                refused with it (an environment proxy is left to its ``trust_env``); None: a pool of our own.
            trust_env_in_session: for a pool of our own (as slack_sdk's, for its own session). False
                (default): httpx reads nothing from the environment, and a proxy from HTTPS_PROXY & co. is
                applied as the sync client applies it (NO_PROXY respected). True: httpx reads the proxy
                variables itself (per scheme, ALL_PROXY and NO_PROXY included) and SSL_CERT_FILE/SSL_CERT_DIR.
            auth: basic auth for every request, an ``httpx.BasicAuth`` or an ``aiohttp.BasicAuth`` (sent
                with its ``encoding``). It takes the Authorization header, so it goes without a token (as
                aiohttp refuses both at once).
        """
        if session is not None and not isinstance(session, httpx.AsyncClient):
            raise TypeError(
                f"session must be an httpx.AsyncClient or None, not {type(session).__module__}."
                f"{type(session).__qualname__}: this client runs on httpx, not aiohttp. Pass an "
                "httpx.AsyncClient (configured with the proxy and TLS settings you need), or None to let the "
                "client make its own."
            )
        if not isinstance(trust_env_in_session, bool):
            raise TypeError(f"trust_env_in_session must be True or False, not {type(trust_env_in_session).__name__}.")
        self.session = session
        self.trust_env_in_session = trust_env_in_session
        self.auth = auth
        self._basic_auth = _basic_auth(auth)
        super().__init__(
            token, timeout, ssl, proxy, base_url, default_headers, user_agent_prefix, user_agent_suffix, logger,
            retry_handlers, **options,
        )  # fmt: skip

    def _open(self) -> None:
        if self._basic_auth is not None and self.token:
            raise ValueError(
                "auth (basic auth) and a token both set the Authorization header: pass one of them (token=None "
                "with auth, for a gateway that takes basic auth in front of the API)."
            )
        #: Sent with every request (on the caller's session as on ours); the token stays out of the Request.
        self._headers = {"Accept": "application/json"}
        if self.token:
            self._headers["Authorization"] = f"Bearer {self.token}"
        if self.session is not None:
            if self.ssl is not None or (self.proxy is not None and not self._proxy_from_env):
                raise ValueError(
                    "proxy= and ssl= cannot be applied to a session you pass (httpx sets them per client): give "
                    "them to it instead, httpx.AsyncClient(proxy=..., verify=...), or pass no session."
                )
            self._http = self.session
            return
        from_env = self.trust_env_in_session and self._proxy_from_env  # httpx picks the environment's proxy itself
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout),
            proxy=None if from_env else self._proxy_for(self.base_url),
            verify=_verify(self.ssl),
            follow_redirects=False,
            trust_env=self.trust_env_in_session,
        )

    def _shared_pacer(self, storage_uri: str, key: str, requests_per_minute: float) -> AsyncSharedRequestPacer:
        # Imported here, where the client is built (in a worker thread, by the hook): redis.asyncio is
        # loaded only for a shared budget, and never on the event loop.
        from airflow_provider_slack_audit.client.budget.async_pacer import AsyncSharedRequestPacer

        return AsyncSharedRequestPacer(storage_uri, key, requests_per_minute)

    async def aclose(self) -> None:
        """Close the pooled connections (and the shared budget's, if any); a ``session`` passed in is the
        caller's to close."""
        if self._http is not self.session:
            await self._http.aclose()
        if self.pacer is not None:
            await self.pacer.aclose()

    async def __aenter__(self) -> AsyncSlackAuditLogsClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    @staticmethod
    def _default_sleep() -> Callable[[float], Any]:
        return asyncio.sleep

    async def _send(self, request: Request) -> AuditLogsResponse:  # type: ignore[override]
        retrying = AsyncRetrying(**self._retrying_arguments(request, asynchronous=True))
        try:
            return await retrying(self._attempt, request)
        except TransportFailure as exc:
            failure = exc
        raise self._failed(request, failure)

    async def _logs_call(self, query: LogsQuery, request: Request) -> AuditLogsResponse:  # type: ignore[override]
        self._check_actions(query)
        response = await self._send(request)
        if self._must_read_actions(query, response):  # Slack refused a name: read the list once, say which
            try:
                actions: AuditLogsResponse | None = await self._attempt(self._actions_request())
            except TransportFailure:
                actions = None
            self._take_actions(actions)
            self._check_actions(query)
        return response

    async def _walk_pages(self, walk: PageWalk) -> AsyncIterator[AuditLogsPage]:  # type: ignore[override]
        try:
            while (params := walk.next_query()) is not None:
                request = self._request("GET", "logs", params, raw_entries=walk.raw_entries)
                page = walk.take(await self._logs_call(walk.query, request))
                if page is not None:
                    yield page
                    del page  # not held while the next page is fetched: memory stays at one page
        finally:
            walk.close()  # the ids it remembered (and their temporary database), however the walk ends

    async def _walk_entries(self, pages: AsyncIterator[AuditLogsPage]) -> AsyncIterator[dict[str, Any]]:  # type: ignore[override]
        async for page in pages:
            for entry in page.entries:
                yield entry

    async def _attempt(self, request: Request) -> AuditLogsResponse:
        """One attempt, bounded by ``timeout`` as a whole; no answer raises a :class:`TransportFailure`."""
        if self.pacer is not None:
            pause = await self.pacer.adelay()  # the shared budget's round trip is awaited, never blocking
            self.stats.waited_seconds += pause
            await asyncio.sleep(pause)
        self.stats.calls += 1
        request.attempts += 1
        self._log_request(request)
        failure: TransportFailure | None = None
        body = BodyLimit(self.max_body_bytes)
        try:
            # A deadline in this task, not asyncio.wait_for: before Python 3.12 wait_for returns an answer
            # that arrives as the task is cancelled and drops the cancellation (a watcher the triggerer
            # cancels would poll on for ever). anyio (httpx's own dependency) raises the builtin TimeoutError.
            with fail_after(self.timeout):
                return await self._fetch(request, body)
        except TimeoutError:
            failure = TransportFailure(
                f"no complete answer within timeout={self.timeout}s",
                reason=TimeoutError("timed out"),
                handler_error=asyncio.TimeoutError(),
            )
        except httpx.HTTPError as exc:
            failure = self._failure(exc, in_body=body.started)
        finally:
            body.discard()  # a failed read's bytes go now, not with its traceback (a good one's were taken)
        raise failure  # outside the except blocks: the failure has no httpx error (nor request) as context

    async def _fetch(self, request: Request, body: BodyLimit) -> AuditLogsResponse:
        async with self._http.stream(
            request.method,
            request.url,
            params=request.params,
            json=request.body,
            headers={**self._headers, **request.headers},
            auth=self._basic_auth if self._basic_auth is not None else httpx.USE_CLIENT_DEFAULT,
            timeout=httpx.Timeout(self.timeout),
            follow_redirects=False,
        ) as answer:
            body.started = True
            expected = announced_length(answer.headers, answer.status_code, request.method)
            if expected is not None:
                body.expect(expected)  # refused before it is read when over the bound; else room made for it
            async for chunk in answer.aiter_bytes():
                body.add(chunk)
        arguments = (request, answer.status_code, answer.headers, str(answer.url), body)
        if body.size < DECODE_IN_THREAD_BYTES:
            return self._response(*arguments)
        # A big page's decoding (UTF-8, then JSON) holds the loop for 50-120 ms; in a thread the loop
        # runs between its steps (each C call still holds the GIL: measured 30-40 ms at most).
        return self._received(request, await asyncio.to_thread(self._decoded, *arguments))

    def _failure(self, error: httpx.HTTPError, *, in_body: bool) -> TransportFailure:
        """What an httpx error means, in words and in the errors slack_sdk's aiohttp client would show."""
        root = bare(root_error(error))
        detail = self.redact(f"{type(root).__name__}: {root}")
        if not isinstance(error, httpx.TransportError) or isinstance(error, httpx.UnsupportedProtocol):
            return TransportFailure(f"the request could not be sent ({detail})", retryable=False)
        if isinstance(error, httpx.ConnectError) and isinstance(root, ssl_module.SSLError):
            return TransportFailure(
                f"TLS verification failed ({detail}). Pass ssl= an ssl.SSLContext or the path of the CA bundle "
                "that signs the server's certificate",
                retryable=False,
                reason=root,
            )
        if isinstance(error, httpx.TimeoutException):
            return TransportFailure(
                f"no complete answer within timeout={self.timeout}s ({detail})",
                reason=TimeoutError("timed out"),
                handler_error=asyncio.TimeoutError(),
            )
        if isinstance(error, (httpx.ConnectError, httpx.ProxyError)):
            return TransportFailure(f"could not connect ({detail})", reason=root, handler_error=_aiohttp_error(root))
        if in_body and isinstance(error, (httpx.RemoteProtocolError, httpx.ReadError, httpx.DecodingError)):
            return TransportFailure(
                f"a body cut short ({detail})", reason=root, handler_error=_aiohttp_error(root, payload=True)
            )
        if isinstance(error, httpx.RemoteProtocolError):
            return TransportFailure(
                f"the server closed the connection ({detail})", reason=root, handler_error=_aiohttp_error(root, True)
            )
        return TransportFailure(f"the connection was lost ({detail})", reason=root, handler_error=_aiohttp_error(root))


def _aiohttp_error(root: BaseException, disconnected: bool = False, *, payload: bool = False) -> BaseException:
    """The aiohttp error slack_sdk's ``AsyncAuditLogsClient`` would pass to its retry handlers.

    ``ServerDisconnectedError`` for a server that closed the connection before answering,
    ``ClientPayloadError`` for a body cut short, ``ClientOSError`` (with the socket error's errno) for
    the rest; the bare socket error when aiohttp is not installed.
    """
    try:
        import aiohttp
    except ImportError:
        return root
    if disconnected:
        return aiohttp.ServerDisconnectedError()
    if payload:
        return aiohttp.ClientPayloadError(str(root))
    errno = root.args[0] if isinstance(root, OSError) and root.args and isinstance(root.args[0], int) else None
    return aiohttp.ClientOSError(errno, str(root)) if errno is not None else aiohttp.ClientOSError(str(root))


def _basic_auth(auth: Any) -> httpx.BasicAuth | None:
    """``auth`` as httpx's basic auth: an ``httpx.BasicAuth`` as is, an ``aiohttp.BasicAuth`` converted."""
    if auth is None or isinstance(auth, httpx.BasicAuth):
        return auth
    aiohttp = sys.modules.get("aiohttp")  # an aiohttp.BasicAuth exists only if aiohttp was imported
    if aiohttp is not None and isinstance(auth, aiohttp.BasicAuth):
        return httpx.BasicAuth(auth.login.encode(auth.encoding), auth.password.encode(auth.encoding))
    raise TypeError(
        f"auth must be an httpx.BasicAuth (or an aiohttp.BasicAuth, converted) or None, not {type(auth).__name__}."
    )


def _verify(ssl: ssl_module.SSLContext | bool | str | None) -> ssl_module.SSLContext | bool:
    """What httpx takes for ``verify`` from the checked ``ssl`` setting."""
    if ssl is None:
        return True
    if isinstance(ssl, (bool, ssl_module.SSLContext)):
        return ssl
    import os

    if os.path.isdir(ssl):
        return ssl_module.create_default_context(capath=ssl)
    return ssl_module.create_default_context(cafile=ssl)
