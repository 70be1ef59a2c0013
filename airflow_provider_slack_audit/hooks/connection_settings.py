"""How a ``slack_audit`` connection's token and extras become client settings.

:meta private:

Import these names from :mod:`airflow_provider_slack_audit.hooks.connection_extras`. Extras can
arrive as JSON values (``AIRFLOW_CONN_X='{"extra": {"timeout": 30}}'``), as strings (URI
connections, ``?timeout=30``, and the UI), empty (a blank form field), or under the prefixed name
``extra__slack_audit__<name>`` that older Airflow UIs wrote. :func:`resolve_settings` reads them
all, coerces strings, and validates every value with an error that names the connection, the
field and the fix. A key it does not read is an error too (:func:`check_known_extras`), naming the
nearest known one: a misspelt setting must not be silently ignored.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_slack_audit.client.budget.store import check_shared_budget, redact_storage_uri
from airflow_provider_slack_audit.client.config import check_token
from airflow_provider_slack_audit.hooks.connection_fields import EXTRA_FIELDS, FIELDS_BY_NAME, PREFIX
from airflow_provider_slack_audit.hooks.extra_values import SlackAuditConnectionError, redact_url_credentials


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
    :raises SlackAuditConnectionError: the text is not JSON, JSON of another type than an object, or
        an object with a key this connection type does not read (:func:`check_known_extras`).
    """
    if not isinstance(raw, str) or not raw.strip():
        return
    try:
        value = json.loads(raw)
    except ValueError as err:
        where = f" ({err.msg} at character {err.pos})" if isinstance(err, json.JSONDecodeError) else ""
        problem = f"the extras are not valid JSON{where}"
    else:
        if value is None:
            return
        if isinstance(value, dict):
            check_known_extras(conn_id, value)
            return
        problem = f"the extras are a JSON {_JSON_TYPE_NAMES.get(type(value), type(value).__name__)}, not an object"
    raise SlackAuditConnectionError(
        f"Slack Audit Logs connection {conn_id!r}: {problem}. Write them as a JSON object, e.g. "
        '{"timeout": 30, "max_retries": 5}, or leave them empty.'
    )


def unknown_extras(extra: Mapping[str, Any]) -> list[str]:
    """Keys of ``extra`` this connection type does not read (typos, settings of other types).

    Known: each field of :data:`EXTRA_FIELDS`, plain or as ``extra__slack_audit__<name>`` (what
    Airflow's forms before 2.3 stored, and what Airflow 2's "Test" button sends beside the plain
    name), whatever its value (a blank one, what an empty form field saves, included).
    """
    unknown = []
    for key in extra:
        name = key[len(PREFIX) :] if isinstance(key, str) and key.startswith(PREFIX) else key
        if name not in FIELDS_BY_NAME:
            unknown.append(key)
    return sorted(unknown, key=str)


def nearest_extra(key: str) -> str | None:
    """The known extra closest to the unknown ``key`` (``difflib``), or None when none is close."""
    name = key[len(PREFIX) :] if key.startswith(PREFIX) else key
    close = difflib.get_close_matches(name.strip().lower(), list(FIELDS_BY_NAME), n=1, cutoff=0.6)
    return close[0] if close else None


def check_known_extras(conn_id: str, extra: Mapping[str, Any]) -> None:
    """
    Fail when the extras hold a key this connection type does not read.

    A misspelt setting (``request_per_minute``) would otherwise change nothing and say nothing: the
    user would believe a limit holds that does not. The message names each unknown key, the
    nearest known one, and every key a ``slack_audit`` connection reads.

    :param conn_id: the connection id, named in the message.
    :param extra: the connection's extras (decoded).
    :raises SlackAuditConnectionError: naming the unknown extras.
    """
    unknown = unknown_extras(extra)
    if not unknown:
        return
    named = []
    for key in unknown:
        nearest = nearest_extra(key) if isinstance(key, str) else None
        named.append(f"{key!r}" + (f" (did you mean {nearest!r}?)" if nearest else ""))
    several = len(unknown) > 1
    raise SlackAuditConnectionError(
        f"Slack Audit Logs connection {conn_id!r}: unknown extra{'s' if several else ''} {', '.join(named)}. "
        f"A slack_audit connection reads only {', '.join(FIELDS_BY_NAME)}; rename or remove "
        f"{'them' if several else 'it'}, so that no setting is silently ignored."
    )


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
    rate_limit_storage_uri: str | None = field(default=None, repr=False)
    rate_limit_key: str | None = None

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
            "rate_limit_storage_uri": (
                redact_storage_uri(self.rate_limit_storage_uri) if self.rate_limit_storage_uri else None
            ),
            "rate_limit_key": self.rate_limit_key,
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
            "rate_limit_storage_uri": self.rate_limit_storage_uri,
            "rate_limit_key": self.rate_limit_key,
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
    :raises SlackAuditConnectionError: naming the connection, the field and the fix; an unknown
        extra is one (:func:`check_known_extras`).
    """
    check_known_extras(conn_id, extra)
    token = _check_token(conn_id, password, login)
    values: dict[str, Any] = {}
    for spec in EXTRA_FIELDS:
        override = (overrides or {}).get(spec.name)
        if override is not None:
            values[spec.name] = spec.coerce(override, conn_id, spec.name, "argument")
            continue
        raw = read_extra(extra, spec.name)
        values[spec.name] = None if raw is None else spec.coerce(raw, conn_id, spec.name, "extra")
    try:
        check_shared_budget(values["requests_per_minute"], values["rate_limit_storage_uri"], values["rate_limit_key"])
    except ValueError as err:
        raise SlackAuditConnectionError(f"Slack Audit Logs connection {conn_id!r}: {err}") from None
    return SlackAuditConnectionSettings(conn_id=conn_id, token=token, **values)
