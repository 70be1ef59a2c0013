"""``schema="ocsf"``: Slack's audit events as OCSF events (Open Cybersecurity Schema Framework 1.3).

:data:`ACTION_CLASSES` is the mapping: one row per Slack action that OCSF has a class for (class, activity and,
where the action says so, status and severity). Every other action is an API Activity (6003) of activity Other
(99), its ``activity_name`` and ``api.operation`` the Slack action. ``docs/howto/parquet.rst`` shows the same
table (``tests/docs`` checks it against this one).

Every event has ``class_uid``, ``category_uid``, ``activity_id``, ``type_uid`` (``class_uid * 100 +
activity_id``), ``time`` (epoch milliseconds), ``severity_id``, ``status_id``, ``metadata`` (``uid`` = Slack's
event id, ``product`` = Slack Audit Logs by Slack, ``version`` = the OCSF version), ``actor`` (the user or app,
the session), ``src_endpoint.ip``, ``http_request.user_agent`` (where OCSF keeps a user agent), ``raw_data``
(the event exactly as Slack sent it) and ``unmapped`` (JSON text: the entity, the location and ``details``).
Each class adds its object from Slack's entity: ``user`` (Authentication, Account Change, User Access
Management), ``group`` (Group Management), ``file`` (File Hosting Activity), ``app`` (Application Lifecycle),
``finding_info`` (Detection Finding), ``api`` (API Activity).

:meta private:
"""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple

import msgspec

from airflow_provider_slack_audit import __version__
from airflow_provider_slack_audit.export.formats.events import decode_events, kind_body, text

#: The OCSF version the events follow (``metadata.version``).
OCSF_VERSION = "1.3.0"
#: The version of this provider's OCSF table (its columns); in the file's metadata and the manifest.
OCSF_SCHEMA_VERSION = f"{OCSF_VERSION}+1"

#: class_uid -> (class name, category_uid, category name).
CLASSES: dict[int, tuple[str, int, str]] = {
    2004: ("Detection Finding", 2, "Findings"),
    3001: ("Account Change", 3, "Identity & Access Management"),
    3002: ("Authentication", 3, "Identity & Access Management"),
    3005: ("User Access Management", 3, "Identity & Access Management"),
    3006: ("Group Management", 3, "Identity & Access Management"),
    6002: ("Application Lifecycle", 6, "Application Activity"),
    6003: ("API Activity", 6, "Application Activity"),
    6006: ("File Hosting Activity", 6, "Application Activity"),
}
#: (class_uid, activity_id) -> activity name, for the activities the mapping uses.
ACTIVITIES: dict[tuple[int, int], str] = {
    (2004, 1): "Create",
    (3001, 1): "Create",
    (3001, 2): "Enable",
    (3001, 4): "Password Reset",
    (3001, 5): "Disable",
    (3002, 1): "Logon",
    (3002, 2): "Logoff",
    (3005, 1): "Assign Privileges",
    (3005, 2): "Revoke Privileges",
    (3006, 3): "Add User",
    (3006, 4): "Remove User",
    (3006, 5): "Delete",
    (3006, 6): "Create",
    (6002, 1): "Install",
    (6002, 2): "Remove",
    (6002, 6): "Enable",
    (6002, 7): "Disable",
    (6002, 8): "Update",
    (6003, 99): "Other",
    (6006, 1): "Upload",
    (6006, 2): "Download",
    (6006, 4): "Delete",
    (6006, 12): "Share",
    (6006, 13): "Unshare",
}
SEVERITIES = {1: "Informational", 3: "Medium", 4: "High"}
STATUSES = {1: "Success", 2: "Failure"}


class OcsfClass(NamedTuple):
    """Where a Slack action lands in OCSF."""

    class_uid: int
    activity_id: int
    status_id: int | None = 1
    severity_id: int = 1


#: The fallback of every action not in :data:`ACTION_CLASSES`: API Activity, Other.
FALLBACK = OcsfClass(6003, 99)

