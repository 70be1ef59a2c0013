"""When a call is retried and how long it waits: tenacity arguments that both transports drive.

:meta private:

Its public name, :class:`RetrySettings`, is imported from :mod:`airflow_provider_slack_audit.client`.

Retried: an attempt that got no usable answer (connection errors, timeouts, bodies cut short, too
large or not JSON: a :class:`TransportFailure`), rate limiting (HTTP 429 or a ``ratelimited`` /
``rate_limited`` code, waiting ``Retry-After``) and HTTP 500/502/503/504. The wait is
``Retry-After`` when Slack sends one, else exponential backoff with "equal jitter" (half the backoff
fixed, half random); every wait is capped by ``max_retry_wait``, the attempts by ``max_retries`` and
the sum of the waits by ``max_total_wait``. Auth and plan errors and other 4xx are never retried.

The sync client runs these in ``tenacity.Retrying``, the async one in ``tenacity.AsyncRetrying``.
slack_sdk-style ``RetryHandler``s, when given, replace these rules: see :mod:`.retry_handlers`.
This module also holds what both of them judge a failed attempt by (:class:`TransportFailure`)
and how the transports reduce their errors to it (:func:`root_error`, :func:`bare`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from tenacity import RetryCallState, retry_if_exception, retry_if_result, stop_after_attempt

from airflow_provider_slack_audit.client.errors import RATE_LIMIT_ERRORS
from airflow_provider_slack_audit.client.response import AuditLogsResponse
from airflow_provider_slack_audit.client.validation import isinstance_strict

#: HTTP statuses retried with backoff.
RETRY_STATUSES = frozenset({500, 502, 503, 504})


class TransportFailure(Exception):
    """One attempt got no usable answer. Internal: the clients raise a typed error in its place.

    It is made outside of any ``except`` block and holds only text and errors rebuilt from their
    arguments, so nothing that saw the request (and its Authorization header) hangs off it.

    Attributes:
        what: what happened, for messages (``"connection refused"``, ``"a timeout after 30.0 s"``).
        retryable: whether another attempt may help (a certificate that does not verify will not).
        reason: the transport's error rebuilt bare (``ConnectionRefusedError``, ``RemoteDisconnected``,
            ``TimeoutError``), for ``URLError.reason``.
        handler_error: what a slack_sdk ``RetryHandler`` gets as ``error`` (what slack_sdk passes).
    """

    def __init__(
        self, what: str, *, retryable: bool = True, reason: BaseException | None = None, handler_error: Any = None
    ) -> None:
        super().__init__(what)
        self.what = what
        self.retryable = retryable
        self.reason = reason
        self.handler_error = handler_error if handler_error is not None else reason


#: Modules whose exceptions are the transport's own errors (what urllib and slack_sdk let through).
_ROOT_MODULES = frozenset({"builtins", "http.client", "ssl", "socket", "asyncio.exceptions"})


def is_socket_level(error: BaseException) -> bool:
    """Whether ``error`` was raised by Python itself, not by an HTTP library's wrapper."""
    return type(error).__module__ in _ROOT_MODULES


def root_error(error: BaseException) -> BaseException:
    """The socket-level error under an HTTP library's wrappers (requests, urllib3, httpx, httpcore).

    Follows wrapped errors in ``args``, ``reason``, ``__cause__`` and ``__context__`` to the first
    one raised by Python itself (``ConnectionRefusedError``, ``RemoteDisconnected``, ``TimeoutError``,
    ``ssl.SSLError``, ...); ``error`` itself when there is none.
    """
    queue, seen = [error], set()
    while queue:
        current = queue.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if current is not error and is_socket_level(current):
            # anyio's "All connection attempts failed" is an OSError made from the real one.
            while isinstance(current.__cause__, BaseException) and is_socket_level(current.__cause__):
                current = current.__cause__
            return current
        inner = [a for a in current.args if isinstance(a, BaseException)]
        inner += [getattr(current, "reason", None), current.__cause__, current.__context__]
        queue.extend(e for e in inner if isinstance(e, BaseException))
    return error


def bare(error: BaseException) -> BaseException:
    """``error`` rebuilt from its type and plain arguments: no traceback, cause, context or object.

    Arguments that are not numbers or text become their text (a wrapped connection object may hold
    the request's headers, the token among them).
    """
    args = [a if isinstance(a, (str, int, float)) or a is None else str(a) for a in error.args]
    try:
        return type(error)(*args)
    except Exception:
        return OSError(str(error))


