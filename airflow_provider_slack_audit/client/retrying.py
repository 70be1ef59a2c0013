"""When a call is retried and how long it waits: tenacity arguments that both transports drive.

Retried: an attempt that got no usable answer (connection errors, timeouts, bodies cut short, too
large or not JSON: a :class:`TransportFailure`), rate limiting (HTTP 429 or a ``ratelimited`` /
``rate_limited`` code, waiting ``Retry-After``) and HTTP 500/502/503/504. The wait is
``Retry-After`` when Slack sends one, else exponential backoff with "equal jitter" (half the backoff
fixed, half random); every wait is capped by ``max_retry_wait``, the attempts by ``max_retries`` and
the sum of the waits by ``max_total_wait``. Auth and plan errors and other 4xx are never retried.

The sync client runs these in ``tenacity.Retrying``, the async one in ``tenacity.AsyncRetrying``.
slack_sdk-style ``RetryHandler``s, when given, replace the rules through :class:`HandlerBridge`.
"""

from __future__ import annotations

import inspect
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from tenacity import RetryCallState, retry_if_exception, retry_if_result, stop_after_attempt, wait_none

from airflow_provider_slack_audit.client.errors import RATE_LIMIT_ERRORS
from airflow_provider_slack_audit.client.response import AuditLogsResponse

#: HTTP statuses retried with backoff.
RETRY_STATUSES = frozenset({500, 502, 503, 504})
#: Safety net when slack_sdk-style handlers decide (slack_sdk uses the same number).
HANDLER_ATTEMPTS_LIMIT = 100


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
    if 200 <= response.status_code < 300 and response.raw_page is None and response.body is None:
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
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise ValueError(f"max_retries must be a whole number >= 0, not {self.max_retries!r}.")
        for name in ("max_retry_wait", "max_total_wait", "backoff_base"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
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
            "retry_error_callback": _last_outcome,
            "sleep": sleep,
        }


def _retryable_failure(error: BaseException) -> bool:
    return isinstance(error, TransportFailure) and error.retryable


def _retryable_response(response: AuditLogsResponse) -> bool:
    return response_retry_reason(response) is not None


def _last_outcome(retry_state: RetryCallState) -> AuditLogsResponse:
    """The last answer, or the last failure raised (what the call ends with when the retries stop)."""
    return retry_state.outcome.result()  # type: ignore[union-attr]


# --- slack_sdk RetryHandler protocol ------------------------------------------------------------
# slack_sdk's handlers read ``state.current_attempt``, ``response.status_code`` and
# ``response.headers[name][0]`` (a dict of lists) and check ``error`` against the transport's own
# exception types; these classes carry the same attributes so its built-in handlers work unchanged.


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
    """Shaped like ``slack_sdk.http_retry.HttpRequest``; the Authorization header's value is redacted."""

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


def http_error(response: AuditLogsResponse) -> BaseException:
    """The ``urllib.error.HTTPError`` slack_sdk passes to handlers with an HTTP error answer."""
    from email.message import Message
    from urllib.error import HTTPError

    headers = Message()
    for k, v in response.headers.items():
        headers[k] = v
    return HTTPError(response.url, response.status_code, "", headers, None)


class HandlerBridge:
    """Lets slack_sdk-style ``RetryHandler``s decide a call's retries, inside tenacity.

    As in slack_sdk: a 2xx answer is never retried; otherwise the first handler whose ``can_retry``
    says yes gets ``prepare_for_next_attempt`` (it waits and counts the attempt itself), and the
    call is repeated if it asked for it. Handlers of slack_sdk's ``AsyncRetryHandler`` kind
    (``can_retry_async``) are awaited by the async client.

    Args:
        handlers: the handlers, tried in order.
        request: the request as handlers see it.
        on_retry: called with the reason and retry number when a handler asked for another attempt.
    """

    def __init__(self, handlers: list[Any], request: HandlerHttpRequest, on_retry: Callable[[str, int, float], None]):
        self.handlers = handlers
        self.request = request
        self.state = HandlerRetryState()
        self.on_retry = on_retry

    def _arguments(self, retry: Callable[[RetryCallState], Any], sleep: Callable[[float], Any]) -> dict[str, Any]:
        # Handlers wait inside prepare_for_next_attempt: tenacity has nothing left to wait.
        return {
            "retry": retry,
            "wait": wait_none(),
            "stop": stop_after_attempt(HANDLER_ATTEMPTS_LIMIT),
            "retry_error_callback": _last_outcome,
            "sleep": sleep,
        }

    def _offer(self, retry_state: RetryCallState) -> dict[str, Any] | None:
        """The handlers' keyword arguments for the last outcome, or None when it is not theirs to judge."""
        outcome = retry_state.outcome
        assert outcome is not None
        response, error = None, None
        if not outcome.failed:
            answer = outcome.result()
            if 200 <= answer.status_code < 300:
                return None  # slack_sdk returns every 2xx as it is
            response, error = HandlerHttpResponse(answer), http_error(answer)
        elif isinstance(outcome.exception(), TransportFailure):
            error = outcome.exception().handler_error  # type: ignore[union-attr]
        else:
            return None
        return {"state": self.state, "request": self.request, "response": response, "error": error}

    def _asked(self, retry_state: RetryCallState) -> bool:
        if self.state.next_attempt_requested:
            self.state.next_attempt_requested = False
            outcome = retry_state.outcome
            assert outcome is not None
            error = outcome.exception() if outcome.failed else None
            what = error.what if isinstance(error, TransportFailure) else f"HTTP {outcome.result().status_code}"
            self.on_retry(what, retry_state.attempt_number, 0.0)
            return True
        return False

    def sync_arguments(self) -> dict[str, Any]:
        """``tenacity.Retrying`` arguments that ask the handlers."""

        def retry(retry_state: RetryCallState) -> bool:
            arguments = self._offer(retry_state)
            willing = next((h for h in self.handlers if arguments and h.can_retry(**arguments)), None)
            if willing is not None:
                willing.prepare_for_next_attempt(**arguments)
            return self._asked(retry_state)

        return self._arguments(retry, _no_sleep)

    def async_arguments(self) -> dict[str, Any]:
        """``tenacity.AsyncRetrying`` arguments that ask (and await) the handlers."""

        async def retry(retry_state: RetryCallState) -> bool:
            arguments = self._offer(retry_state)
            for handler in self.handlers if arguments else ():
                if await _call(handler, "can_retry", arguments):
                    await _call(handler, "prepare_for_next_attempt", arguments)
                    break
            return self._asked(retry_state)

        return self._arguments(retry, _no_sleep_async)


async def _call(handler: Any, name: str, arguments: dict[str, Any]) -> Any:
    """``handler.<name>_async(**arguments)`` awaited if the handler has it, else ``handler.<name>(...)``."""
    method = getattr(handler, f"{name}_async", None) or getattr(handler, name)
    value = method(**arguments)
    return await value if inspect.isawaitable(value) else value


def _no_sleep(seconds: float) -> None:
    pass


async def _no_sleep_async(seconds: float) -> None:
    pass