#: Slack action -> OCSF class and activity (and status and severity where the action says so).
ACTION_CLASSES: dict[str, OcsfClass] = {
    # Authentication (3002)
    "user_login": OcsfClass(3002, 1),
    "cli_login": OcsfClass(3002, 1),
    "user_login_failed": OcsfClass(3002, 1, status_id=2),
    "user_logout": OcsfClass(3002, 2),
    "user_logout_compromised": OcsfClass(3002, 2),
    "user_logout_non_compliant_mobile_app_version": OcsfClass(3002, 2),
    "user_session_invalidated": OcsfClass(3002, 2),
    "user_session_reset_by_admin": OcsfClass(3002, 2),
    "user_sessions_reset_by_anomaly_event_response": OcsfClass(3002, 2),
    # Account Change (3001)
    "user_created": OcsfClass(3001, 1),
    "guest_created": OcsfClass(3001, 1),
    "user_reactivated": OcsfClass(3001, 2),
    "guest_reactivated": OcsfClass(3001, 2),
    "user_password_reset_requested": OcsfClass(3001, 4),
    "user_password_reset_slack_security": OcsfClass(3001, 4),
    "user_deactivated": OcsfClass(3001, 5),
    "guest_deactivated": OcsfClass(3001, 5),
    "guest_expired": OcsfClass(3001, 5),
    # User Access Management (3005)
    "role_change_to_admin": OcsfClass(3005, 1),
    "role_change_to_owner": OcsfClass(3005, 1),
    "role_assigned": OcsfClass(3005, 1),
    "role_change_to_user": OcsfClass(3005, 2),
    "role_change_to_guest": OcsfClass(3005, 2),
    "role_removed": OcsfClass(3005, 2),
    # Group Management (3006): channels and user groups
    "user_channel_join": OcsfClass(3006, 3),
    "guest_channel_join": OcsfClass(3006, 3),
    "user_added_to_usergroup": OcsfClass(3006, 3),
    "user_channel_leave": OcsfClass(3006, 4),
    "guest_channel_leave": OcsfClass(3006, 4),
    "user_removed_from_usergroup": OcsfClass(3006, 4),
    "public_channel_deleted": OcsfClass(3006, 5),
    "private_channel_deleted": OcsfClass(3006, 5),
    "public_channel_created": OcsfClass(3006, 6),
    "private_channel_created": OcsfClass(3006, 6),
    # File Hosting Activity (6006)
    "file_uploaded": OcsfClass(6006, 1),
    "file_downloaded": OcsfClass(6006, 2),
    "file_download_blocked": OcsfClass(6006, 2, status_id=2),
    "file_deleted": OcsfClass(6006, 4),
    "file_shared": OcsfClass(6006, 12),
    "file_public_link_created": OcsfClass(6006, 12),
    "file_public_link_revoked": OcsfClass(6006, 13),
    # Application Lifecycle (6002)
    "app_installed": OcsfClass(6002, 1),
    "org_app_workspace_added": OcsfClass(6002, 1),
    "app_uninstalled": OcsfClass(6002, 2),
    "org_app_workspace_removed": OcsfClass(6002, 2),
    "app_approved": OcsfClass(6002, 6),
    "app_restricted": OcsfClass(6002, 7),
    "app_scopes_expanded": OcsfClass(6002, 8),
    # Detection Finding (2004): Slack's anomaly detections
    "anomaly": OcsfClass(2004, 1, status_id=None, severity_id=3),
    "file_malicious_content_detected": OcsfClass(2004, 1, status_id=None, severity_id=4),
}


def ocsf_class(action: Any) -> OcsfClass:
    """Where ``action`` lands: its row of :data:`ACTION_CLASSES`, else :data:`FALLBACK`."""
    return ACTION_CLASSES.get(action, FALLBACK) if isinstance(action, str) else FALLBACK


def activity_name(mapped: OcsfClass, action: Any) -> str:
    """The activity's OCSF name; for the fallback's Other, the Slack action (as OCSF asks for 99)."""
    if mapped.activity_id == 99 and isinstance(action, str):
        return action
    return ACTIVITIES[(mapped.class_uid, mapped.activity_id)]


