"""What the emulated API knows: the ``actions`` catalogue, the ``schemas`` list and the action mix.

Action names come from Slack's public "Audit Logs API methods & actions" reference, grouped the
way the real ``/actions`` endpoint groups them (categories grow over time; readers must accept
new ones). Each generated action also carries the entity type its events target and a relative
weight, so that the generated stream looks like a real organisation: mostly logins, file and
channel activity, occasionally an export, a legal hold or an anomaly.
"""

from __future__ import annotations

from dataclasses import dataclass

# category -> [(action, entity type, weight)], weight 1 = rare, 1000s = everyday.
_CATALOG: dict[str, list[tuple[str, str, int]]] = {
    "workspace_or_org": [
        ("workspace_created", "workspace", 1),
        ("workspace_deleted", "workspace", 1),
        ("organization_created", "enterprise", 1),
        ("organization_renamed", "enterprise", 1),
        ("organization_domain_changed", "enterprise", 1),
        ("organization_accepted_migration", "enterprise", 1),
        ("organization_declined_migration", "enterprise", 1),
        ("organization_verified", "enterprise", 1),
        ("organization_public_url_updated", "enterprise", 1),
        ("emoji_added", "workspace", 40),
        ("emoji_removed", "workspace", 8),
        ("emoji_aliased", "workspace", 6),
        ("emoji_renamed", "workspace", 4),
        ("billing_address_added", "workspace", 1),
        ("migration_scheduled", "workspace", 1),
        ("migration_completed", "workspace", 1),
        ("corporate_exports_approved", "workspace", 1),
        ("corporate_exports_enabled", "workspace", 1),
        ("manual_export_started", "workspace", 2),
        ("manual_export_completed", "workspace", 2),
        ("manual_export_downloaded", "workspace", 2),
        ("manual_export_deleted", "workspace", 1),
        ("scheduled_export_started", "workspace", 2),
        ("scheduled_export_completed", "workspace", 2),
        ("scheduled_export_downloaded", "workspace", 2),
        ("channels_export_started", "workspace", 1),
        ("channels_export_completed", "workspace", 1),
        ("manual_user_export_started", "workspace", 1),
        ("manual_user_export_completed", "workspace", 1),
        ("ekm_enrolled", "workspace", 1),
        ("ekm_key_added", "workspace", 1),
        ("ekm_clear_cache_set", "workspace", 1),
        ("approved_orgs_added", "enterprise", 1),
        ("approved_orgs_removed", "enterprise", 1),
        ("domain_verified", "enterprise", 1),
        ("idp_configuration_added", "enterprise", 1),
        ("idp_prod_configuration_updated", "enterprise", 1),
        ("cli_login", "workspace", 6),
        ("audit_logs_records_searched", "enterprise", 3),
        ("audit_logs_export_json_started", "enterprise", 1),
        ("thread_replies_enabled", "workspace", 1),
        ("team_authorized_ip_range_set", "workspace", 1),
        ("intune_enabled", "enterprise", 1),
        ("auth_policy_created", "enterprise", 1),
        ("auth_policy_entity_assigned", "enterprise", 1),
        ("bulk_session_reset_by_admin", "workspace", 6),
        ("pref.allow_calls", "workspace", 2),
        ("pref.allow_message_deletion", "workspace", 2),
        ("pref.app_dir_only", "workspace", 1),
        ("pref.app_whitelist_enabled", "workspace", 1),
        ("pref.block_file_download_for_unapproved_ip", "enterprise", 1),
        ("pref.can_receive_shared_channels_invites", "workspace", 1),
        ("pref.custom_tos", "workspace", 1),
        ("pref.disallow_public_file_urls", "workspace", 1),
        ("pref.dm_retention_changed", "workspace", 1),
        ("pref.dnd_enabled", "workspace", 1),
        ("pref.emoji_only_admins", "workspace", 1),
        ("pref.enterprise_default_channels", "enterprise", 1),
        ("pref.file_retention_changed", "workspace", 1),
        ("pref.msg_edit_window_mins", "workspace", 1),
        ("pref.private_channel_retention_changed", "workspace", 1),
        ("pref.public_channel_retention_changed", "workspace", 1),
        ("pref.retention_override_changed", "workspace", 1),
        ("pref.session_duration_changed", "enterprise", 1),
        ("pref.sign_in_with_slack_disabled", "workspace", 1),
        ("pref.sso_setting_changed", "enterprise", 1),
        ("pref.two_factor_auth_changed", "enterprise", 1),
        ("pref.username_policy", "workspace", 1),
        ("pref.who_can_archive_channels", "workspace", 1),
        ("pref.who_can_create_private_channels", "workspace", 1),
        ("pref.who_can_create_public_channels", "workspace", 1),
        ("pref.who_can_manage_guests", "workspace", 1),
        ("pref.who_can_manage_shared_channels", "workspace", 1),
        ("pref.allow_slack_ai_changed", "enterprise", 1),
        ("slack_connect_pref_set", "enterprise", 1),
    ],
    "user": [
        ("user_login", "user", 2400),
        ("user_logout", "user", 700),
        ("user_login_failed", "user", 160),
        ("user_created", "user", 12),
        ("user_deactivated", "user", 8),
        ("user_reactivated", "user", 2),
        ("user_email_updated", "user", 4),
        ("user_profile_updated", "user", 40),
        ("user_joined_workspace", "user", 10),
        ("guest_created", "user", 6),
        ("guest_deactivated", "user", 3),
        ("guest_reactivated", "user", 1),
        ("guest_expiration_set", "user", 2),
        ("guest_expired", "user", 2),
        ("guest_joined_workspace", "user", 3),
        ("owner_transferred", "user", 1),
        ("role_change_to_admin", "user", 2),
        ("role_change_to_owner", "user", 1),
        ("role_change_to_user", "user", 2),
        ("role_change_to_guest", "user", 1),
        ("custom_tos_accepted", "user", 10),
        ("user_logout_compromised", "user", 1),
        ("user_session_invalidated", "user", 20),
        ("user_session_reset_by_admin", "user", 6),
        ("user_password_reset_requested", "user", 4),
        ("user_password_reset_slack_security", "user", 1),
        ("user_logout_non_compliant_mobile_app_version", "user", 2),
        ("user_force_upgrade_non_compliant_mobile_app_version", "user", 2),
        ("user_session_settings_changed", "user", 1),
        ("user_sessions_reset_by_anomaly_event_response", "user", 1),
    ],
    "file": [
        ("file_downloaded", "file", 1500),
        ("file_uploaded", "file", 600),
        ("file_shared", "file", 300),
        ("file_deleted", "file", 60),
        ("file_public_link_created", "file", 8),
        ("file_public_link_revoked", "file", 3),
        ("file_download_blocked", "file", 10),
        ("file_malicious_content_detected", "file", 1),
    ],
    "channel": [
        ("user_channel_join", "channel", 900),
        ("user_channel_leave", "channel", 250),
        ("guest_channel_join", "channel", 40),
        ("guest_channel_leave", "channel", 10),
        ("public_channel_created", "channel", 30),
        ("private_channel_created", "channel", 25),
        ("public_channel_archive", "channel", 10),
        ("private_channel_archive", "channel", 6),
        ("public_channel_unarchive", "channel", 1),
        ("public_channel_deleted", "channel", 2),
        ("private_channel_deleted", "channel", 2),
        ("public_channel_converted_to_private", "channel", 2),
        ("private_channel_converted_to_public", "channel", 1),
        ("mpim_converted_to_private", "channel", 2),
        ("channel_renamed", "channel", 6),
        ("channel_moved", "channel", 1),
        ("channel_workspaces_updated", "channel", 2),
        ("channel_posting_pref_changed_from_org_level", "channel", 1),
        ("channel_email_address_created", "channel", 1),
        ("channel_retention_changed", "channel", 1),
        ("public_channel_preview", "channel", 60),
        ("private_message_forwarded", "channel", 15),
        ("external_shared_channel_invite_sent", "channel", 4),
        ("external_shared_channel_invite_accepted", "channel", 3),
        ("external_shared_channel_invite_approved", "channel", 2),
        ("external_shared_channel_connected", "channel", 2),
        ("external_shared_channel_disconnected", "channel", 1),
        ("connect_dm_invite_generated", "channel", 2),
        ("connect_dm_invite_accepted", "channel", 1),
    ],
    "app": [
        ("app_installed", "app", 6),
        ("app_uninstalled", "app", 3),
        ("app_approved", "app", 3),
        ("app_restricted", "app", 1),
        ("app_scopes_expanded", "app", 3),
        ("app_resources_granted", "app", 2),
        ("app_token_preserved", "app", 1),
        ("app_deployed", "app", 2),
        ("app_manifest_updated", "app", 2),
        ("bot_token_upgraded", "app", 1),
        ("org_app_workspace_added", "app", 3),
        ("org_app_workspace_removed", "app", 1),
        ("org_app_upgraded_to_org_install", "app", 1),
        ("app_variable_added", "app", 1),
        ("function_distribution_permission_added", "app", 1),
    ],
    "workflow_builder": [
        ("workflow_created", "workflow", 4),
        ("workflow_published", "workflow", 4),
        ("workflow_unpublished", "workflow", 1),
        ("workflow_deleted", "workflow", 1),
        ("workflow_responses_csv_download", "workflow", 2),
        ("workflow_app_token_preserved", "workflow", 1),
    ],
    "workflow_v2": [
        ("workflow_v2_published", "workflow_v2", 3),
        ("workflow_trigger_permission_set", "workflow_v2", 2),
        ("workflow_trigger_permission_added", "workflow_v2", 1),
        ("external_auth_oauth2_token_refreshed", "workflow_v2", 8),
    ],
    "barrier": [
        ("barrier_created", "barrier", 1),
        ("barrier_updated", "barrier", 1),
        ("barrier_deleted", "barrier", 1),
    ],
    "message": [
        ("message_tombstoned", "message", 10),
        ("message_restored", "message", 1),
        ("message_flagged", "message", 3),
        ("message_moderated", "message", 1),
    ],
    "huddle": [
        ("huddle_started", "huddle", 60),
        ("huddle_ended", "huddle", 60),
        ("huddle_participant_joined", "huddle", 180),
        ("huddle_participant_left", "huddle", 170),
        ("huddle_knock_accepted", "huddle", 6),
        ("huddle_screenshare_on", "huddle", 25),
        ("huddle_screenshare_off", "huddle", 25),
    ],
    "anomaly": [
        ("anomaly", "user", 12),
    ],
    "canvas": [
        ("canvas_created", "canvas", 30),
        ("canvas_opened", "canvas", 400),
        ("canvas_edited", "canvas", 160),
        ("canvas_shared", "canvas", 20),
        ("canvas_deleted", "canvas", 4),
        ("canvas_access_added", "canvas", 8),
        ("canvas_access_revoked", "canvas", 2),
        ("canvas_downloaded", "canvas", 3),
        ("canvas_linksharing_enabled", "canvas", 2),
        ("canvas_ownership_transferred", "canvas", 1),
    ],
    "role": [
        ("role_assigned", "role", 3),
        ("role_removed", "role", 1),
        ("permissions_assigned", "account_type_role", 2),
        ("permissions_removed", "account_type_role", 1),
        ("role_added_to_usergroup", "role", 1),
    ],
    "usergroup": [
        ("user_added_to_usergroup", "usergroup", 20),
        ("user_removed_from_usergroup", "usergroup", 6),
        ("usergroup_updated", "usergroup", 3),
        ("usergroup_added_to_team", "usergroup", 1),
        ("default_channel_added_to_usergroup", "usergroup", 1),
    ],
    "list": [
        ("list_created", "list", 6),
        ("list_opened", "list", 90),
        ("list_row_created", "list", 30),
        ("list_row_updated", "list", 20),
        ("list_cell_updated", "list", 50),
        ("list_shared", "list", 4),
        ("list_deleted", "list", 1),
        ("list_downloaded", "list", 1),
    ],
    "legal_hold": [
        ("legal_hold_policy_created", "enterprise", 1),
        ("legal_hold_policy_updated", "enterprise", 1),
        ("legal_hold_policy_entities_added", "enterprise", 1),
        ("legal_hold_policy_entities_deleted", "enterprise", 1),
        ("legal_hold_policy_exclusion_added", "enterprise", 1),
        ("legal_hold_policy_released", "enterprise", 1),
    ],
    "native_dlp": [
        ("native_dlp_rule_created", "enterprise", 1),
        ("native_dlp_rule_action_applied", "message", 4),
        ("native_dlp_rule_deactivated", "enterprise", 1),
        ("native_dlp_violation_deleted", "message", 1),
    ],
    "slack_ai": [
        ("slack_ai_summary_requested", "channel", 40),
        ("slack_ai_huddle_notes_generated", "huddle", 8),
        ("huddle_transcription_started", "huddle", 6),
        ("slack_ai_file_summary_generated", "file", 6),
    ],
}

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
