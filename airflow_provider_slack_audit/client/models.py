"""A light typed view of Audit Logs API bodies that never raises on what Slack sends.

Every object wraps the decoded JSON (``raw``) and exposes:

* typed properties for the fields the project relies on, normalized where Slack is known to vary
  (``context.session_id`` arrives as a string, an integer or null and is always ``str | None`` here;
  ``details.succeeded_users`` / ``failed_users`` arrive as arrays or JSON-encoded strings and are
  lists here whenever they can be decoded);
* any other field by attribute, nested objects wrapped the same way, and ``None`` for a field that
  is absent (as slack_sdk's classes, whose attributes all default to ``None``);
* ``unknown_fields``: the fields this module does not type, kept as they came.

Unlike slack_sdk's ``LogsResponse(**body)``, building these never fails: not on ``schemas`` or
``actions`` bodies, error bodies, new fields, or values of an unexpected type.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar


def _wrap(value: Any) -> Any:
    if isinstance(value, Mapping):
        return Record(value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _as(cls: type[Record], value: Any) -> Any:
    return cls(value) if isinstance(value, Mapping) else value


class Record:
    """One JSON object from the API: typed properties, attribute access to the rest, ``raw`` intact."""

    #: Field names the subclass exposes as typed properties (excluded from ``unknown_fields``).
    known_fields: ClassVar[frozenset[str]] = frozenset()

    __slots__ = ("raw",)

    def __init__(self, raw: Mapping[str, Any] | None = None) -> None:
        object.__setattr__(self, "raw", dict(raw) if raw is not None else {})

    def __getattr__(self, name: str) -> Any:
        # Only called for names that are not properties: any field of the body, wrapped; else None.
        if name.startswith("_"):
            raise AttributeError(name)
        return _wrap(self.raw.get(name))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only; change .to_dict() instead")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.raw,))

    def get(self, name: str, default: Any = None) -> Any:
        """The raw value of field ``name`` (as decoded from JSON), or ``default``."""
        return self.raw.get(name, default)

    @property
    def unknown_fields(self) -> dict[str, Any]:
        """The fields without a typed property here, as they came."""
        return {k: v for k, v in self.raw.items() if k not in self.known_fields}

    def to_dict(self) -> dict[str, Any]:
        """The object as decoded from JSON (a copy at the top level)."""
        return dict(self.raw)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.raw == self.raw  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.raw!r})"


class User(Record):
    """A user: ``id``, ``name``, ``email``, ``team``."""

    __slots__ = ()

    known_fields = frozenset({"id", "name", "email", "team"})

    @property
    def id(self) -> str | None:
        return self.raw.get("id")

    @property
    def name(self) -> str | None:
        return self.raw.get("name")

    @property
    def email(self) -> str | None:
        return self.raw.get("email")

    @property
    def team(self) -> str | None:
        return self.raw.get("team")


class Actor(Record):
    """Who did it: ``type`` and, for people, ``user``."""

    __slots__ = ()

    known_fields = frozenset({"type", "user"})

    @property
    def type(self) -> str | None:
        return self.raw.get("type")

    @property
    def user(self) -> User | None:
        return _as(User, self.raw.get("user"))


class Entity(Record):
    """What it was done to: ``type`` and one field named after it (``user``, ``channel``, ``file``, ...)."""

    __slots__ = ()

    known_fields = frozenset({"type", "user"})

    @property
    def type(self) -> str | None:
        return self.raw.get("type")

    @property
    def user(self) -> User | None:
        return _as(User, self.raw.get("user"))

    @property
    def id(self) -> str | None:
        """The id of the target, whatever its type (``entity[entity.type].id``)."""
        target = self.raw.get(self.type) if isinstance(self.type, str) else None
        return target.get("id") if isinstance(target, Mapping) else None


class Context(Record):
    """Where it happened: ``location``, ``ua``, ``ip_address``, ``session_id``, ``app``."""

    __slots__ = ()

    known_fields = frozenset({"session_id"})

    @property
    def session_id(self) -> str | None:
        """Slack sends a string, an integer or null: a string here, or None."""
        value = self.raw.get("session_id")
        if value is None or isinstance(value, str):
            return value
        return str(value)


def _user_list(value: Any) -> Any:
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        return decoded if isinstance(decoded, list) else value
    return value


class Details(Record):
    """Action-specific details; ``succeeded_users`` / ``failed_users`` decoded to lists when sent as JSON."""

    __slots__ = ()

    known_fields = frozenset({"succeeded_users", "failed_users"})

    @property
    def succeeded_users(self) -> list[Any] | str | None:
        return _user_list(self.raw.get("succeeded_users"))

    @property
    def failed_users(self) -> list[Any] | str | None:
        return _user_list(self.raw.get("failed_users"))


class Entry(Record):
    """One audit event. ``raw`` is the event exactly as Slack sent it."""

    __slots__ = ()

    known_fields = frozenset({"id", "date_create", "action", "actor", "entity", "context", "details"})

    @property
    def id(self) -> str | None:
        return self.raw.get("id")

    @property
    def date_create(self) -> int | None:
        return self.raw.get("date_create")

    @property
    def action(self) -> str | None:
        return self.raw.get("action")

    @property
    def actor(self) -> Actor | None:
        return _as(Actor, self.raw.get("actor"))

    @property
    def entity(self) -> Entity | None:
        return _as(Entity, self.raw.get("entity"))

    @property
    def context(self) -> Context | None:
        return _as(Context, self.raw.get("context"))

    @property
    def details(self) -> Details | None:
        return _as(Details, self.raw.get("details"))


class ResponseMetadata(Record):
    """``next_cursor``: the cursor of the next page; empty, null or missing at the end."""

    __slots__ = ()

    known_fields = frozenset({"next_cursor"})

    @property
    def next_cursor(self) -> str | None:
        return self.raw.get("next_cursor")


class LogsResponse(Record):
    """The body of any Audit Logs API answer: ``logs`` (``entries``), ``schemas``, ``actions`` or an error.

    Fields a body does not have are None (``entries`` of a ``schemas`` body, ``error`` of a good one).
    """

    __slots__ = ()

    known_fields = frozenset({"entries", "response_metadata", "ok", "error", "needed", "provided"})

    @property
    def entries(self) -> list[Entry] | None:
        value = self.raw.get("entries")
        if not isinstance(value, list):
            return None
        return [_as(Entry, e) for e in value]

    @property
    def response_metadata(self) -> ResponseMetadata | None:
        return _as(ResponseMetadata, self.raw.get("response_metadata"))

    @property
    def ok(self) -> bool | None:
        return self.raw.get("ok")

    @property
    def error(self) -> str | None:
        return self.raw.get("error")

    @property
    def needed(self) -> str | None:
        return self.raw.get("needed")

    @property
    def provided(self) -> str | None:
        return self.raw.get("provided")
