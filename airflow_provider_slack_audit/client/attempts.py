"""What the client core does around each call's attempts: retry settings, logs, decoding, the final error.

:meta private:

:class:`ClientAttempts` is a base class of :class:`~.core.ClientCore`: the bookkeeping of one call
that does no I/O. It builds the tenacity arguments (default rules or slack_sdk handlers) and logs and
counts each retry, logs what is sent and what comes back (the token redacted), decodes an answer's
body, and turns attempts that ended without an answer into the typed error.
"""

from __future__ import annotations

import logging
import mmap
import random
import socket
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_slack_audit.client.config import redact_url, redacted_headers
from airflow_provider_slack_audit.client.errors import (
    SlackAuditLogsConnectionError,
    SlackAuditLogsError,
    SlackAuditLogsServerError,
)
from airflow_provider_slack_audit.client.request import BodyLimit, Request
from airflow_provider_slack_audit.client.response import AuditLogsResponse
from airflow_provider_slack_audit.client.retry_handlers import HandlerBridge, HandlerHttpRequest
from airflow_provider_slack_audit.client.retry_rules import RetrySettings, TransportFailure, is_rate_limited
from airflow_provider_slack_audit.client.stats import ClientStats

_LOG_BODY_CHARS = 2000


class ClientAttempts:
    """The I/O-free handling of a call's attempts; the settings it reads are set by ``ClientCore.__init__``."""

    token: str | None
    proxy: str | None
    logger: logging.Logger
    retry_handlers: list[Any]
    retry_settings: RetrySettings
    stats: ClientStats
    _handlers_given: bool
    _sleep: Callable[[float], Any] | None
    _wall_clock: Callable[[], float]
    _rng: random.Random | None

    if TYPE_CHECKING:  # defined by ClientCore (redact) and its transports (_default_sleep)

        def redact(self, text: str) -> str: ...

        @staticmethod
        def _default_sleep() -> Callable[[float], Any]: ...

    def _uses_handlers(self) -> bool:
        return self._handlers_given or bool(self.retry_handlers)

    def _retrying_arguments(self, request: Request, *, asynchronous: bool) -> dict[str, Any]:
        """tenacity arguments for one call: the default rules, or the slack_sdk handlers'."""

        def on_retry(reason: str, number: int, wait: float) -> None:
            self.stats.retries += 1
            self.stats.waited_seconds += wait
            plan = (
                "asked by a retry handler"
                if self._uses_handlers()
                else f"of {self.retry_settings.max_retries} in {wait:.1f}s"
            )
            self.logger.warning(
                "Slack Audit Logs API %s %s: %s; retry %d %s",
                request.method,
                request.path,
                self.redact(reason),
                number,
                plan,
            )

        if self._uses_handlers():
            headers = {**request.headers, **({"Authorization": "***"} if self.token else {})}
            bridge = HandlerBridge(
                self.retry_handlers,
                HandlerHttpRequest(method=request.method, url=request.url, headers=headers),
                on_retry,
            )
            return bridge.async_arguments() if asynchronous else bridge.sync_arguments()
        return self.retry_settings.tenacity_arguments(
            sleep=self._sleep or self._default_sleep(),
            wall_clock=self._wall_clock,
            rng=self._rng,
            on_retry=on_retry,
        )

    def _log_request(self, request: Request) -> None:
        if self.logger.isEnabledFor(logging.DEBUG):
            self.logger.debug(
                "Sending %s %s params=%s headers=%s%s",
                request.method,
                request.url,
                request.params,
                redacted_headers({**request.headers, **({"Authorization": "***"} if self.token else {})}),
                f" proxy={redact_url(self.proxy)}" if self.proxy else "",
            )

    def _response(self, request: Request, status_code: int, headers: Mapping[str, Any], url: str, body: BodyLimit):
        """The answer of one attempt, decoded, counted and logged."""
        return self._received(request, self._decoded(request, status_code, headers, url, body))

    @staticmethod
    def _decoded(
        request: Request, status_code: int, headers: Mapping[str, Any], url: str, body: BodyLimit
    ) -> AuditLogsResponse:
        """The answer of one attempt with its body decoded: no I/O, no shared state (a thread may run it)."""
        # Entries read raw keep the bytes (msgspec checks they are UTF-8 as it reads them).
        raw: str | bytes | mmap.mmap = body.content() if request.raw_entries else body.text()
        response = AuditLogsResponse(
            url=url,
            status_code=status_code,
            raw_body=raw,
            headers=headers,
            method=request.method,
            raw_entries=request.raw_entries,
        )
        response.attempts = request.attempts
        return response

    def _received(self, request: Request, response: AuditLogsResponse) -> AuditLogsResponse:
        """Count and log a decoded answer."""
        if self.logger.isEnabledFor(logging.DEBUG):
            raw = response._text or ""  # as it came: bytes for a page read raw (not decoded to log it)
            self.logger.debug(
                "Received HTTP %s for %s %s headers=%s body=%s",
                response.status_code,
                request.method,
                request.path,
                dict(response.headers),
                self.redact(
                    raw[:_LOG_BODY_CHARS]
                    if isinstance(raw, str)
                    else bytes(raw[:_LOG_BODY_CHARS]).decode("utf-8", "replace")
                )
                + ("..." if len(raw) > _LOG_BODY_CHARS else ""),
            )
        if is_rate_limited(response):
            self.stats.rate_limited += 1
        return response

    def _failed(self, request: Request, failure: TransportFailure) -> SlackAuditLogsError:
        """The typed error for a call whose attempts ended without an answer (raise it outside any ``except``)."""
        attempts = request.attempts
        where = f"{request.method} {urlsplit(request.url).hostname}{request.path}"
        what = self.redact(failure.what)
        if not failure.retryable:
            return SlackAuditLogsError(f"{where} could not be completed: {what}.")
        if isinstance(failure.reason, socket.gaierror):  # the name lookup failed: no connection was tried
            host = urlsplit(self.proxy).hostname if self.proxy else urlsplit(request.url).hostname
            role = "the proxy's host" if self.proxy else "the host"
            lookup = self.redact(f"{type(failure.reason).__name__}: {failure.reason}")
            message = (
                f"{where} failed after {attempts} attempt{'s' if attempts != 1 else ''}: {role} {host} cannot be "
                f"resolved ({lookup}). Check base_url (a typo in the host?), the machine's DNS and the proxy settings."
            )
            return SlackAuditLogsConnectionError(message, reason=failure.reason, attempts=attempts)
        message = (
            f"{where} got no usable answer after {attempts} attempt{'s' if attempts != 1 else ''}: {what}. "
            "This is usually temporary: run again later; if it persists, check the network, the proxy "
            "settings and https://slack-status.com."
        )
        if failure.reason is None:
            return SlackAuditLogsServerError(message)
        return SlackAuditLogsConnectionError(message, reason=failure.reason, attempts=attempts)
