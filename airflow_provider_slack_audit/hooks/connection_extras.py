"""
The ``slack_audit`` connection: its fields, and how a connection's values become client settings.

This module is the single source of truth for the connection form. ``get_provider_info()``
(``conn-fields`` and ``ui-field-behaviour``, read by Airflow 3.2+) and the hook's legacy form
methods (read by older Airflow) are both generated from :data:`EXTRA_FIELDS`, so the two forms
cannot drift apart.

It imports nothing from Airflow: Airflow calls ``get_provider_info()`` while it discovers
providers, and that must stay cheap. Checks the client makes on its own settings (base URL, token
characters, CA bundle) are the client's (``client.config``, Airflow-free); this module runs them
while it reads a connection and puts the connection's name and the field in front of their message.

Extras can arrive as JSON values (``AIRFLOW_CONN_X='{"extra": {"timeout": 30}}'``), as strings
(URI connections, ``?timeout=30``, and the UI), empty (a blank form field), or under the prefixed
name ``extra__slack_audit__<name>`` that older Airflow UIs wrote. :func:`resolve_settings` reads
them all, coerces strings, and validates every value with an error that names the connection,
the field and the fix.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from airflow_provider_slack_audit.client.config import DEFAULT_BASE_URL, check_base_url, check_ssl, check_token
from airflow_provider_slack_audit.client.validation import isinstance_strict

CONN_TYPE = "slack_audit"
PREFIX = f"extra__{CONN_TYPE}__"
TOKEN_LABEL = "Slack user token (xoxp-...)"  # noqa: S105 (a form label, not a secret)
HIDDEN_FIELDS = ["host", "schema", "login", "port"]

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


@dataclass(frozen=True)
class ExtraField:
    """One extra of the ``slack_audit`` connection, as the forms show it and the hook reads it."""

    name: str
    label: str
    description: str
    json_type: str
    coerce: Callable[[Any, str, str, str], Any]
    placeholder: str = ""
    form: str = "string"  # legacy wtforms field: "string" or "integer"
    schema_extra: Mapping[str, Any] = field(default_factory=dict)

    def json_schema(self) -> dict[str, Any]:
        """The JSON schema Airflow 3.2+ renders the form field from (``conn-fields``)."""
        return {"type": [self.json_type, "null"], **self.schema_extra}


EXTRA_FIELDS: tuple[ExtraField, ...] = (
    ExtraField(
        "base_url",
        "API base URL",
        f"Audit Logs API base URL. Empty: {DEFAULT_BASE_URL}. "
        "http is accepted only for a server on localhost (e.g. the emulator).",
        "string",
        coerce_base_url,
        placeholder=DEFAULT_BASE_URL,
        schema_extra={"format": "url"},
    ),
    ExtraField(
        "timeout",
        "Request timeout (seconds)",
        "Seconds to wait for Slack to answer one request. Empty: 30.",
        "number",
        coerce_seconds,
        placeholder="30",
        schema_extra={"exclusiveMinimum": 0},
    ),
    ExtraField(
        "proxy",
        "Proxy URL",
        "HTTP(S) proxy, e.g. http://proxy.example.com:3128. "
        "Empty: the HTTPS_PROXY/NO_PROXY environment variables apply.",
        "string",
        coerce_proxy,
        placeholder="http://proxy.example.com:3128",
    ),
    ExtraField(
        "verify",
        "Verify TLS",
        "true (default), false (only for a local test server), or the path of a CA bundle on the worker.",
        "string",
        coerce_verify,
        placeholder="true",
    ),
    ExtraField(
        "max_retries",
        "Max retries",
        "Retries of one request after a connection error, timeout, 429 or 5xx. 0 turns retries off.",
        "integer",
        coerce_count,
        placeholder="8",
        form="integer",
        schema_extra={"minimum": 0},
    ),
    ExtraField(
        "max_retry_wait",
        "Max wait per retry (seconds)",
        "Upper bound of one wait between retries, including a 429's Retry-After.",
        "number",
        coerce_seconds,
        placeholder="60",
        schema_extra={"exclusiveMinimum": 0},
    ),
    ExtraField(
        "requests_per_minute",
        "Requests per minute",
        "Pace this hook's requests (Slack allows about 50/min per organisation, shared with every "
        "app reading its audit logs). Empty: no pacing; a 429 is still honoured.",
        "number",
        coerce_rate,
        placeholder="off (e.g. 40)",
        schema_extra={"exclusiveMinimum": 0},
    ),
)
FIELDS_BY_NAME: Mapping[str, ExtraField] = {f.name: f for f in EXTRA_FIELDS}


def conn_fields() -> dict[str, dict[str, Any]]:
    """``conn-fields`` of the connection type, for ``get_provider_info()``."""
    return {f.name: {"label": f.label, "description": f.description, "schema": f.json_schema()} for f in EXTRA_FIELDS}


def ui_field_behaviour() -> dict[str, Any]:
    """``ui-field-behaviour`` (kebab-case keys) for ``get_provider_info()``."""
    return {
        "hidden-fields": list(HIDDEN_FIELDS),
        "relabeling": {"password": TOKEN_LABEL},
        "placeholders": {"password": "xoxp-...", **{f.name: f.placeholder for f in EXTRA_FIELDS}},
    }


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_extra(extra: Mapping[str, Any], name: str) -> Any:
    """
    The raw value of extra ``name``: the plain key wins over ``extra__slack_audit__<name>``.

    Blank values (``None``, ``""``: what an empty form field saves) count as unset.
    """
    for key in (name, PREFIX + name):
        value = extra.get(key)
        if not _is_blank(value):
            return value
    return None


_JSON_TYPE_NAMES = {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}


def check_extra_json(conn_id: str, raw: Any) -> None:
    """
    Fail when a connection's extra text is not a JSON object.

    Airflow logs a traceback and reads undecodable extras as ``{}``: the hook would quietly use the
    defaults (the real Slack API, 8 retries) instead of the settings that were written. The message
    never repeats the text, which may hold a proxy password.

    :param conn_id: the connection id, named in the message.
    :param raw: the connection's ``extra`` as stored (a string, or None).
    :raises SlackAuditConnectionError: the text is not JSON, or JSON of another type than an object.
    """
    if not isinstance(raw, str) or not raw.strip():
        return
    try:
        value = json.loads(raw)
    except ValueError as err:
        where = f" ({err.msg} at character {err.pos})" if isinstance(err, json.JSONDecodeError) else ""
        problem = f"the extras are not valid JSON{where}"
    else:
        if value is None or isinstance(value, dict):
            return
        problem = f"the extras are a JSON {_JSON_TYPE_NAMES.get(type(value), type(value).__name__)}, not an object"
    raise SlackAuditConnectionError(
        f"Slack Audit Logs connection {conn_id!r}: {problem}. Write them as a JSON object, e.g. "
        '{"timeout": 30, "max_retries": 5}, or leave them empty.'
    )


def unknown_extras(extra: Mapping[str, Any]) -> list[str]:
    """Keys of ``extra`` this connection type does not read (typos, settings of other types)."""
    unknown = []
    for key in extra:
        name = key[len(PREFIX) :] if key.startswith(PREFIX) else key
        if name not in FIELDS_BY_NAME:
            unknown.append(key)
    return sorted(unknown)


@dataclass(frozen=True)
class SlackAuditConnectionSettings:
    """
    Everything the client needs, resolved from a connection and the hook's arguments.

    ``None`` means "not set": the client's own default applies. The token and any proxy
    password are never part of ``repr()``.
    """

    conn_id: str
    token: str = field(repr=False)
    base_url: str | None = None
    timeout: float | None = None
    proxy: str | None = field(default=None, repr=False)
    verify: bool | str | None = None
    max_retries: int | None = None
    max_retry_wait: float | None = None
    requests_per_minute: float | None = None

    def __repr__(self) -> str:
        shown = {
            "conn_id": self.conn_id,
            "base_url": self.base_url,
            "timeout": self.timeout,
            "proxy": redact_url_credentials(self.proxy) if self.proxy else None,
            "verify": self.verify,
            "max_retries": self.max_retries,
            "max_retry_wait": self.max_retry_wait,
            "requests_per_minute": self.requests_per_minute,
        }
        inner = ", ".join(f"{k}={v!r}" for k, v in shown.items())
        return f"SlackAuditConnectionSettings({inner}, token=***)"

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``SlackAuditLogsClient`` (``verify`` becomes ``ssl``), unset ones omitted."""
        kwargs: dict[str, Any] = {
            "base_url": self.base_url,
            "timeout": self.timeout,
            "proxy": self.proxy,
            "ssl": self.verify,
            "max_retries": self.max_retries,
            "max_retry_wait": self.max_retry_wait,
            "requests_per_minute": self.requests_per_minute,
        }
        return {key: value for key, value in kwargs.items() if value is not None}


