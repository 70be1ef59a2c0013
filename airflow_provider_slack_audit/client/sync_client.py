"""``SlackAuditLogsClient``: the shared client core over ``requests``, retries run by ``tenacity.Retrying``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.error import URLError

import requests
import urllib3
from tenacity import Retrying

from airflow_provider_slack_audit.client.config import redact_url
from airflow_provider_slack_audit.client.core import ClientCore
from airflow_provider_slack_audit.client.query import LogsQuery
from airflow_provider_slack_audit.client.request import BodyLimit, Request, announced_length
from airflow_provider_slack_audit.client.response import AuditLogsResponse
from airflow_provider_slack_audit.client.retry_rules import TransportFailure, bare, is_socket_level, root_error
from airflow_provider_slack_audit.client.session import build_session, deadline
from airflow_provider_slack_audit.client.walk import AuditLogsPage, PageWalk

if TYPE_CHECKING:
    from airflow_provider_slack_audit.client.budget.sync_pacer import SharedRequestPacer

_CHUNK = 64 * 1024
#: requests' errors raised before anything reached the server: another attempt would fail the same way.
_NOT_SENT = (requests.exceptions.InvalidURL, requests.exceptions.InvalidHeader, requests.exceptions.InvalidSchema)
#: urllib3 errors of the connect phase (urllib wraps those in URLError; later ones come through raw).
_CONNECT_PHASE = ("NewConnectionError", "ConnectTimeoutError", "NameResolutionError")


class SlackAuditLogsClient(ClientCore[AuditLogsResponse, Iterator[AuditLogsPage], Iterator[dict[str, Any]]]):
    __doc__ = (ClientCore.__doc__ or "").replace(
        "; see the transports.", ", on requests: a drop-in for slack_sdk's ``AuditLogsClient``.", 1
    )
    http_library = f"requests/{requests.__version__}"

    def _open(self) -> None:
        self._session = build_session(ssl=self.ssl, headers={"Accept": "application/json"}, token=self.token)

    def _shared_pacer(self, storage_uri: str, key: str, requests_per_minute: float) -> SharedRequestPacer:
        from airflow_provider_slack_audit.client.budget.sync_pacer import SharedRequestPacer

        return SharedRequestPacer(storage_uri, key, requests_per_minute, sleep=self._sleep or time.sleep)

    def close(self) -> None:
        """Close the keep-alive connections (and the shared budget's, if any)."""
        self._session.close()
        if self.pacer is not None:
            self.pacer.close()

    def __enter__(self) -> SlackAuditLogsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @staticmethod
    def _default_sleep() -> Callable[[float], Any]:
        return time.sleep

    def _send(self, request: Request) -> AuditLogsResponse:
        retrying = Retrying(**self._retrying_arguments(request, asynchronous=False))
        try:
            return retrying(self._attempt, request)
        except TransportFailure as exc:
            failure = exc
        raise self._failed(request, failure)

    def _logs_call(self, query: LogsQuery, request: Request) -> AuditLogsResponse:
        self._check_actions(query)
        response = self._send(request)
        if self._must_read_actions(query, response):  # Slack refused a name: read the list once, say which
            try:
                actions: AuditLogsResponse | None = self._attempt(self._actions_request())
            except TransportFailure:
                actions = None
            self._take_actions(actions)
            self._check_actions(query)
        return response

    def _walk_pages(self, walk: PageWalk) -> Iterator[AuditLogsPage]:
        try:
            while (params := walk.next_query()) is not None:
                request = self._request("GET", "logs", params, raw_entries=walk.raw_entries)
                page = walk.take(self._logs_call(walk.query, request))
                if page is not None:
                    yield page
                    del page  # not held while the next page is fetched: memory stays at one page
        finally:
            walk.close()  # the ids it remembered (and their temporary database), however the walk ends

    def _walk_entries(self, pages: Iterator[AuditLogsPage]) -> Iterator[dict[str, Any]]:
        return (entry for page in pages for entry in page.entries)

    def _proxies(self, url: str) -> dict[str, str] | None:
        proxy = self._proxy_for(url)
        return None if proxy is None else {"http": proxy, "https": proxy}

    def _attempt(self, request: Request) -> AuditLogsResponse:
        """One attempt, bounded by ``timeout`` as a whole; no answer raises a :class:`TransportFailure`."""
        if self.pacer is not None:
            self.stats.waited_seconds += self.pacer.acquire()
        self.stats.calls += 1
        request.attempts += 1
        self._log_request(request)
        proxies = self._proxies(request.url)
        failure: TransportFailure | None = None
        body = BodyLimit(self.max_body_bytes)
        try:
            with deadline(self.timeout) as watch:
                try:
                    with self._session.request(
                        request.method,
                        request.url,
                        params=request.params,
                        json=request.body,
                        headers=request.headers,
                        timeout=self.timeout,
                        proxies=proxies,
                        stream=True,
                    ) as answer:
                        _read_body(answer, body, request.method)
                        status_code, headers, url = answer.status_code, answer.headers, answer.url
                except (requests.RequestException, OSError) as exc:
                    failure = self._failure(exc, expired=watch.expired)
            if failure is not None:
                raise failure  # outside the except block: the failure has no requests error as its context
            return self._response(request, status_code, headers, url, body)
        finally:
            body.discard()  # a failed read's bytes go now, not with its traceback (a good one's were taken)

    def _failure(self, error: BaseException, *, expired: bool) -> TransportFailure:
        """What a requests error means, in words and in the errors urllib (and slack_sdk) would show."""
        if expired:
            timeout = TimeoutError("timed out")
            return TransportFailure(f"no complete answer within timeout={self.timeout}s", reason=timeout)
        root = bare(root_error(error))
        detail = self.redact(f"{type(root).__name__}: {root}")
        if isinstance(error, _NOT_SENT):
            return TransportFailure(f"the request could not be sent ({detail})", retryable=False)
        if isinstance(error, requests.exceptions.SSLError):
            return TransportFailure(
                f"TLS verification failed ({detail}). Pass ssl= an ssl.SSLContext or the path of the CA bundle "
                "that signs the server's certificate",
                retryable=False,
                reason=root,
                handler_error=URLError(root),
            )
        if isinstance(error, requests.exceptions.ConnectTimeout) or _in_connect_phase(error):
            proxy = f" through proxy {redact_url(self.proxy)}" if self.proxy else ""
            return TransportFailure(f"could not connect{proxy} ({detail})", reason=root, handler_error=URLError(root))
        if isinstance(error, requests.exceptions.ReadTimeout):  # a read waited `timeout`: the deadline is reached too
            return TransportFailure(
                f"no complete answer within timeout={self.timeout}s (a read timed out)",
                reason=TimeoutError("timed out"),
            )
        if isinstance(error, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
            return TransportFailure(f"a body cut short ({detail})", reason=root)
        # urllib lets socket errors after the connect through as they are, and wraps anything else.
        raw = root if is_socket_level(root) else URLError(root)
        return TransportFailure(f"the connection was lost ({detail})", reason=root, handler_error=raw)


def _read_body(answer: requests.Response, body: BodyLimit, method: str) -> None:
    """Read the whole body of ``answer`` into ``body``.

    A body of known length sent as is (Slack's pages, ~6.5 MB at 9999 events) is read in chunks into
    a buffer of that length (no copy of the whole as ``bytes``, see :mod:`.body_buffer`); a longer one
    than ``max_body_bytes`` is refused before it is read. Any other body is read in chunks, counted as
    they come. urllib3's errors come out as requests' (as ``iter_content`` raises them).
    """
    expected = announced_length(answer.headers, answer.status_code, method)
    if expected is None:
        for chunk in answer.iter_content(_CHUNK):
            body.add(chunk)
        return
    body.expect(expected)
    try:
        while body.size < expected:
            chunk = answer.raw.read(min(_CHUNK, expected - body.size), decode_content=False)
            if not chunk:
                raise urllib3.exceptions.ProtocolError(f"{body.size} bytes read of Content-Length {expected}")
            body.add(chunk)
    except urllib3.exceptions.ReadTimeoutError as exc:
        error: requests.RequestException = requests.exceptions.ConnectionError(exc)
    except urllib3.exceptions.SSLError as exc:
        error = requests.exceptions.SSLError(exc)
    except urllib3.exceptions.ProtocolError as exc:  # cut short, reset
        error = requests.exceptions.ChunkedEncodingError(exc)
    else:
        return
    raise error


def _in_connect_phase(error: BaseException) -> bool:
    """Whether a requests error comes from connecting (urllib wraps those in ``URLError``)."""
    current: Any = error
    for _ in range(5):
        if type(current).__name__ in _CONNECT_PHASE:
            return True
        inner = getattr(current, "reason", None) or (current.args[0] if current.args else None)
        if not isinstance(inner, BaseException):
            return False
        current = inner
    return False
