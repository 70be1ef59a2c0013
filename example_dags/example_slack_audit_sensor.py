"""
Wait for a risky action in each hour of the Slack audit log, then notify about it.

Every hourly run owns the events of its data interval. The sensor succeeds as soon as one of the
watched actions (an app installed, an admin or owner role granted, a role assigned) is in that
hour, and hands the newest matches to the ``notify`` task. Audit events can reach the API some
minutes after they happen, so the sensor keeps looking for a while (``timeout``); an hour with
no risky action is good news, so ``soft_fail`` ends the run as skipped instead of failed.

``deferrable=True`` does the waiting in the triggerer, not in a worker slot. ``notify`` only
logs a summary here; put your Slack, e-mail or ticketing call in its place.
"""

from __future__ import annotations

# [START howto_sensor_slack_audit]
from collections import Counter
from datetime import datetime, timedelta, timezone

from airflow.providers.common.compat.sdk import DAG, task
from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_slack_audit.sensors.slack_audit import SlackAuditLogsSensor

RISKY_ACTIONS = ["app_installed", "role_change_to_admin", "role_change_to_owner", "role_assigned"]

with DAG(
    dag_id="slack_audit_risky_action_alert",
    description="Alert when an app is installed or an admin/owner role is granted in Slack",
    # A data-interval timetable: in Airflow 3 a plain cron string or timedelta gives runs an empty interval.
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["slack", "audit", "security"],
) as dag:
    risky_events = SlackAuditLogsSensor(
        task_id="wait_for_risky_action",
        action=RISKY_ACTIONS,
        min_events=1,
        max_events_returned=50,
        deferrable=True,
        poll_interval=300,  # seconds between checks in the triggerer
        timeout=timedelta(minutes=45),  # how long late-arriving events are waited for
        soft_fail=True,
    )

    @task
    def notify(events: list[dict]) -> dict[str, int]:
        """Log who did what to what; return the count per action."""
        for event in events:
            actor = (event.get("actor") or {}).get("user") or {}
            entity = event.get("entity") or {}
            target = entity.get(entity.get("type", ""), {}) if isinstance(entity, dict) else {}
            print(
                f"RISKY {event.get('action')} by {actor.get('name')} <{actor.get('email')}> "
                f"on {entity.get('type')} {target.get('name') or target.get('id')} at {event.get('date_create')}"
            )
        counts = Counter(event.get("action") for event in events)
        print(f"{len(events)} risky audit event(s) this hour: {dict(counts)}")
        return dict(counts)

    notify(risky_events.output)
# [END howto_sensor_slack_audit]
