"""
The ``slack_audit`` connection: its fields, and how a connection's values become client settings.

This is where these names are imported from; the work is done in three internal modules:

* :mod:`.connection_fields`: the table of fields (:data:`EXTRA_FIELDS`), the single source of truth
  for the connection form. ``get_provider_info()`` (``conn-fields`` and ``ui-field-behaviour``,
  read by Airflow 3.2+) and the hook's legacy form methods (read by older Airflow) are both
  generated from it, so the two forms cannot drift apart.
* :mod:`.extra_values`: how one extra's value is checked and coerced, and the error that names the
  connection, the field and the fix.
* :mod:`.connection_settings`: how a connection's token and extras (JSON values, strings from URI
  connections and the UI, blanks, or the prefixed names older UIs wrote) become the client's
  settings, in :func:`resolve_settings`.

None of them imports anything from Airflow: Airflow calls ``get_provider_info()`` while it
discovers providers, and that must stay cheap.
"""

from __future__ import annotations

from airflow_provider_slack_audit.hooks.connection_fields import (
    CONN_TYPE,
    EXTRA_FIELDS,
    FIELDS_BY_NAME,
    HIDDEN_FIELDS,
    PREFIX,
    TOKEN_LABEL,
    ExtraField,
    conn_fields,
    ui_field_behaviour,
)
from airflow_provider_slack_audit.hooks.connection_settings import (
    SlackAuditConnectionSettings,
    check_extra_json,
    read_extra,
    resolve_settings,
    unknown_extras,
)
from airflow_provider_slack_audit.hooks.extra_values import (
    SlackAuditConnectionError,
    coerce_base_url,
    coerce_count,
    coerce_proxy,
    coerce_rate,
    coerce_rate_limit_key,
    coerce_seconds,
    coerce_storage_uri,
    coerce_verify,
    redact_url_credentials,
)

__all__ = [
    "CONN_TYPE",
    "EXTRA_FIELDS",
    "FIELDS_BY_NAME",
    "HIDDEN_FIELDS",
    "PREFIX",
    "TOKEN_LABEL",
    "ExtraField",
    "SlackAuditConnectionError",
    "SlackAuditConnectionSettings",
    "check_extra_json",
    "coerce_base_url",
    "coerce_count",
    "coerce_proxy",
    "coerce_rate",
    "coerce_rate_limit_key",
    "coerce_seconds",
    "coerce_storage_uri",
    "coerce_verify",
    "conn_fields",
    "read_extra",
    "redact_url_credentials",
    "resolve_settings",
    "ui_field_behaviour",
    "unknown_extras",
]
