"""
Backfill of Slack audit logs in the fewest calls: one walk per day, written as the hourly export's objects.

Each run owns a day (``[data_interval_start, data_interval_end)``, UTC) and reads it in one walk over the
API (one call per 9999 events: one or two for most organisations, where the hourly DAG makes 24), then
writes it as 24 hourly objects, each exactly what ``slack_audit_hourly_export`` writes for that hour:

    <root>/dt=YYYY-MM-DD/hour=HH/<oldest>-<latest>.jsonl.gz

the same key, the same window, the same events and ``ids_sha256`` in its manifest (which also names the day
that was walked, ``walked_span``). ``path`` is the hourly DAG's template: with ``split_interval`` it is
rendered once per hour, with that hour as ``data_interval_start`` / ``data_interval_end``.

Run it over the past, e.g. a month, with ``airflow backfill create --dag-id slack_audit_daily_backfill
--from-date 2024-02-01 --to-date 2024-02-29``; each day's hours can be exported again later by either DAG
(a re-run replaces the objects and their manifests). ``<root>`` and the storage connection come from the
same Variable and environment variable as the hourly DAG's.
"""

from __future__ import annotations

# [START howto_operator_slack_audit_backfill]
import os
from datetime import datetime, timedelta, timezone

from airflow.providers.common.compat.sdk import DAG
from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsToObjectStorageOperator

EXPORT_ROOT = "{{ var.value.get('slack_audit_export_root', 'file:///tmp/slack-audit-export') }}"
#: The hourly DAG's key, rendered here once per hour of the day.
WINDOW_KEY = (
    "dt={{ data_interval_start.strftime('%Y-%m-%d') }}/hour={{ data_interval_start.strftime('%H') }}/"
    "{{ data_interval_start.int_timestamp }}-{{ data_interval_end.int_timestamp - 1 }}.jsonl.gz"
)

with DAG(
    dag_id="slack_audit_daily_backfill",
    description="Backfill Slack Enterprise Grid audit logs a day per walk, as the hourly export's objects",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,  # Slack's rate limit is org-wide: one walk at a time goes fastest overall
    default_args={"retries": 3, "retry_delay": timedelta(minutes=5), "retry_exponential_backoff": True},
    tags=["slack", "audit", "compliance", "backfill"],
) as dag:
    SlackAuditLogsToObjectStorageOperator(
        task_id="export_audit_logs_by_hour",
        slack_audit_conn_id="slack_audit_default",
        path=f"{EXPORT_ROOT}/{WINDOW_KEY}",
        split_interval=timedelta(hours=1),  # one walk for the day, one object per hour
        conn_id=os.environ.get("SLACK_AUDIT_STORAGE_CONN_ID") or None,
    )
# [END howto_operator_slack_audit_backfill]
