"""A page of audit events decoded once into typed records, for the table schemas (flat and OCSF).

Slack's events are JSON objects whose shapes vary: ``actor`` and ``entity`` are ``{"type": K, K: {...}}``
for a kind K, ``context.session_id`` comes as a string, a number or null, ``details`` holds whatever the
action has. msgspec decodes a whole page in one call into the records below (every leaf typed ``Any``, so no
event is refused for a type Slack changes; ``details`` kept as its exact JSON text); a kind this module does
not list is read from the event's own JSON (:func:`kind_body`), so nothing depends on the list being complete.

:meta private:
"""

from __future__ import annotations

import json
import math
import re
from operator import attrgetter
from typing import Any

import msgspec

#: The kinds of ``actor`` and ``entity`` decoded at C speed; any other kind is read from the event's JSON.
KNOWN_KINDS = (
    "user",
    "app",
    "bot",
    "file",
    "channel",
    "workspace",
    "enterprise",
    "usergroup",
    "workflow",
    "workflow_v2",
    "huddle",
    "message",
    "canvas",
    "role",
    "barrier",
    "list",
    "account_type_role",
    "information_barrier",
)


class Body(msgspec.Struct, gc=False):
    """The fields of an actor's or entity's body that the tables use (``{"id", "name", "email", ...}``).

    Only these are decoded: the others are skipped without building a Python object (each one costs the
    export time to build and to free); they stay in ``raw``.
    """

    id: Any = None
    name: Any = None
    email: Any = None


#: ``{"type": K, K: Body}`` for every known kind K.
Holder = msgspec.defstruct(
    "Holder", [("type", Any, None)] + [(kind, "Body | None", None) for kind in KNOWN_KINDS], gc=False, module=__name__
)


class Location(msgspec.Struct, gc=False):
    type: Any = None
    id: Any = None
    name: Any = None
    domain: Any = None


class Context(msgspec.Struct, gc=False):
    location: Location | None = None
    ua: Any = None
    ip_address: Any = None
    session_id: Any = None
    app: Body | None = None


class Event(msgspec.Struct, gc=False):
    """One audit event as the tables read it; ``details`` is its JSON text as Slack sent it (empty if absent).

    ``id`` and ``date_create`` are not here: the page reader has decoded them already (``RawPage``).
    """

    action: Any = None
    actor: Holder | None = None  # type: ignore[valid-type]
    entity: Holder | None = None  # type: ignore[valid-type]
    context: Context | None = None
    details: msgspec.Raw = msgspec.Raw(b"")


_decode_event = msgspec.json.Decoder(Event).decode


def decode_events(lines: list[Any]) -> list[Event]:
    """The events whose JSON texts are ``lines`` (each an object, as a page's lines are), one decoding call each.

    One call per line, not one over the lines joined into an array: as fast (bench/table_rows.py), and no copy
    of the lines is made (the joined array was three copies of each chunk's bytes, ~0.35 MB each).

    An event whose shape the records do not fit (an ``actor`` that is not an object, say) is decoded alone with
    the misfit parts left empty: its ``raw`` column still holds all of it. So is one msgspec refuses but the page
    reader carries (``NaN``, a lone surrogate escape): see :func:`_decode_refused`.
    """
    if not lines:
        return []
    try:
        return list(map(_decode_event, lines))
    except msgspec.DecodeError:  # a misfit (ValidationError is a DecodeError) or JSON msgspec refuses
        return [_decode_one(line) for line in lines]


def _decode_one(line: Any) -> Event:
    try:
        return _lenient(line, Event) or Event()
    except msgspec.DecodeError:
        return _decode_refused(line)


def _decode_refused(line: Any) -> Event:
    """An event msgspec refuses and the standard library reads (the page reader carries it as sent): ``NaN``,
    ``Infinity``, a number beyond a double, a lone surrogate escape such as ``"\\ud83d"``.

    ``details`` is its text exactly as sent, a non-finite number its literal as sent; a leaf is :func:`_clean`
    (typed columns are UTF-8 text).
    """
    text = bytes(line).decode()
    value = _JSON.decode(text)
    if not isinstance(value, dict):
        return Event()
    event = _from_python({key: part for key, part in value.items() if key != "details"}, Event) or Event()
    if "details" in value:
        event.details = msgspec.Raw(_member_text(text, "details").encode())
    return event


def _from_python(value: Any, kind: Any) -> Any:
    """The record of type ``kind`` from ``value`` (as :data:`_JSON` read it), misfit parts left at their defaults."""
    if not isinstance(value, dict):
        return None
    values = {}
    for field in msgspec.structs.fields(kind):
        if field.encode_name in value:
            part, record = value[field.encode_name], _record_type(field.type)
            values[field.name] = _from_python(part, record) if record is not None else _clean(part)
    return kind(**values)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _clean(value: Any) -> Any:
    """A leaf as a typed column can hold it: each lone surrogate of a string as U+FFFD (text in Parquet is
    UTF-8, which has no such character); inside objects and lists too."""
    if type(value) is str:
        return _LONE_SURROGATE.sub("\ufffd", value)
    if type(value) is list:
        return [_clean(item) for item in value]
    if type(value) is dict:
        return {_clean(key): _clean(item) for key, item in value.items()}
    return value