@cache
def ocsf_schema() -> Any:
    """The Arrow schema of the OCSF table (one table for every class; a class's own objects null elsewhere)."""
    from airflow_provider_slack_audit.export.formats.arrow import pa

    s, i32, i64 = pa.string(), pa.int32(), pa.int64()
    user = pa.struct([("uid", s), ("name", s), ("email_addr", s), ("type", s)])
    fields = [
        pa.field("metadata", pa.struct([
            ("uid", s), ("version", s), ("log_name", s),
            ("product", pa.struct([("name", s), ("vendor_name", s), ("version", s)])),
        ]), nullable=False),
        pa.field("time", i64),
        pa.field("class_uid", i32, nullable=False),
        pa.field("class_name", s),
        pa.field("category_uid", i32, nullable=False),
        pa.field("category_name", s),
        pa.field("activity_id", i32, nullable=False),
        pa.field("activity_name", s),
        pa.field("type_uid", i64, nullable=False),
        pa.field("type_name", s),
        pa.field("severity_id", i32, nullable=False),
        pa.field("severity", s),
        pa.field("status_id", i32),
        pa.field("status", s),
        pa.field("actor", pa.struct([
            ("user", user), ("app_uid", s), ("app_name", s), ("session", pa.struct([("uid", s)])),
        ])),
        pa.field("src_endpoint", pa.struct([("ip", s)])),
        pa.field("http_request", pa.struct([("user_agent", s)])),
        pa.field("user", user),
        pa.field("group", pa.struct([("uid", s), ("name", s), ("type", s)])),
        pa.field("file", pa.struct([("uid", s), ("name", s), ("type_id", i32), ("type", s)])),
        pa.field("app", pa.struct([("uid", s), ("name", s)])),
        pa.field("finding_info", pa.struct([("uid", s), ("title", s)])),
        pa.field("api", pa.struct([("operation", s)])),
        pa.field("raw_data", s),
        pa.field("unmapped", s),
    ]  # fmt: skip
    return pa.schema(fields, metadata={"slack_audit.schema": "ocsf", "slack_audit.schema_version": OCSF_SCHEMA_VERSION})


_encode = msgspec.json.Encoder().encode
#: The classes whose ``user`` is Slack's entity when that is a user.
_USER_CLASSES = frozenset({3001, 3002, 3005})


