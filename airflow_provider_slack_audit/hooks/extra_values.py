"""How the value of one ``slack_audit`` connection extra is checked and coerced.

:meta private:

Import these names from :mod:`airflow_provider_slack_audit.hooks.connection_extras`. Each
``coerce_*`` function takes a raw value (a JSON value, or a string from a URI connection or the
UI) and returns what the client takes, or raises :class:`SlackAuditConnectionError` naming the
connection, the field and the fix. Checks the client makes on its own settings (base URL, CA
bundle) are the client's (``client.config``, Airflow-free); they are run here so that their
message gets the connection and the field in front of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from airflow_provider_slack_audit.client.budget.store import check_rate_limit_key, check_storage_uri
from airflow_provider_slack_audit.client.config import check_base_url, check_ssl
from airflow_provider_slack_audit.client.validation import isinstance_strict

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_PROXY_SCHEMES = frozenset({"http", "https", "socks4", "socks4a", "socks5", "socks5h"})


class SlackAuditConnectionError(ValueError):
    """A ``slack_audit`` connection (or a hook argument) holds a value the hook cannot use."""


def _where(conn_id: str, name: str, source: str) -> str:
    if source == "argument":
        return f"SlackAuditLogsHook argument {name!r} (connection {conn_id!r})"
    return f"Slack Audit Logs connection {conn_id!r}, extra {name!r}"


def _fail(conn_id: str, name: str, source: str, problem: str, fix: str) -> SlackAuditConnectionError:
    return SlackAuditConnectionError(f"{_where(conn_id, name, source)}: {problem} {fix}")


def _number(value: Any, conn_id: str, name: str, source: str, *, unit: str, example: str) -> float:
    fix = f"Set it to a positive number of {unit}, e.g. {example}, or leave it empty for the default."
    if not isinstance_strict(value, (int, float, str)):
        raise _fail(conn_id, name, source, f"{value!r} is not a number.", fix)
    try:
        number = float(value)
    except ValueError:
        raise _fail(conn_id, name, source, f"{value!r} is not a number.", fix) from None
    if not math.isfinite(number) or number <= 0:
        raise _fail(conn_id, name, source, f"{value!r} is not a positive number.", fix)
    return number


def coerce_seconds(value: Any, conn_id: str, name: str, source: str = "extra") -> float:
    """A positive, finite number of seconds; ``"30"`` becomes ``30.0``."""
    return _number(value, conn_id, name, source, unit="seconds", example="30")


def coerce_rate(value: Any, conn_id: str, name: str, source: str = "extra") -> float:
    """A positive number of requests per minute."""
    return _number(value, conn_id, name, source, unit="requests per minute", example="40")


def coerce_count(value: Any, conn_id: str, name: str, source: str = "extra") -> int:
    """A whole number >= 0; ``"5"`` and ``5.0`` become ``5``."""
    fix = "Set it to a whole number >= 0, e.g. 5 (0 turns retries off), or leave it empty for the default."
    if isinstance(value, bool):
        raise _fail(conn_id, name, source, f"{value!r} is not a whole number.", fix)
    if isinstance(value, str):
        text = value.strip()
        if not text.lstrip("+-").isdigit():
            raise _fail(conn_id, name, source, f"{value!r} is not a whole number.", fix)
        number = int(text)
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        raise _fail(conn_id, name, source, f"{value!r} is not a whole number.", fix)
    if number < 0:
        raise _fail(conn_id, name, source, f"{value!r} is negative.", fix)
    return number


def _client_check(
    check: Callable[[Any], Any], value: Any, conn_id: str, name: str, source: str, fix: str = ""
) -> Any:
    """
    ``check(value)``: a check the client makes on its own settings, run here so a bad extra fails
    while the connection is read, with the connection and the field in front of the client's message.

    :param fix: what the extra accepts beyond the client's setting (e.g. ``true``/``false``), if anything.
    """
    try:
        return check(value)
    except (TypeError, ValueError) as err:
        raise SlackAuditConnectionError(f"{_where(conn_id, name, source)}: {err}{' ' + fix if fix else ''}") from None


def coerce_verify(value: Any, conn_id: str, name: str, source: str = "extra") -> bool | str:
    """
    TLS verification: a boolean (``"false"`` becomes ``False``) or the path of a CA bundle.

    The path is checked by the client's ``check_ssl``.
    """
    fix = (
        "Set it to true (verify with the default CA bundle), false (do not verify; only for a local "
        "test server), or the path of a CA bundle file or directory that exists on the worker."
    )
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if not isinstance(value, str):
        raise _fail(conn_id, name, source, f"{value!r} is neither a boolean nor a path.", fix)
    text = value.strip()
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    return _client_check(check_ssl, text, conn_id, name, source, f"Nor is it true/false. {fix}")


def coerce_base_url(value: Any, conn_id: str, name: str, source: str = "extra") -> str:
    """
    The API's base URL, normalised to end with ``/``, as the client's ``check_base_url`` accepts it.

    ``https`` is required, except for a server on this machine (``localhost``, ``127.0.0.0/8``,
    ``::1``), such as the emulator: the token travels in every request's header.
    """
    return _client_check(check_base_url, value, conn_id, name, source)


def redact_url_credentials(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages and reprs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def coerce_proxy(value: Any, conn_id: str, name: str, source: str = "extra") -> str:
    """A proxy URL such as ``http://proxy.example.com:3128`` (credentials allowed, never shown)."""
    fix = "Set it to a proxy URL such as 'http://proxy.example.com:3128', or leave it empty."
    if not isinstance(value, str):
        raise _fail(conn_id, name, source, f"{type(value).__name__} value is not a URL.", fix)
    text = value.strip()
    parts = urlsplit(text)
    if parts.scheme.lower() not in _PROXY_SCHEMES or not parts.hostname:
        shown = redact_url_credentials(text) if "://" in text else "the value"
        raise _fail(conn_id, name, source, f"{shown!r} is not a proxy URL with a scheme and host.", fix)
    return text


def coerce_storage_uri(value: Any, conn_id: str, name: str, source: str = "extra") -> str:
    """The shared budget's Redis URI (``redis://``, ``rediss://``, ``unix://``), as the client's
    ``check_storage_uri`` accepts it; messages show it without its password."""
    return _client_check(check_storage_uri, value, conn_id, name, source)


def coerce_rate_limit_key(value: Any, conn_id: str, name: str, source: str = "extra") -> str:
    """The shared budget's name (e.g. the org's id), as the client's ``check_rate_limit_key`` accepts it."""
    return _client_check(check_rate_limit_key, value, conn_id, name, source)
