"""slack_sdk-style ``RetryHandler``s deciding a call's retries, in place of the default rules.

:meta private:

A client given ``retry_handlers`` lets them decide, inside tenacity, through :class:`HandlerBridge`.
slack_sdk's handlers read ``state.current_attempt``, ``response.status_code`` and
``response.headers[name][0]`` (a dict of lists) and check ``error`` against the transport's own
exception types; the classes here carry the same attributes, so its built-in handlers work unchanged.
The default rules (when no handler is given) are in :mod:`.retry_rules`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from tenacity import RetryCallState, stop_after_attempt, wait_none

from airflow_provider_slack_audit.client.response import AuditLogsResponse
from airflow_provider_slack_audit.client.retry_rules import TransportFailure, last_outcome

#: Safety net when slack_sdk-style handlers decide (slack_sdk uses the same number).
HANDLER_ATTEMPTS_LIMIT = 100


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
            "retry_error_callback": last_outcome,
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
