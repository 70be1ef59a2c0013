"""What the emulated API knows: the ``actions`` catalogue, the ``schemas`` list and the action mix.

Action names come from Slack's public "Audit Logs API methods & actions" reference, grouped the
way the real ``/actions`` endpoint groups them (categories grow over time; readers must accept
new ones). Each generated action also carries the entity type its events target and a relative
weight, so that the generated stream looks like a real organisation: mostly logins, file and
channel activity, occasionally an export, a legal hold or an anomaly.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

#: The action table (``actions.csv`` beside this module): category, action, the entity type its events target,
#: weight (1 = rare, 1000s = everyday), in the order ``GET actions`` lists them.
_TABLE = "actions.csv"


def _read_catalog() -> dict[str, list[tuple[str, str, int]]]:
    """category -> [(action, entity type, weight)], in the table's order."""
    catalog: dict[str, list[tuple[str, str, int]]] = {}
    with resources.files(__package__).joinpath(_TABLE).open(encoding="utf-8", newline="") as table:
        for row in csv.DictReader(table):
            catalog.setdefault(row["category"], []).append((row["action"], row["entity_type"], int(row["weight"])))
    return catalog


_CATALOG = _read_catalog()

#: Actions whose ``actor`` is an app, not a user (workflow and platform automation).
APP_ACTOR_ACTIONS = frozenset(
    {"app_deployed", "external_auth_oauth2_token_refreshed", "workflow_v2_published", "app_variable_added"}
)
#: Actions Slack itself performs: the actor is ``USLACKSECURITY``.
SLACK_SECURITY_ACTIONS = frozenset({"user_password_reset_slack_security", "user_logout_compromised"})
#: Actions where the actor acts on themselves (entity user == actor user).
SELF_ACTIONS = frozenset(
    {
        "user_login",
        "user_logout",
        "user_login_failed",
        "custom_tos_accepted",
        "user_joined_workspace",
        "guest_joined_workspace",
        "user_password_reset_requested",
        "user_profile_updated",
        "anomaly",
    }
)
#: Actions that come in bulk: a burst second is mostly one of these, on one entity.
BURST_ACTIONS = (
    "user_channel_join",
    "user_added_to_usergroup",
    "user_session_invalidated",
    "file_downloaded",
    "user_login",
    "guest_channel_join",
)

#: Entity types of the documented ``entity`` objects, in ``schemas`` order.
ENTITY_TYPES = (
    "workspace",
    "enterprise",
    "user",
    "file",
    "channel",
    "app",
    "workflow",
    "barrier",
    "message",
    "huddle",
    "role",
    "usergroup",
    "workflow_v2",
    "account_type_role",
    "list",
    "canvas",
)


@dataclass(frozen=True)
class ActionSpec:
    """One action the generator emits: its name, category, target entity type and weight."""

    name: str
    category: str
    entity_type: str
    weight: int


ACTION_SPECS: tuple[ActionSpec, ...] = tuple(
    ActionSpec(name, category, entity_type, weight)
    for category, rows in _CATALOG.items()
    for name, entity_type, weight in rows
)
ACTION_BY_NAME: dict[str, ActionSpec] = {spec.name: spec for spec in ACTION_SPECS}
#: Every name the ``action`` filter accepts (anything else is ``invalid_action``).
KNOWN_ACTIONS: frozenset[str] = frozenset(ACTION_BY_NAME)


def actions_body() -> dict:
    """The body of ``GET actions``: action names by category."""
    return {"actions": {category: [name for name, _, _ in rows] for category, rows in _CATALOG.items()}}


def schemas_body() -> dict:
    """The body of ``GET schemas``: one object description per entity type."""
    fields: dict[str, dict[str, str]] = {
        "workspace": {"id": "string", "name": "string", "domain": "string"},
        "enterprise": {"id": "string", "name": "string", "domain": "string"},
        "user": {"id": "string", "name": "string", "email": "string", "team": "string"},
        "file": {"id": "string", "name": "string", "filetype": "string", "title": "string"},
        "channel": {
            "id": "string",
            "name": "string",
            "privacy": "string",
            "is_shared": "bool",
            "is_org_shared": "bool",
            "teams_shared_with": "Optional: varray<string>",
        },
        "app": {
            "id": "string",
            "name": "string",
            "is_distributed": "bool",
            "is_directory_approved": "bool",
            "is_workflow_app": "bool",
            "scopes": "array",
        },
        "workflow": {"id": "string", "name": "string"},
        "barrier": {"id": "string", "primary_usergroup": "string", "barriered_from_usergroups": "array"},
        "message": {"team": "string", "channel": "string", "timestamp": "string"},
        "huddle": {"id": "string", "date_start": "int", "date_end": "int", "participants": "array"},
        "role": {"id": "string", "name": "string", "type": "string"},
        "usergroup": {"id": "string", "name": "string"},
        "workflow_v2": {"id": "string", "app_id": "string", "name": "string", "date_updated": "int"},
        "account_type_role": {"id": "string", "name": "string"},
        "list": {"id": "string", "name": "string"},
        "canvas": {"id": "string", "name": "string", "title": "string"},
    }
    return {"schemas": [{"type": t, t: fields[t]} for t in ENTITY_TYPES]}
