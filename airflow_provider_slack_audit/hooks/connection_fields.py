"""The fields of the ``slack_audit`` connection, and the forms generated from them.

:meta private:

Import these names from :mod:`airflow_provider_slack_audit.hooks.connection_extras`.
:data:`EXTRA_FIELDS` is the single source of truth for the connection form: ``get_provider_info()``
(``conn-fields`` and ``ui-field-behaviour``, read by Airflow 3.2+), the hook's legacy form methods
(read by older Airflow) and the validation of a connection's extras are all generated from it, so
they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_slack_audit.client.config import DEFAULT_BASE_URL
from airflow_provider_slack_audit.hooks import extra_values

CONN_TYPE = "slack_audit"
PREFIX = f"extra__{CONN_TYPE}__"
TOKEN_LABEL = "Slack user token (xoxp-...)"  # noqa: S105 (a form label, not a secret)
HIDDEN_FIELDS = ["host", "schema", "login", "port"]


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
        extra_values.coerce_base_url,
        placeholder=DEFAULT_BASE_URL,
        schema_extra={"format": "url"},
    ),
    ExtraField(
        "timeout",
        "Request timeout (seconds)",
        "Seconds to wait for Slack to answer one request. Empty: 30.",
        "number",
        extra_values.coerce_seconds,
        placeholder="30",
        schema_extra={"exclusiveMinimum": 0},
    ),
    ExtraField(
        "proxy",
        "Proxy URL",
        "HTTP(S) proxy, e.g. http://proxy.example.com:3128. "
        "Empty: the HTTPS_PROXY/NO_PROXY environment variables apply.",
        "string",
        extra_values.coerce_proxy,
        placeholder="http://proxy.example.com:3128",
    ),
    ExtraField(
        "verify",
        "Verify TLS",
        "true (default), false (only for a local test server), or the path of a CA bundle on the worker.",
        "string",
        extra_values.coerce_verify,
        placeholder="true",
    ),
    ExtraField(
        "max_retries",
        "Max retries",
        "Retries of one request after a connection error, timeout, 429 or 5xx. 0 turns retries off.",
        "integer",
        extra_values.coerce_count,
        placeholder="8",
        form="integer",
        schema_extra={"minimum": 0},
    ),
    ExtraField(
        "max_retry_wait",
        "Max wait per retry (seconds)",
        "Upper bound of one wait between retries, including a 429's Retry-After.",
        "number",
        extra_values.coerce_seconds,
        placeholder="60",
        schema_extra={"exclusiveMinimum": 0},
    ),
    ExtraField(
        "requests_per_minute",
        "Requests per minute",
        "Pace this hook's requests (Slack allows about 50/min per organisation, shared with every "
        "app reading its audit logs). Empty: no pacing; a 429 is still honoured.",
        "number",
        extra_values.coerce_rate,
        placeholder="off (e.g. 40)",
        schema_extra={"exclusiveMinimum": 0},
    ),
    ExtraField(
        "rate_limit_storage_uri",
        "Shared budget store (Redis URI)",
        "Keep the requests_per_minute budget in Redis, shared by every worker, sensor and trigger that uses "
        "the same budget key, e.g. redis://:password@redis.example.com:6379/0. Empty: each process paces "
        "itself. Needs the redis extra.",
        "string",
        extra_values.coerce_storage_uri,
        placeholder="redis://host:6379/0",
    ),
    ExtraField(
        "rate_limit_key",
        "Shared budget key",
        "The name of the shared budget: give the org's id (e.g. E0123ABCD) to make connections with "
        "different tokens of one org share it. Empty: derived from the base URL and the token.",
        "string",
        extra_values.coerce_rate_limit_key,
        placeholder="derived from base URL and token",
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
