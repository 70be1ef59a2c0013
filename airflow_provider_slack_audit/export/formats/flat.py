"""The flat schema of a Parquet export: one documented, versioned table, the same for every window.

:data:`COLUMNS` is the contract (name, type, where the value comes from); ``docs/howto/parquet.rst`` shows the
same table (``tests/docs`` checks they agree). Every column is there in every file, null where an event has no
such value, whatever Slack sent: ``context_session_id`` is always a string (a number is written as its
digits), ``details`` is the JSON text of Slack's ``details`` (``succeeded_users`` / ``failed_users`` inside it
as Slack sent them, an array or a JSON string), and ``raw`` is the whole event as Slack sent it, the very line
a JSON Lines export holds, so a field Slack adds tomorrow is there too.

A change that renames, retypes or removes a column is a new :data:`FLAT_SCHEMA_VERSION` (recorded in the file's
metadata and in the manifest); adding a column is not.

:meta private:
"""

from __future__ import annotations

from functools import cache
from operator import attrgetter
from typing import Any, NamedTuple

from airflow_provider_slack_audit.export.formats.events import (
    EMPTY_BODY,
    EMPTY_CONTEXT,
    EMPTY_LOCATION,
    bodies,
    decode_events,
    present,
)

#: The version of the flat schema (in each file's key-value metadata ``slack_audit.schema_version``).
FLAT_SCHEMA_VERSION = "1"


class Column(NamedTuple):
    """A column of the flat schema: its name, its Parquet/Arrow type and the field of Slack's event it holds."""

    name: str
    type: str
    source: str


#: The flat schema, in column order.
COLUMNS: tuple[Column, ...] = (
    Column("id", "string, not null", "``id``"),
    Column("date_create", "timestamp[s, tz=UTC]", "``date_create`` (null if not whole seconds)"),
    Column("action", "string", "``action``"),
    Column("actor_type", "string", "``actor.type``"),
    Column("actor_id", "string", "``actor.<type>.id``"),
    Column("actor_name", "string", "``actor.<type>.name``"),
    Column("actor_email", "string", "``actor.<type>.email``"),
    Column("entity_type", "string", "``entity.type``"),
    Column("entity_id", "string", "``entity.<type>.id``"),
    Column("entity_name", "string", "``entity.<type>.name``"),
    Column("context_location_type", "string", "``context.location.type``"),
    Column("context_location_id", "string", "``context.location.id``"),
    Column("context_location_name", "string", "``context.location.name``"),
    Column("context_location_domain", "string", "``context.location.domain``"),
    Column("context_ip_address", "string", "``context.ip_address``"),
    Column("context_ua", "string", "``context.ua``"),
    Column("context_session_id", "string", "``context.session_id`` (a number as its digits)"),
    Column("context_app_id", "string", "``context.app.id``"),
    Column("context_app_name", "string", "``context.app.name``"),
    Column("details", "string (JSON)", "``details``, its JSON text as sent"),
    Column("raw", "string (JSON)", "the whole event as sent (the JSON Lines line)"),
)


@cache
def flat_schema() -> Any:
    """The Arrow schema of :data:`COLUMNS`, with the schema's name and version in its metadata."""
    from airflow_provider_slack_audit.export.formats.arrow import pa

    types = {"timestamp[s, tz=UTC]": pa.timestamp("s", tz="UTC")}
    fields = [
        pa.field(c.name, types.get(c.type, pa.string()), nullable=not c.type.endswith("not null")) for c in COLUMNS
    ]
    return pa.schema(fields, metadata={"slack_audit.schema": "flat", "slack_audit.schema_version": FLAT_SCHEMA_VERSION})


def flat_table(lines: list[Any], ids: list[Any], seconds: list[Any]) -> Any:
    """One page of events as a table of the flat schema: its events' JSON texts (``raw`` holds each line's bytes
    exactly), ids and date_create values.

    Column by column over the whole page (``map`` and ``attrgetter``, no loop per event in Python), each column
    an Arrow array as soon as its values are gathered: the export's cost per event stays a few microseconds.
    """
    from airflow_provider_slack_audit.export.formats.arrow import (
        json_text_array,
        pa,
        seconds_array,
        string_array,
        text_array,
    )

    events = decode_events(lines)
    actor_kinds, actors = bodies(events, lines, "actor")
    entity_kinds, entities = bodies(events, lines, "entity")
    contexts = present(list(map(attrgetter("context"), events)), EMPTY_CONTEXT)
    locations = present(list(map(attrgetter("location"), contexts)), EMPTY_LOCATION)
    apps = present(list(map(attrgetter("app"), contexts)), EMPTY_BODY)

    def field(records: list[Any], name: str) -> Any:
        return string_array(list(map(attrgetter(name), records)))

    columns = [
        string_array(ids),
        seconds_array(seconds),
        field(events, "action"),
        string_array(actor_kinds),
        field(actors, "id"),
        field(actors, "name"),
        field(actors, "email"),
        string_array(entity_kinds),
        field(entities, "id"),
        field(entities, "name"),
        field(locations, "type"),
        field(locations, "id"),
        field(locations, "name"),
        field(locations, "domain"),
        field(contexts, "ip_address"),
        field(contexts, "ua"),
        field(contexts, "session_id"),
        field(apps, "id"),
        field(apps, "name"),
        json_text_array(list(map(attrgetter("details"), events))),
        text_array(lines),
    ]
    return pa.Table.from_arrays(columns, schema=flat_schema())