def _number(literal: str) -> Any:
    """A JSON number as :func:`text` writes it: finite as a float, else its literal as sent (``1e400``)."""
    value = float(literal)
    return value if math.isfinite(value) else literal


#: Reads what msgspec refuses; a non-finite number (``NaN``, ``1e400``) is kept as its literal, as sent.
_JSON = json.JSONDecoder(parse_float=_number, parse_constant=str)
_SPACE = re.compile(r"[ \t\n\r]*")


def _member_text(text: str, name: str) -> str:
    """The JSON text, exactly as written, of the top-level member ``name`` of the object ``text`` (the last one
    if it is there twice, as ``json.loads`` reads it)."""
    found, pos = "", _SPACE.match(text, 1).end()  # type: ignore[union-attr]
    while text[pos] != "}":
        key, pos = _JSON.raw_decode(text, pos)
        pos = _SPACE.match(text, _SPACE.match(text, pos).end() + 1).end()  # type: ignore[union-attr]  (the colon)
        _, end = _JSON.raw_decode(text, pos)
        if key == name:
            found = text[pos:end]
        pos = _SPACE.match(text, end).end()  # type: ignore[union-attr]
        if text[pos] == ",":
            pos = _SPACE.match(text, pos + 1).end()  # type: ignore[union-attr]
    return found


def _lenient(text: Any, kind: Any) -> Any:
    """The record of type ``kind`` (a Struct) in the JSON ``text``, its misfit parts left at their defaults, or
    None if ``text`` is not an object: each field is decoded on its own from its exact bytes, so a misfit part
    (an ``actor`` that is a string, a body that is a list) costs only its own columns, and a ``Raw`` field
    (``details``) keeps its text exactly as sent."""
    try:
        return msgspec.json.decode(text, type=kind)
    except msgspec.ValidationError:
        pass
    try:
        parts = msgspec.json.decode(text, type=dict[str, msgspec.Raw])
    except msgspec.ValidationError:
        return None
    values = {}
    for field in msgspec.structs.fields(kind):
        if field.encode_name not in parts:
            continue
        part, record = parts[field.encode_name], _record_type(field.type)
        if record is not None:
            values[field.name] = _lenient(part, record)
        elif field.type is msgspec.Raw:
            values[field.name] = part
        else:
            values[field.name] = msgspec.json.decode(part)
    return kind(**values)


def _record_type(annotation: Any) -> Any:
    """The Struct type of a field typed ``S`` or ``S | None``; None for any other type."""
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, msgspec.Struct):
            return candidate
    return None


def kind_body(holder: Any, line: Any, field: str) -> tuple[Any, Any]:
    """``(kind, body)`` of an event's ``actor`` or ``entity`` (``field``): body has ``id``, ``name``... or is None.

    A kind this module does not know is read from the event's JSON ``line`` (rare: a kind Slack adds).
    """
    if holder is None:
        return None, None
    kind = holder.type
    if type(kind) is not str:
        return kind, None
    if kind in _KNOWN:
        return kind, getattr(holder, kind)
    try:
        body = _JSON.decode(bytes(line).decode()).get(field, {}).get(kind)
    except (ValueError, AttributeError):
        return kind, None
    return kind, _as_body(body)


_KNOWN = frozenset(KNOWN_KINDS)
EMPTY_BODY = Body()
EMPTY_HOLDER = Holder()
EMPTY_LOCATION = Location()
EMPTY_CONTEXT = Context()


def present(records: list[Any], empty: Any) -> list[Any]:
    """``records`` with each None replaced by ``empty`` (a record of nulls), so that every field can be read."""
    if all(records):  # a record is always true (a Struct has no length): no None, the usual case, checked at C speed
        return records
    return [empty if record is None else record for record in records]


def bodies(events: list[Event], lines: list[Any], field: str) -> tuple[list[Any], list[Body]]:
    """``(kinds, bodies)`` of the events' ``actor`` or ``entity`` (``field``), a body of nulls where there is none.

    Known kinds are read at C speed; a page with a kind this module does not list goes through
    :func:`kind_body`, event by event.
    """
    holders = present(list(map(attrgetter(field), events)), EMPTY_HOLDER)
    kinds = list(map(attrgetter("type"), holders))
    seen: set[Any] | None
    try:
        seen = set(kinds)
    except TypeError:  # a kind that is an object or a list (never on Slack's events): no body is read for it
        seen = None
    if seen is not None and seen <= _KNOWN:
        found = list(map(getattr, holders, kinds))
    elif seen is not None and seen - {None} <= _KNOWN:
        # some have no kind: their holder's ``type`` (None) is their body
        found = list(map(getattr, holders, ["type" if kind is None else kind for kind in kinds]))
    else:
        found = [kind_body(holder, line, field)[1] for holder, line in zip(holders, lines, strict=True)]
    return kinds, present(found, EMPTY_BODY)


def _as_body(value: Any) -> Body | None:
    if not isinstance(value, dict):
        return None
    return Body(**{name: _clean(value.get(name)) for name in Body.__struct_fields__})


def text(value: Any) -> str | None:
    """A leaf as the tables store it: strings as they are, null as null, anything else as its JSON text
    (``1297278038187`` -> ``"1297278038187"``, ``true`` -> ``"true"``)."""
    if value is None or type(value) is str:
        return value
    return msgspec.json.encode(value).decode()
