"""An asyncio client for the Slack Audit Logs ``logs`` method: the triggerer's HTTP client.

The triggerer runs every deferred task's trigger on one event loop, so nothing here may block:
requests go through ``httpx.AsyncClient`` (a dependency of Airflow itself, 2.11 and 3.x alike) and
every wait is an ``asyncio.sleep``. Everything else is the synchronous client's, imported rather
than copied: the query checks (:func:`~.client.params.logs_query`), the retry rules
(:class:`~.client.retry.RetryPolicy`: connection errors, timeouts, cut or non-JSON bodies, 429
after ``Retry-After`` and 500/502/503/504, bounded in attempts and in total wait), the pacing
(:class:`~.client.pacing.RequestPacer`), the answer classification and its typed errors
(:func:`~.client.errors.error_for_response`), and the page walk itself
(:class:`~.client.pagination.PageWalk`: de-duplication, cursors, restarts after a rejected cursor).

The token travels only in the ``Authorization`` header: never in a URL, a log line or a ``repr``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl as ssl_module
import time
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any

import httpx
import requests

from airflow_provider_slack_audit.client.errors import SlackAuditLogsServerError, error_for_response
from airflow_provider_slack_audit.client.pacing import RequestPacer
from airflow_provider_slack_audit.client.pagination import PageWalk
from airflow_provider_slack_audit.client.params import MAX_LIMIT, logs_query
from airflow_provider_slack_audit.client.response import AuditLogsResponse
from airflow_provider_slack_audit.client.retry import RetryPolicy
from airflow_provider_slack_audit.client.session import check_base_url, check_token, user_agent

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.slack.com/audit/v1/"
#: How often one walk may start over after Slack rejected its cursor (as the sync client).
MAX_CURSOR_RESTARTS = 5


def _requests_equivalent(error: httpx.TransportError) -> requests.RequestException:
    """The ``requests`` exception that the retry rules know for an ``httpx`` transport error."""
    exceptions = requests.exceptions
    if isinstance(error, httpx.ConnectError) and isinstance(error.__cause__ or error.__context__, ssl_module.SSLError):
        return exceptions.SSLError(str(error))
    kinds: tuple[tuple[type[httpx.TransportError], type[requests.RequestException]], ...] = (
        (httpx.ConnectTimeout, exceptions.ConnectTimeout),
        (httpx.ReadTimeout, exceptions.ReadTimeout),
        (httpx.TimeoutException, exceptions.Timeout),
        (httpx.RemoteProtocolError, exceptions.ChunkedEncodingError),  # body cut short, connection reset
        (httpx.DecodingError, exceptions.ContentDecodingError),
        (httpx.NetworkError, exceptions.ConnectionError),
        (httpx.ProxyError, exceptions.ProxyError),
    )
    for httpx_kind, requests_kind in kinds:
        if isinstance(error, httpx_kind):
            return requests_kind(str(error))
    return exceptions.RequestException(str(error))  # not retried: an unsupported protocol, a bad URL


def _verify(ssl: bool | str | ssl_module.SSLContext | None) -> bool | ssl_module.SSLContext:
    """What ``httpx`` takes for ``verify`` from what the sync client takes as ``ssl``."""
    if ssl is None:
        return True
    if isinstance(ssl, (bool, ssl_module.SSLContext)):
        return ssl
    if not isinstance(ssl, str) or not os.path.exists(ssl):
        raise ValueError(f"ssl: CA bundle {ssl!r} does not exist; pass an existing file or directory.")
    if os.path.isdir(ssl):
        return ssl_module.create_default_context(capath=ssl)
    return ssl_module.create_default_context(cafile=ssl)


class AsyncSlackAuditLogsClient:
    """Read the audit log from an event loop without blocking it.

    :param token: an org owner's user token (``xoxp-``) with ``auditlogs:read``; sent only as a
        bearer header.
    :param base_url: the API root; https, or http to a loopback host (the emulator).
    :param timeout: seconds to wait to connect, send or receive in one request.
    :param proxy: proxy URL; when None the ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY`` variables apply.
    :param ssl: TLS verification as the sync client takes it: an ``ssl.SSLContext``, True, False or the
        path of a CA bundle file or directory (None: verify with the default bundle).
    :param max_retries: retries of one call after its first attempt (0 disables retrying).
    :param max_retry_wait: the longest single wait between attempts in seconds, ``Retry-After`` included.
    :param max_total_wait: the longest sum of the waits of one call in seconds.
    :param requests_per_minute: start no more than this many calls a minute (Slack's limit, about 50,
        is shared organisation-wide); None: no pacing, a 429 is still honoured.
    """

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 30.0,
        proxy: str | None = None,
        ssl: bool | str | ssl_module.SSLContext | None = None,
        max_retries: int | None = None,
        max_retry_wait: float | None = None,
        max_total_wait: float | None = None,
        requests_per_minute: float | None = None,
    ) -> None:
        checked = check_token(token)
        if not checked:
            raise ValueError("token is empty: pass the Slack user token (xoxp-...) of an org owner.")
        self.base_url = check_base_url(base_url)
        defaults = RetryPolicy()
        self.retry_policy = RetryPolicy(
            max_retries=defaults.max_retries if max_retries is None else max_retries,
            max_retry_wait=defaults.max_retry_wait if max_retry_wait is None else float(max_retry_wait),
            max_total_wait=defaults.max_total_wait if max_total_wait is None else float(max_total_wait),
        )
        self._pacer = RequestPacer(requests_per_minute) if requests_per_minute else None
        self._http = httpx.AsyncClient(
            headers={
                "Authorization": f"Bearer {checked}",
                "User-Agent": user_agent(suffix=f"httpx/{httpx.__version__}"),
                "Accept": "application/json",
            },
            timeout=httpx.Timeout(float(timeout)),
            proxy=proxy or None,
            verify=_verify(ssl),
            follow_redirects=False,
        )
        #: HTTP requests sent, every attempt counted (for logs and tests).
        self.calls = 0
        #: Attempts the last :meth:`call` made (1 when it needed no retry).
        self.last_attempts = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, token=***)"

    async def __aenter__(self) -> AsyncSlackAuditLogsClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._http.aclose()

    async def iter_logs(
        self,
        *,
        oldest: Any = None,
        latest: Any = None,
        action: Any = None,
        actor: Any = None,
        entity: Any = None,
        limit: Any = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield every entry of the range once, newest first, across all pages (raw dicts).

        The arguments mean what they mean to ``SlackAuditLogsClient.iter_logs``: inclusive unix
        seconds, action names (at most 30), actor and entity ids, the page size (default 9999).
        Bounds and filters go with every cursor; a rejected cursor restarts the walk at the oldest
        second already read. Raises a ``SlackAuditLogsError`` subclass on any failure.
        """
        limit = MAX_LIMIT if limit is None else limit
        query = logs_query(oldest=oldest, latest=latest, limit=limit, action=action, actor=actor, entity=entity)
        walk = PageWalk(query, MAX_CURSOR_RESTARTS)
        while (params := walk.next_query()) is not None:
            response = await self.call("logs", params)
            error = error_for_response(response, attempts=self.last_attempts)
            if error is not None:
                if walk.restart_after(error):
                    log.warning("Slack rejected a cursor; restarting the window at latest=%s", walk.query.get("latest"))
                    continue
                raise error
            page = walk.accept(response)
            del response
            for entry in page.entries:
                yield entry
            del page  # hold no page while the next one is fetched

    async def call(self, path: str, params: Mapping[str, Any]) -> AuditLogsResponse:
        """GET ``path`` with the retry policy; the last answer (a non-2xx one is returned, not raised).

        Raises ``SlackAuditLogsServerError`` when the transport kept failing (connection errors,
        timeouts, cut bodies) until the retries ran out.
        """
        url = self.base_url + path.lstrip("/")
        retries, waited = 0, 0.0
        while True:
            if self._pacer is not None:
                pause = self._pacer.delay()
                if pause > 0:
                    await asyncio.sleep(pause)
            response: AuditLogsResponse | None = None
            error: requests.RequestException | None = None
            self.calls += 1
            try:
                answer = await self._http.get(url, params=params)
            except httpx.TransportError as exc:
                error = _requests_equivalent(exc)
            else:
                response = AuditLogsResponse(
                    url=str(answer.url), status_code=answer.status_code, raw_body=answer.text, headers=answer.headers
                )
            self.last_attempts = retries + 1
            decision = self.retry_policy.decide(
                retries_done=retries, waited=waited, response=response, error=error, now=time.time()
            )
            if decision is None:
                if response is not None:
                    return response
                what = self.retry_policy.reason(None, error) or f"request failed ({type(error).__name__})"
                raise SlackAuditLogsServerError(
                    f"GET {path} failed: {what}: {error} (after {retries + 1} attempt(s)). Check the network, "
                    "proxy and base_url; if Slack is having trouble, run again later."
                )
            log.warning(
                "Slack Audit Logs GET %s: %s; retry %d of at most %d in %.1f s",
                path,
                decision.reason,
                retries + 1,
                self.retry_policy.max_retries,
                decision.wait,
            )
            await asyncio.sleep(decision.wait)
            retries += 1
            waited += decision.wait
