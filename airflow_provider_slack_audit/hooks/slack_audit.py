"""The Airflow hook for the Slack Audit Logs API and its ``slack_audit`` connection type."""

from __future__ import annotations

import asyncio
import concurrent.futures.thread  # noqa: F401 - asyncio.to_thread's executor: loaded here, not on the event loop
import inspect
from collections.abc import Iterable, Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow.providers.common.compat.sdk import AirflowNotFoundException, BaseHook

from airflow_provider_slack_audit import __version__
from airflow_provider_slack_audit._compat import get_async_connection, mask_secret
from airflow_provider_slack_audit.client import LogsQuery
from airflow_provider_slack_audit.client.budget.store import uri_passwords
from airflow_provider_slack_audit.client.core import ClientCore
from airflow_provider_slack_audit.hooks.connection_extras import (
    CONN_TYPE,
    EXTRA_FIELDS,
    SlackAuditConnectionError,
    SlackAuditConnectionSettings,
    check_extra_json,
    resolve_settings,
    ui_field_behaviour,
)

if TYPE_CHECKING:
    from airflow_provider_slack_audit.client import (
        AsyncSlackAuditLogsClient,
        AuditLogsPage,
        SlackAuditLogsClient,
    )

__all__ = ["SlackAuditConnectionError", "SlackAuditConnectionSettings", "SlackAuditLogsHook"]

#: Client settings that are connection extras too: given to the hook, they win over the extra.
_EXTRA_KWARGS = ("max_retries", "max_retry_wait", "requests_per_minute", "rate_limit_storage_uri", "rate_limit_key")
#: ``test_connection()`` bounds: a test in the UI or CLI must answer in seconds, not minutes.
TEST_MAX_RETRIES = 2
TEST_MAX_TOTAL_WAIT = 10.0
#: Client arguments the hook sets itself.
_RESERVED_KWARGS = ("token", "base_url", "timeout", "proxy", "retry_handlers")


def _client_parameters() -> frozenset[str]:
    return frozenset(inspect.signature(ClientCore).parameters)