def _check_token(conn_id: str, password: str | None, login: str | None) -> str:
    fix = (
        f"Put the Slack user token (xoxp-...) of an Enterprise org owner, with scope auditlogs:read, in "
        f'the Password field of connection {conn_id!r} (JSON: "password": "xoxp-..."; '
        f"URI: slack-audit://:xoxp-...@)."
    )
    token = (password or "").strip()
    if not token:
        if login and login.strip().startswith("xox"):
            raise SlackAuditConnectionError(
                f"Slack Audit Logs connection {conn_id!r}: the token is in the Login field, "
                f"not the Password field. {fix}"
            )
        raise SlackAuditConnectionError(f"Slack Audit Logs connection {conn_id!r} has no token. {fix}")
    try:
        return check_token(token) or token
    except (TypeError, ValueError) as err:
        where = f"Slack Audit Logs connection {conn_id!r}, Password field"
        raise SlackAuditConnectionError(f"{where}: {err} {fix}") from None


def resolve_settings(
    conn_id: str,
    *,
    password: str | None,
    login: str | None,
    extra: Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
) -> SlackAuditConnectionSettings:
    """
    Validate a connection's token and extras, merged with hook arguments.

    :param conn_id: the connection id, named in every error message.
    :param password: the connection's password: the Slack user token.
    :param login: the connection's login; only inspected to explain a token put there by mistake.
    :param extra: the connection's extras (``extra_dejson``).
    :param overrides: hook arguments by extra name; a value that is not ``None`` wins over the extra
        and goes through the same validation.
    :raises SlackAuditConnectionError: naming the connection, the field and the fix.
    """
    token = _check_token(conn_id, password, login)
    values: dict[str, Any] = {}
    for spec in EXTRA_FIELDS:
        override = (overrides or {}).get(spec.name)
        if override is not None:
            values[spec.name] = spec.coerce(override, conn_id, spec.name, "argument")
            continue
        raw = read_extra(extra, spec.name)
        values[spec.name] = None if raw is None else spec.coerce(raw, conn_id, spec.name, "extra")
    return SlackAuditConnectionSettings(conn_id=conn_id, token=token, **values)
