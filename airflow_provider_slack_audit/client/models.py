"""A light typed view of Audit Logs API bodies that never raises on what Slack sends.

Every object wraps the decoded JSON (``raw``) and exposes:

* typed properties for the fields the project relies on, normalized where Slack is known to vary
  (``context.session_id`` arrives as a string, an integer or null and is always ``str | None`` here;
  ``details.succeeded_users`` / ``failed_users`` arrive as arrays or JSON-encoded strings and are
  lists here whenever they can be decoded);
* any other field by attribute, nested objects wrapped the same way, and ``None`` for a field that
  is absent (as slack_sdk's classes, whose attributes all default to ``None``);
* ``unknown_fields``: the fields this module does not type, kept as they came.

Built as slack_sdk's are (``LogsResponse(**body)``) or from a mapping (``LogsResponse(body)``), they
never fail: not on ``schemas`` or ``actions`` bodies, error bodies, new fields, or values of an
unexpected type. ``unknown_fields`` holds what neither the typed properties nor Slack's documented
fields (``documented_fields``) name.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, ClassVar, Generic, TypeVar, overload

T = TypeVar("T")
R = TypeVar("R", bound="Record")


def _wrap(value: Any) -> Any:
    if isinstance(value, Mapping):
        return Record(value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _as(cls: type[Record], value: Any) -> Any:
    return cls(value) if isinstance(value, Mapping) else value


class Field(Generic[T]):
    """One typed, read-only field of a :class:`Record`: ``record.raw[key]``, or None when absent.

    Declared on the class as ``name = Field[str]("name")``; the type parameter is what the field
    holds when Slack sends what it documents (type checkers and IDEs see ``T | None`` on an
    instance). Values are returned as they came, never checked, so reading never raises;
    ``convert``, when given, normalizes the raw value (it must not raise either).
    """

    def __init__(self, key: str, convert: Callable[[Any], Any] | None = None, *, doc: str | None = None) -> None:
        self.key = key
        self.convert = convert
        self.__doc__ = doc or f"The ``{key}`` field, or None when absent."

    @overload
    def __get__(self, obj: None, owner: type[Any] | None = None) -> Field[T]: ...

    @overload
    def __get__(self, obj: Record, owner: type[Any] | None = None) -> T | None: ...

    def __get__(self, obj: Record | None, owner: type[Any] | None = None) -> Any:
        if obj is None:
            return self
        value = obj.raw.get(self.key)
        return value if self.convert is None else self.convert(value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key!r})"


def record(cls: type[R], key: str) -> Field[R]:
    """A field holding a JSON object, wrapped in ``cls`` (any other value is returned as it came)."""
    return Field(key, partial(_as, cls), doc=f"The ``{key}`` object as a {cls.__name__}, or None when absent.")


class Record:
    """One JSON object from the API: typed properties, attribute access to the rest, ``raw`` intact."""

    #: Field names the subclass exposes as typed :class:`Field` attributes, and those Slack documents
    #: (``documented_fields``): excluded from ``unknown_fields``. Collected from the class bodies.
    known_fields: ClassVar[frozenset[str]] = frozenset()
    #: Fields Slack documents for this object that have no typed property (read them by attribute).
    documented_fields: ClassVar[frozenset[str]] = frozenset()

    __slots__ = ("raw",)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.known_fields = cls.documented_fields | frozenset(
            value.key for klass in cls.__mro__ for value in vars(klass).values() if isinstance(value, Field)
        )

    def __init__(self, raw: Mapping[str, Any] | None = None, /, **fields: Any) -> None:
        """``Record(body)`` or ``Record(**body)`` (as slack_sdk's classes), or both (the keywords win)."""
        object.__setattr__(self, "raw", {**(dict(raw) if raw is not None else {}), **fields})

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

    id = Field[str]("id")
    name = Field[str]("name")
    email = Field[str]("email")
    team = Field[str]("team")


class Actor(Record):
    """Who did it: ``type`` and, for people, ``user``."""

    __slots__ = ()

    type = Field[str]("type")
    user = record(User, "user")


class Entity(Record):
    """What it was done to: ``type`` and one field named after it (``user``, ``channel``, ``file``, ...)."""

    __slots__ = ()

    documented_fields = frozenset(
        {"app", "usergroup", "workspace", "enterprise", "file", "channel", "workflow", "barrier", "message"}
        | {"huddle", "role", "account_type_role", "canvas", "list"}
    )
    type = Field[str]("type")
    user = record(User, "user")

    @property
    def id(self) -> str | None:
        """The id of the target, whatever its type (``entity[entity.type].id``)."""
        target = self.raw.get(self.type) if isinstance(self.type, str) else None
        return target.get("id") if isinstance(target, Mapping) else None


def _text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    return str(value)


class Context(Record):
    """Where it happened: ``location``, ``ua``, ``ip_address``, ``session_id``, ``app``."""

    __slots__ = ()

    documented_fields = frozenset({"location", "ua", "ip_address", "app"})
    session_id = Field[str]("session_id", _text, doc="Slack sends a string, integer or null: a string here, or None.")


def _user_list(value: Any) -> Any:
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        return decoded if isinstance(decoded, list) else value
    return value


#: The ``details`` fields Slack's Audit Logs reference documents (what each holds depends on the action).
# fmt: off
DETAILS_FIELDS = (
    "type", "app_owner_id", "scopes", "bot_scopes", "new_scopes", "previous_scopes", "inviter", "kicker",
    "installer_user_id", "approver_id", "approval_type", "app_previously_approved", "old_scopes", "name",
    "bot_id", "channels", "permissions", "shared_to", "reason", "is_internal_integration", "is_workflow",
    "mobile_only", "web_only", "non_sso_only", "expires_on", "new_version_id", "trigger", "granular_bot_token",
    "origin_team", "target_team", "resolution", "app_previously_resolved", "admin_app_id", "export_type",
    "export_start_ts", "export_end_ts", "barrier_id", "primary_usergroup_id", "barriered_from_usergroup_ids",
    "restricted_subjects", "duration", "desktop_app_browser_quit", "invite_id", "external_organization_id",
    "external_organization_name", "external_user_id", "external_user_email", "channel_id", "added_team_id",
    "is_token_rotation_enabled_app", "old_retention_policy", "new_retention_policy", "cleared_resolution",
    "who_can_post", "can_thread", "is_external_limited", "exporting_team_id", "session_search_start",
    "channel_type", "channel_name", "enable_at_here", "enable_at_channel", "can_huddle", "url_private",
    "location", "description",
)
# fmt: on


class Details(Record):
    """Action-specific details; ``succeeded_users`` / ``failed_users`` decoded to lists when sent as JSON."""

    __slots__ = ()

    documented_fields = frozenset(DETAILS_FIELDS)
    succeeded_users = Field[list[Any] | str]("succeeded_users", _user_list)
    failed_users = Field[list[Any] | str]("failed_users", _user_list)


class Entry(Record):
    """One audit event. ``raw`` is the event exactly as Slack sent it."""

    __slots__ = ()

    id = Field[str]("id")
    date_create = Field[int]("date_create")
    action = Field[str]("action")
    actor = record(Actor, "actor")
    entity = record(Entity, "entity")
    context = record(Context, "context")
    details = record(Details, "details")


class ResponseMetadata(Record):
    """``next_cursor``: the cursor of the next page; empty, null or missing at the end."""

    __slots__ = ()

    next_cursor = Field[str]("next_cursor")


def _entries(value: Any) -> list[Entry] | None:
    if not isinstance(value, list):
        return None
    return [_as(Entry, e) for e in value]


class LogsResponse(Record):
    """The body of any Audit Logs API answer: ``logs`` (``entries``), ``schemas``, ``actions`` or an error.

    Fields a body does not have are None (``entries`` of a ``schemas`` body, ``error`` of a good one).
    """

    __slots__ = ()

    entries = Field[list[Entry]]("entries", _entries)
    response_metadata = record(ResponseMetadata, "response_metadata")
    ok = Field[bool]("ok")
    error = Field[str]("error")
    needed = Field[str]("needed")
    provided = Field[str]("provided")
