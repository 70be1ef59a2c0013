"""
Read a small window of Slack audit logs into XCom and summarise it by action in a downstream task.

XCom suits small results (``max_events`` guards it); exports belong to the object storage operator.
"""

from __future__ import annotations

# [START howto_operator_slack_audit_xcom]
from collections import Counter
from datetime import datetime, timezone

from airflow.providers.common.compat.sdk import DAG, task
from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsOperator

with DAG(
    dag_id="slack_audit_admin_actions_summary",
    description="Count a day's admin-relevant Slack audit events by action",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),  # each run owns one whole day
    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["slack", "audit"],
) as dag:
    admin_events = SlackAuditLogsOperator(
        task_id="read_admin_events",
        action=["role_change_to_admin", "role_change_to_owner", "app_installed", "app_scopes_expanded"],
        max_events=5000,
    )

    @task
    def summarise(events: list[dict]) -> dict[str, int]:
        """Events per action, most frequent first."""
        counts = Counter(event["action"] for event in events)
        for action, count in counts.most_common():
            print(f"{action}: {count}")
        return dict(counts.most_common())

    summarise(admin_events.output)
# [END howto_operator_slack_audit_xcom]
