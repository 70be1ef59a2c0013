"""
Run a DAG within a minute of a risky action in Slack: an asset watched by an event trigger (Airflow 3).

``slack_audit_risky_actions`` is an asset whose watcher polls the Slack audit log every minute for
apps installed, admin or owner roles granted and anomalies flagged, looking five minutes back for
events Slack shows late. Each batch of events it has not fired before becomes an asset event, and
every asset event starts ``slack_audit_risky_action_watcher``, whose task reads the events from
``triggering_asset_events`` and logs who did what. Put your paging, ticketing or SOAR call in its place.

No scheduled polling DAG, no event twice: the watcher remembers what it fired (on Airflow 3.3+ in
the asset's state store, across triggerer restarts). The triggerer must be running
(``airflow triggerer``). Airflow 2 has no asset watchers: there this file defines no DAG; use the
sensor example instead.
"""

from __future__ import annotations

# [START howto_trigger_slack_audit_event_watcher]
from collections import Counter

try:
    from airflow.sdk import DAG, Asset, AssetWatcher, task
except ImportError:  # Airflow 2: no asset watchers
    AssetWatcher = None

from airflow_provider_slack_audit.triggers.slack_audit import SlackAuditLogsEventTrigger

RISKY_ACTIONS = ["app_installed", "role_change_to_admin", "role_change_to_owner", "anomaly"]

if AssetWatcher is not None:
    risky_actions = Asset(
        name="slack_audit_risky_actions",
        uri="slack-audit://risky-actions",
        watchers=[
            AssetWatcher(
                name="slack_audit_risky_actions_watcher",
                trigger=SlackAuditLogsEventTrigger(
                    slack_audit_conn_id="slack_audit_default",
                    action=RISKY_ACTIONS,
                    poll_interval=60,  # seconds between polls
                    lookback_seconds=300,  # how late Slack may show an event and it still fires
                    max_events=100,  # events per asset event; more make further asset events
                ),
            )
        ],
    )

    with DAG(
        dag_id="slack_audit_risky_action_watcher",
        description="React within a minute to apps installed, admins or owners made and anomalies in Slack",
        schedule=[risky_actions],
        catchup=False,
        tags=["slack", "audit", "security", "event-driven"],
    ):

        @task
        def summarize(triggering_asset_events=None) -> dict[str, int]:
            """Log each risky event the watcher fired for this run; return the count per action."""
            events = [
                event
                for asset_event in triggering_asset_events[risky_actions]
                for event in (asset_event.extra.get("payload") or {}).get("events", [])
            ]
            for event in events:
                actor = (event.get("actor") or {}).get("user") or {}
                entity = event.get("entity") or {}
                target = entity.get(entity.get("type", ""), {}) if isinstance(entity, dict) else {}
                print(
                    f"RISKY {event.get('action')} by {actor.get('name')} <{actor.get('email')}> on "
                    f"{entity.get('type')} {target.get('name') or target.get('id')} at {event.get('date_create')} "
                    f"(id {event.get('id')})"
                )
            counts = Counter(event.get("action") for event in events)
            print(f"{len(events)} risky audit event(s) in this run: {dict(counts)}")
            return dict(counts)

        summarize()
# [END howto_trigger_slack_audit_event_watcher]