class SlackAuditLogsHook(BaseHook):
    """
    Read Slack Enterprise Grid audit logs with the token and settings of a ``slack_audit`` connection.

    The connection's **password** is the Slack user token (``xoxp-...``) of an organization owner,
    with scope ``auditlogs:read``, from an app installed on the organization. Its optional extras:
    ``base_url``, ``timeout``, ``proxy``, ``verify``, ``max_retries``, ``max_retry_wait``,
    ``requests_per_minute``, ``rate_limit_storage_uri`` and ``rate_limit_key`` (see the
    documentation's connection page, docs/connection.rst). Host, schema, login and port are not used.

    Request pacing (``requests_per_minute``) is off by default: the client waits out every 429's
    ``Retry-After``. Slack's limit (about 50 calls a minute) is shared by the whole organization,
    so one process pacing itself cannot enforce it: with ``rate_limit_storage_uri`` (a Redis URI)
    every worker, sensor and trigger using the same budget key draws from one budget of
    ``requests_per_minute``; set it below 50 to leave headroom to the other apps reading the logs.

    :param slack_audit_conn_id: id of the ``slack_audit`` connection holding the token.
    :param base_url: API base URL; overrides the connection's ``base_url`` extra.
    :param timeout: seconds to wait for one answer; overrides the ``timeout`` extra.
    :param proxy: proxy URL; overrides the ``proxy`` extra.
    :param retry_handlers: handlers with the protocol of slack_sdk's ``RetryHandler``, replacing the
        client's default retries.
    :param client_kwargs: further :class:`~airflow_provider_slack_audit.client.SlackAuditLogsClient`
        arguments (``ssl``, ``max_retries``, ``max_retry_wait``, ``max_total_wait``,
        ``requests_per_minute``, ``user_agent_prefix``, ...); they win over the connection's extras.
    """

    conn_name_attr = "slack_audit_conn_id"
    default_conn_name = "slack_audit_default"
    conn_type = CONN_TYPE
    hook_name = "Slack Audit Logs"

    def __init__(
        self,
        slack_audit_conn_id: str = default_conn_name,
        *,
        base_url: str | None = None,
        timeout: float | None = None,
        proxy: str | None = None,
        retry_handlers: list[Any] | None = None,
        **client_kwargs: Any,
    ) -> None:
        super().__init__()
        if not isinstance(slack_audit_conn_id, str) or not slack_audit_conn_id.strip():
            raise ValueError(
                f"slack_audit_conn_id={slack_audit_conn_id!r} is not a connection id. "
                f"Pass the id of a slack_audit connection, e.g. {self.default_conn_name!r}."
            )
        allowed = _client_parameters() - set(_RESERVED_KWARGS)
        unknown = sorted(set(client_kwargs) - allowed)
        if unknown:
            raise TypeError(
                f"SlackAuditLogsHook got unknown argument(s) {', '.join(unknown)}. "
                f"It accepts slack_audit_conn_id, base_url, timeout, proxy, retry_handlers and the "
                f"client's {', '.join(sorted(allowed))}."
            )
        self.slack_audit_conn_id = slack_audit_conn_id
        self.base_url = base_url
        self.timeout = timeout
        self.proxy = proxy
        self.retry_handlers = retry_handlers
        self.client_kwargs = client_kwargs

    def __repr__(self) -> str:
        return f"{type(self).__name__}(slack_audit_conn_id={self.slack_audit_conn_id!r})"

    # ------------------------------------------------------------------ connection

    def _not_found(self, err: Exception) -> AirflowNotFoundException:
        conn_id = self.slack_audit_conn_id
        return AirflowNotFoundException(
            f"The Slack Audit Logs connection {conn_id!r} is not defined ({err}). Create it in the UI "
            f"(type 'Slack Audit Logs', the token in the password field), with `airflow connections add "
            f"{conn_id} --conn-type {CONN_TYPE} --conn-password xoxp-...`, or with the environment variable "
            f'AIRFLOW_CONN_{conn_id.upper()}=\'{{"conn_type": "{CONN_TYPE}", "password": "xoxp-..."}}\'; '
            f"or pass the id of an existing connection as slack_audit_conn_id."
        )

    def _settings_from(self, conn: Any) -> SlackAuditConnectionSettings:
        check_extra_json(self.slack_audit_conn_id, conn.extra)  # an unknown extra fails here, named
        extra = conn.extra_dejson
        overrides = {"base_url": self.base_url, "timeout": self.timeout, "proxy": self.proxy}
        overrides.update({name: self.client_kwargs.get(name) for name in _EXTRA_KWARGS})
        settings = resolve_settings(
            self.slack_audit_conn_id,
            password=conn.password,
            login=conn.login,
            extra=extra,
            overrides=overrides,
        )
        mask_secret(settings.token)
        proxy_password = urlsplit(settings.proxy).password if settings.proxy else None
        if proxy_password:
            mask_secret(proxy_password)
        for store_password in uri_passwords(settings.rate_limit_storage_uri or ""):
            mask_secret(store_password)
        return settings

    def get_connection_settings(self) -> SlackAuditConnectionSettings:
        """
        The token and client settings: the connection's, overridden by this hook's arguments.

        The token (and a proxy password) is registered with Airflow's secrets masker. A trigger can
        use this to build an async client on exactly the settings this hook's client uses.

        :raises AirflowNotFoundException: the connection does not exist.
        :raises SlackAuditConnectionError: the token is missing or malformed, or an extra is invalid.
        """
        try:
            conn = self.get_connection(self.slack_audit_conn_id)
        except AirflowNotFoundException as err:
            raise self._not_found(err) from err
        return self._settings_from(conn)

    async def aget_connection_settings(self) -> SlackAuditConnectionSettings:
        """
        :meth:`get_connection_settings` for async code (a trigger), without blocking the event loop.

        The connection is read with common-compat's ``get_async_connection`` (Airflow's async
        connection API where it exists and is safe, else the lookup in a worker thread); its extras
        are then decoded, checked and their secrets masked in a worker thread too: on Airflow 3,
        ``extra_dejson`` and ``mask_secret`` send blocking messages to the supervisor.

        :raises AirflowNotFoundException: the connection does not exist.
        :raises SlackAuditConnectionError: the token is missing or malformed, or an extra is invalid.
        """
        try:
            conn = await get_async_connection(self.slack_audit_conn_id, self)
        except AirflowNotFoundException as err:
            raise self._not_found(err) from err
        return await asyncio.to_thread(self._settings_from, conn)

    # ------------------------------------------------------------------ legacy form (Airflow < 3.2)

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """
        The extras' form fields for Airflow before 3.2 (3.2+ reads ``conn-fields`` from provider info).

        Generated from the same table as ``conn-fields``; wtforms is imported only when Airflow asks.
        """
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import IntegerField, StringField
        from wtforms.validators import NumberRange, Optional

        widgets: dict[str, Any] = {}
        for spec in EXTRA_FIELDS:
            if spec.form == "integer":
                widgets[spec.name] = IntegerField(
                    lazy_gettext(spec.label),
                    validators=[Optional(), NumberRange(min=0)],
                    widget=BS3TextFieldWidget(),
                    description=spec.description,
                )
            else:
                widgets[spec.name] = StringField(
                    lazy_gettext(spec.label), widget=BS3TextFieldWidget(), description=spec.description
                )
        return widgets

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Hidden, relabelled and placeholder fields for Airflow before 3.2 (``ui-field-behaviour``)."""
        behaviour = ui_field_behaviour()
        return {
            "hidden_fields": behaviour["hidden-fields"],
            "relabeling": behaviour["relabeling"],
            "placeholders": behaviour["placeholders"],
        }

    # ------------------------------------------------------------------ client

    @cached_property
    def client(self) -> SlackAuditLogsClient:
        """The sync client, built once per hook from the connection (and this hook's arguments)."""
        return self._build_client(self.get_connection_settings())

    def _client_arguments(self, settings: SlackAuditConnectionSettings, **overrides: Any) -> dict[str, Any]:
        """The arguments both clients are built with: one configuration for sync and async."""
        passthrough = {k: v for k, v in self.client_kwargs.items() if k not in _EXTRA_KWARGS}
        kwargs: dict[str, Any] = {**settings.client_kwargs(), **passthrough, **overrides}
        kwargs.setdefault("user_agent_prefix", f"airflow-provider-slack-audit/{__version__}")
        if self.retry_handlers is not None:
            kwargs["retry_handlers"] = self.retry_handlers
        return {"token": settings.token, **kwargs}

    def _build_client(self, settings: SlackAuditConnectionSettings, **overrides: Any) -> SlackAuditLogsClient:
        from airflow_provider_slack_audit.client import SlackAuditLogsClient

        return SlackAuditLogsClient(**self._client_arguments(settings, **overrides))

    async def get_async_client(self) -> AsyncSlackAuditLogsClient:
        """
        A new async client on the same settings as :attr:`client` (for a trigger); close it with ``aclose()``.

        The connection is read without blocking the event loop; the client is imported and built in
        a worker thread: loading the TLS trust store reads files for tens of milliseconds, and the
        first import of the async transport (httpx's asyncio backend included) is tens of
        milliseconds more in a fresh triggerer.
        """
        settings = await self.aget_connection_settings()
        return await asyncio.to_thread(self._build_async_client, settings)

    def _build_async_client(self, settings: SlackAuditConnectionSettings) -> AsyncSlackAuditLogsClient:
        from airflow_provider_slack_audit.client import AsyncSlackAuditLogsClient

        return AsyncSlackAuditLogsClient(**self._client_arguments(settings))

    def get_conn(self) -> SlackAuditLogsClient:
        """The client (the same object as :attr:`client`)."""
        return self.client

    def close(self) -> None:
        """Close the sync client's connections, if it was built (a later use builds a new one)."""
        client = self.__dict__.pop("client", None)
        if client is not None:
            client.close()

    # ------------------------------------------------------------------ API

    def iter_events(
        self,
        oldest: int | LogsQuery,
        latest: int | None = None,
        *,
        action: str | Iterable[str] | None = None,
        actor: str | None = None,
        entity: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """
        Every event with ``oldest <= date_create <= latest`` that matches the filters, newest first.

        :param oldest: first second of the range (epoch seconds, inclusive), or a whole
            :class:`~airflow_provider_slack_audit.client.LogsQuery` (then give nothing else).
        :param latest: last second of the range (epoch seconds, inclusive).
        :param action: action name(s) to match, any of them: a list or a comma-separated string (max 30).
        :param actor: id of the user who performed the action.
        :param entity: id of the object acted on (user, channel, file, workspace, ...).
        :param page_size: events per API call (the API's ``limit``, 1..9999); None: 9999.
        :raises SlackAuditLogsError: the API refused the request or failed past the retries
            (``SlackAuditLogsArgumentError`` for a bad argument, before any call).
        """
        if not isinstance(oldest, LogsQuery):
            oldest = LogsQuery(oldest=oldest, latest=latest, action=action, actor=actor, entity=entity, limit=page_size)
        elif any(v is not None for v in (latest, action, actor, entity, page_size)):
            raise TypeError("pass either a LogsQuery or oldest, latest and the filters, not both.")
        return self.client.iter_logs(oldest)

    def iter_pages(self, query: LogsQuery, *, raw_entries: bool = False) -> Iterator[AuditLogsPage]:
        """The pages of a query's range, newest first (``page.entries`` holds the events).

        :param query: the range and filters, checked once when it was made.
        :param raw_entries: give each page's events as their JSON bytes as Slack sent them, with ids
            and date_create (a :class:`~airflow_provider_slack_audit.client.raw_page.RawPage`), not dicts.
        :raises SlackAuditLogsError: the API refused the request or failed past the retries.
        """
        return self.client.iter_pages(query, raw_entries=raw_entries)

    def schemas(self) -> dict[str, Any]:
        """The body of the ``schemas`` method: the entity types the audit log knows."""
        return self.client.schemas().validate().body

    def actions(self) -> dict[str, Any]:
        """The body of the ``actions`` method: action names by category."""
        return self.client.actions().validate().body

    def test_connection(self) -> tuple[bool, str]:
        """
        Prove that the token can read the audit log: one ``logs`` call with ``limit=1``.

        (``schemas`` and ``actions`` need no token, so they would prove nothing.) With a shared budget
        (``rate_limit_storage_uri``), the store is checked first: PING, then loading the budget's
        script. Never raises: returns ``(False, reason)`` with Slack's error code when the API
        refuses the token, or what is wrong with the store.
        """
        token = ""
        where = ""
        try:
            settings = self.get_connection_settings()
            token = settings.token
            where = f"{settings.base_url or ClientCore.BASE_URL}logs"
            # A test answers within seconds: fewer retries and waits than a task's client.
            retries = TEST_MAX_RETRIES
            if settings.max_retries is not None:
                retries = min(retries, settings.max_retries)
            total_wait = min(TEST_MAX_TOTAL_WAIT, self.client_kwargs.get("max_total_wait", TEST_MAX_TOTAL_WAIT))
            with self._build_client(settings, max_retries=retries, max_total_wait=total_wait) as client:
                if client.pacer is not None:
                    client.pacer.check()  # the shared budget's store: reachable, credentials, scripting
                response = client.logs(limit=1)
            if 200 <= response.status_code < 300 and isinstance(response.body, dict):
                store = getattr(client.pacer, "store", None)
                budget = f"; the shared request budget's store {store} works" if store else ""
                return True, f"Connection successfully tested: the token can read audit logs at {where}{budget}"
            response.validate()
            return False, f"{where} answered HTTP {response.status_code} with a body that is not JSON."
        except Exception as err:
            message = f"{type(err).__name__}: {err}"
            if where:
                message = f"Could not read audit logs at {where}: {message}"
            return False, message.replace(token, "***") if token else message
