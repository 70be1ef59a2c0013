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
    text,
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


def _texts(values: list[Any]) -> list[Any]:
    """:func:`text` of each value (strings and nulls as they are, checked at C speed first)."""
    if set(map(type, values)) <= _STR_OR_NONE:
        return values
    return [text(v) for v in values]


_STR_OR_NONE = {str, type(None)}


def _column(records: list[Any], name: str) -> list[Any]:
    """The field ``name`` of each record, as the table stores it (every record has it: no event is skipped)."""
    return _texts(list(map(attrgetter(name), records)))


def flat_leaves(lines: list[Any], ids: list[Any], seconds: list[Any]) -> dict[str, Any]:
    """The flat schema's columns (lists, ``details`` an array) of one page: its events' JSON texts, ids and
    date_create values. Column by column over the whole page (``map`` and ``attrgetter``, no loop per event in
    Python): the export's cost per event stays a few microseconds."""
    events = decode_events(lines)
    actors = bodies(events, lines, "actor")
    entities = bodies(events, lines, "entity")
    contexts = present(list(map(attrgetter("context"), events)), EMPTY_CONTEXT)
    locations = present(list(map(attrgetter("location"), contexts)), EMPTY_LOCATION)
    apps = present(list(map(attrgetter("app"), contexts)), EMPTY_BODY)
    if set(map(type, seconds)) != {int}:
        seconds = [s if type(s) is int else None for s in seconds]
    return {
        "id": ids,
        "date_create": seconds,
        "action": _column(events, "action"),
        "actor_type": _texts(actors[0]),
        "actor_id": _column(actors[1], "id"),
        "actor_name": _column(actors[1], "name"),
        "actor_email": _column(actors[1], "email"),
        "entity_type": _texts(entities[0]),
        "entity_id": _column(entities[1], "id"),
        "entity_name": _column(entities[1], "name"),
        "context_location_type": _column(locations, "type"),
        "context_location_id": _column(locations, "id"),
        "context_location_name": _column(locations, "name"),
        "context_location_domain": _column(locations, "domain"),
        "context_ip_address": _column(contexts, "ip_address"),
        "context_ua": _column(contexts, "ua"),
        "context_session_id": _column(contexts, "session_id"),
        "context_app_id": _column(apps, "id"),
        "context_app_name": _column(apps, "name"),
        "details": list(map(attrgetter("details"), events)),
    }


def flat_table(lines: list[Any], ids: list[Any], seconds: list[Any]) -> Any:
    """One page of events as a table of the flat schema (``raw`` holds each line's bytes exactly)."""
    from airflow_provider_slack_audit.export.formats.arrow import json_text_array, table_of, text_array

    leaves = flat_leaves(lines, ids, seconds)
    leaves["details"] = json_text_array(leaves["details"])
    leaves["raw"] = text_array(lines)
    return table_of(flat_schema(), leaves, len(lines))