def is_rate_limited(response: AuditLogsResponse) -> bool:
    """True for HTTP 429 or a body whose error is ``ratelimited`` / ``rate_limited``."""
    body = response.body if response.raw_page is None else None  # a page read entry by entry is no error
    code = body.get("error") if isinstance(body, dict) else None
    return response.status_code == 429 or (isinstance(code, str) and code in RATE_LIMIT_ERRORS)


def response_retry_reason(response: AuditLogsResponse) -> str | None:
    """Why this answer deserves another attempt, or None if it does not."""
    if is_rate_limited(response):
        return f"rate limited (HTTP {response.status_code})"
    if response.status_code in RETRY_STATUSES:
        return f"HTTP {response.status_code}"
    if (
        200 <= response.status_code < 300
        and response.raw_page is None
        and response.unreadable_entry is None  # Slack would send the same entry again
        and response.body is None
    ):
        return f"HTTP {response.status_code} with a body that is cut short or not JSON"
    return None


def outcome_retry_reason(retry_state: RetryCallState) -> str | None:
    """Why the last attempt deserves another one, or None."""
    outcome = retry_state.outcome
    if outcome is None:
        return None
    if outcome.failed:
        error = outcome.exception()
        return error.what if isinstance(error, TransportFailure) and error.retryable else None
    return response_retry_reason(outcome.result())


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


@dataclass(frozen=True)
class RetrySettings:
    """The bounds of the default retries.

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
        if not isinstance_strict(self.max_retries, int) or self.max_retries < 0:
            raise ValueError(f"max_retries must be a whole number >= 0, not {self.max_retries!r}.")
        for name in ("max_retry_wait", "max_total_wait", "backoff_base"):
            value = getattr(self, name)
            if not isinstance_strict(value, (int, float)) or not 0 <= value < math.inf:
                raise ValueError(f"{name} must be a number of seconds >= 0, not {value!r}.")

    def wait(
        self, retry_number: int, response: AuditLogsResponse | None, *, now: float, rng: random.Random | None
    ) -> float:
        """Seconds before retry ``retry_number`` (0-based): ``Retry-After`` if sent, else backoff; capped."""
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now) if response is not None else None
        if retry_after is not None:
            # A little jitter so that clients told the same second do not all come back at once.
            wait = retry_after + (rng or random).uniform(0, 1)
        else:
            wait = backoff_wait(retry_number, base=self.backoff_base, cap=self.max_retry_wait, rng=rng)
        return min(wait, self.max_retry_wait)

    def tenacity_arguments(
        self,
        *,
        sleep: Callable[[float], Any],
        wall_clock: Callable[[], float],
        rng: random.Random | None,
        on_retry: Callable[[str, int, float], None],
    ) -> dict[str, Any]:
        """Keyword arguments for ``tenacity.Retrying`` / ``AsyncRetrying`` that apply these rules.

        The call returns the last answer when the retries end on one (a non-2xx answer is returned,
        not raised) and raises the last :class:`TransportFailure` when they end on no answer.

        Args:
            sleep: how to wait (``time.sleep``, ``asyncio.sleep`` or a test's fake).
            wall_clock: unix time, for ``Retry-After`` dates.
            rng: the random source of the jitter.
            on_retry: called before each wait with the reason, the retry's number (1-based) and the wait.
        """

        def wait(retry_state: RetryCallState) -> float:
            outcome = retry_state.outcome
            response = outcome.result() if outcome is not None and not outcome.failed else None
            return self.wait(retry_state.attempt_number - 1, response, now=wall_clock(), rng=rng)

        def total_wait_reached(retry_state: RetryCallState) -> bool:
            return retry_state.idle_for + (retry_state.upcoming_sleep or 0.0) > self.max_total_wait

        def before_sleep(retry_state: RetryCallState) -> None:
            reason = outcome_retry_reason(retry_state) or "retry"
            on_retry(reason, retry_state.attempt_number, retry_state.upcoming_sleep)

        return {
            "retry": retry_if_exception(_retryable_failure) | retry_if_result(_retryable_response),
            "wait": wait,
            "stop": stop_after_attempt(self.max_retries + 1) | total_wait_reached,
            "before_sleep": before_sleep,
            "retry_error_callback": last_outcome,
            "sleep": sleep,
        }


def _retryable_failure(error: BaseException) -> bool:
    return isinstance(error, TransportFailure) and error.retryable


def _retryable_response(response: AuditLogsResponse) -> bool:
    return response_retry_reason(response) is not None


def last_outcome(retry_state: RetryCallState) -> AuditLogsResponse:
    """The last answer, or the last failure raised (what a call ends with when its retries stop).

    Args:
        retry_state: tenacity's state of the call.
    """
    return retry_state.outcome.result()  # type: ignore[union-attr]