def ocsf_leaves(lines: list[Any], ids: list[Any], seconds: list[Any]) -> dict[str, list[Any]]:
    """The OCSF table's leaves (dotted paths -> lists) of one page: its events' JSON texts, ids and seconds."""
    events = decode_events(lines)
    paths = [
        "time", "class_uid", "class_name", "category_uid", "category_name", "activity_id", "activity_name",
        "type_uid", "type_name", "severity_id", "severity", "status_id", "status",
        "actor.user.uid", "actor.user.name", "actor.user.email_addr", "actor.user.type",
        "actor.app_uid", "actor.app_name", "actor.session.uid", "src_endpoint.ip", "http_request.user_agent",
        "user.uid", "user.name", "user.email_addr", "user.type", "group.uid", "group.name", "group.type",
        "file.uid", "file.name", "file.type_id", "file.type", "app.uid", "app.name",
        "finding_info.uid", "finding_info.title", "api.operation", "unmapped",
    ]  # fmt: skip
    leaves: dict[str, list[Any]] = {path: [] for path in paths}
    put = {path: values.append for path, values in leaves.items()}
    for event, line, event_id, second in zip(events, lines, ids, seconds, strict=True):
        action = event.action
        mapped = ocsf_class(action)
        class_name, category_uid, category_name = CLASSES[mapped.class_uid]
        activity = activity_name(mapped, action)
        put["time"](second * 1000 if type(second) is int else None)
        put["class_uid"](mapped.class_uid)
        put["class_name"](class_name)
        put["category_uid"](category_uid)
        put["category_name"](category_name)
        put["activity_id"](mapped.activity_id)
        put["activity_name"](activity)
        put["type_uid"](mapped.class_uid * 100 + mapped.activity_id)
        put["type_name"](f"{class_name}: {activity}")
        put["severity_id"](mapped.severity_id)
        put["severity"](SEVERITIES[mapped.severity_id])
        put["status_id"](mapped.status_id)
        put["status"](STATUSES.get(mapped.status_id))  # type: ignore[arg-type]
        actor_kind, actor = kind_body(event.actor, line, "actor")
        user_actor = actor if actor_kind == "user" else None
        put["actor.user.uid"](text(user_actor.id) if user_actor else None)
        put["actor.user.name"](text(user_actor.name) if user_actor else None)
        put["actor.user.email_addr"](text(user_actor.email) or None if user_actor else None)
        put["actor.user.type"]("User" if user_actor else None)
        app_actor = actor if actor_kind in ("app", "bot") else None
        put["actor.app_uid"](text(app_actor.id) if app_actor else None)
        put["actor.app_name"](text(app_actor.name) if app_actor else None)
        context = event.context
        put["actor.session.uid"](text(context.session_id) if context else None)
        put["src_endpoint.ip"](text(context.ip_address) if context else None)
        put["http_request.user_agent"](text(context.ua) or None if context else None)
        kind, entity = kind_body(event.entity, line, "entity")
        cls = mapped.class_uid
        target_user = entity if kind == "user" and cls in _USER_CLASSES else None
        put["user.uid"](text(target_user.id) if target_user else None)
        put["user.name"](text(target_user.name) if target_user else None)
        put["user.email_addr"](text(target_user.email) or None if target_user else None)
        put["user.type"]("User" if target_user else None)
        group = entity if cls == 3006 and entity is not None else None
        put["group.uid"](text(group.id) if group else None)
        put["group.name"](text(group.name) if group else None)
        put["group.type"](kind if group else None)
        file = entity if cls == 6006 and kind == "file" else None
        put["file.uid"](text(file.id) if file else None)
        put["file.name"](text(file.name) if file else None)
        put["file.type_id"](1 if file else None)
        put["file.type"]("Regular File" if file else None)
        app = entity if cls == 6002 and kind == "app" else None
        put["app.uid"](text(app.id) if app else None)
        put["app.name"](text(app.name) if app else None)
        finding = cls == 2004
        put["finding_info.uid"](event_id if finding else None)
        put["finding_info.title"](text(action) if finding else None)
        put["api.operation"](text(action) if cls == 6003 else None)
        location = context.location if context else None
        unmapped = {
            "entity": {"type": kind, "id": text(entity.id), "name": text(entity.name)} if entity else None,
            "context_location": msgspec.structs.asdict(location) if location else None,
            "context_app": {"id": text(context.app.id), "name": text(context.app.name)}
            if context and context.app
            else None,
            "details": event.details if event.details else None,
        }
        put["unmapped"](_encode({k: v for k, v in unmapped.items() if v is not None}).decode())
    leaves["metadata.uid"] = ids
    size = len(lines)
    for path, value in (
        ("metadata.version", OCSF_VERSION),
        ("metadata.log_name", "Slack Audit Logs"),
        ("metadata.product.name", "Slack Audit Logs"),
        ("metadata.product.vendor_name", "Slack"),
        ("metadata.product.version", f"airflow-provider-slack-audit {__version__}"),
    ):
        leaves[path] = [value] * size
    return leaves


def ocsf_table(lines: list[Any], ids: list[Any], seconds: list[Any]) -> Any:
    """One page of events as a table of the OCSF schema (``raw_data`` holds each line's bytes exactly)."""
    from airflow_provider_slack_audit.export.formats.arrow import table_of, text_array

    leaves = ocsf_leaves(lines, ids, seconds)
    leaves["raw_data"] = text_array(lines)
    return table_of(ocsf_schema(), leaves, len(lines))
