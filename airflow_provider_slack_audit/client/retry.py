"""When to retry a call and how long to wait; adapters for slack_sdk-style retry handlers.

The default policy retries connection errors, timeouts, cut or non-JSON 2xx bodies, rate limiting
(HTTP 429 or a ``ratelimited`` / ``rate_limited`` code, waiting ``Retry-After``) and HTTP
500/502/503/504, with exponential backoff and "equal jitter" (half the backoff fixed, half random,
see https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/). Every wait is capped
by ``max_retry_wait``; the attempts by ``max_retries`` and the sum of the waits by ``max_total_wait``.
Auth and plan errors and other 4xx are never retried.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from airflow_provider_slack_audit.client.errors import RATE_LIMIT_ERRORS
from airflow_provider_slack_audit.client.response import AuditLogsResponse

#: HTTP statuses retried with backoff.
RETRY_STATUSES = frozenset({500, 502, 503, 504})
#: Transport errors that are worth another attempt. An ``SSLError`` is a ``ConnectionError`` but is
#: excluded: a certificate that does not verify will not verify on the next attempt.
RETRY_ERRORS: tuple[type[BaseException], ...] = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
NEVER_RETRY_ERRORS: tuple[type[BaseException], ...] = (requests.exceptions.SSLError,)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP date; None if unusable.

    Args:
        value: the header's value.
        now: the current unix time (for the HTTP-date form).
    """
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def backoff_wait(retry_number: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with equal jitter: ``d/2 + uniform(0, d/2)``, ``d = min(cap, base * 2**n)``.

    Args:
        retry_number: 0 for the first retry, 1 for the second, ...
        base: the backoff of the first retry in seconds.
        cap: the longest wait in seconds.
        rng: the random source (tests pass a seeded one).
    """
    ceiling = min(cap, base * 2 ** min(retry_number, 62))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


def is_rate_limited(response: AuditLogsResponse) -> bool:
    """True for HTTP 429 or a body whose error is ``ratelimited`` / ``rate_limited``."""
    body = response.body if response.raw_page is None else None  # a page read entry by entry is no error
    code = body.get("error") if isinstance(body, dict) else None
    return response.status_code == 429 or (isinstance(code, str) and code in RATE_LIMIT_ERRORS)


@dataclass(frozen=True)
class RetryDecision:
    """Why to retry and how long to wait first."""

    reason: str
    wait: float


@dataclass(frozen=True)
class RetryPolicy:
    """The default retry rules (see the module docstring).

    Attributes:
        max_retries: retries after the first attempt (0 disables retrying).
        max_retry_wait: the longest single wait in seconds, ``Retry-After`` included.
        max_total_wait: the longest sum of all waits of one call in seconds.
        backoff_base: the backoff of the first retry in seconds; doubles with each retry.
    """

    max_retries: int = 8
    max_retry_wait: float = 60.0
    max_total_wait: float = 600.0
    backoff_base: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise ValueError(f"max_retries must be a whole number >= 0, not {self.max_retries!r}.")
        for name in ("max_retry_wait", "max_total_wait", "backoff_base"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                raise ValueError(f"{name} must be a number of seconds >= 0, not {value!r}.")

    def reason(self, response: AuditLogsResponse | None, error: BaseException | None) -> str | None:
        """Why this outcome deserves a retry, or None if it does not."""
        if error is not None:
            if isinstance(error, NEVER_RETRY_ERRORS) or not isinstance(error, RETRY_ERRORS):
                return None
            if isinstance(error, requests.exceptions.ReadTimeout):
                return "read timeout"
            if isinstance(error, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
                return "body cut short"
            return f"connection error ({type(error).__name__})"
        assert response is not None
        if is_rate_limited(response):
            return f"rate limited (HTTP {response.status_code})"
        if response.status_code in RETRY_STATUSES:
            return f"HTTP {response.status_code}"
        if 200 <= response.status_code < 300 and response.raw_page is None and response.body is None:
            return f"HTTP {response.status_code} with a body that is cut short or not JSON"
        return None

    def wait(
        self,
        retry_number: int,
        response: AuditLogsResponse | None,
        *,
        now: float,
        rng: random.Random | None = None,
    ) -> float:
        """Seconds to wait before retry ``retry_number`` (0-based): ``Retry-After`` if sent, else backoff."""
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now) if response else None
        if retry_after is not None:
            # A little jitter so that clients told the same second do not all come back at once.
            wait = retry_after + (rng or random).uniform(0, 1)
        else:
            wait = backoff_wait(retry_number, base=self.backoff_base, cap=self.max_retry_wait, rng=rng)
        return min(wait, self.max_retry_wait)

    def decide(
        self,
        *,
        retries_done: int,
        waited: float,
        response: AuditLogsResponse | None,
        error: BaseException | None,
        now: float,
        rng: random.Random | None = None,
    ) -> RetryDecision | None:
        """A retry with its wait, or None when the outcome is final or the bounds are reached."""
        reason = self.reason(response, error)
        if reason is None or retries_done >= self.max_retries:
            return None
        wait = self.wait(retries_done, response, now=now, rng=rng)
        if waited + wait > self.max_total_wait:
            return None
        return RetryDecision(reason, wait)


# --- slack_sdk RetryHandler protocol ------------------------------------------------------------
# slack_sdk's handlers read ``state.current_attempt``, ``response.status_code`` and
# ``response.headers[name][0]`` (a dict of lists) and check ``error`` against urllib's exception
# types; these classes carry the same attributes so its built-in handlers work unchanged.


class HandlerRetryState:
    """Shaped like ``slack_sdk.http_retry.RetryState``."""

    def __init__(self, *, current_attempt: int = 0, custom_values: dict[str, Any] | None = None) -> None:
        self.next_attempt_requested = False
        self.current_attempt = current_attempt
        self.custom_values = custom_values

    def increment_current_attempt(self) -> int:
        self.current_attempt += 1
        return self.current_attempt


def _listed(headers: Mapping[str, Any]) -> dict[str, list[str]]:
    return {k: v if isinstance(v, list) else [v] for k, v in headers.items()}


class HandlerHttpRequest:
    """Shaped like ``slack_sdk.http_retry.HttpRequest``; the Authorization header is redacted."""

    def __init__(self, *, method: str, url: str, headers: Mapping[str, Any], data: bytes | None = None) -> None:
        self.method = method
        self.url = url
        self.headers = _listed({k: "(redacted)" if k.lower() == "authorization" else v for k, v in headers.items()})
        self.body_params = None
        self.data = data


class HandlerHttpResponse:
    """Shaped like ``slack_sdk.http_retry.HttpResponse``."""

    def __init__(self, response: AuditLogsResponse) -> None:
        self.status_code = response.status_code
        self.headers = _listed(dict(response.headers))
        self.body = response.body
        self.data = response.raw_body.encode("utf-8") if response.raw_body is not None else None


def handler_error(error: BaseException) -> BaseException:
    """The urllib-style exception slack_sdk's handlers expect for a ``requests`` transport error.

    A read timeout becomes ``TimeoutError`` (what urllib raises); other connection errors become
    ``urllib.error.URLError`` with the original as ``reason``, so ``ConnectionErrorRetryHandler`` works.
    """
    from urllib.error import URLError

    if isinstance(error, requests.exceptions.ReadTimeout):
        return TimeoutError(str(error))
    if isinstance(error, RETRY_ERRORS):
        return URLError(error)
    return error


def http_error(response: AuditLogsResponse) -> BaseException:
    """The ``urllib.error.HTTPError`` slack_sdk's client passes to handlers with an HTTP error answer."""
    from email.message import Message
    from urllib.error import HTTPError

    headers = Message()
    for k, v in response.headers.items():
        headers[k] = v
    return HTTPError(response.url, response.status_code, "", headers, None)


SleepFn = Callable[[float], None]
