"""
Hourly compliance export of Slack audit logs to object storage.

Each run writes the events of its own hour, exactly once, to a key partitioned by the window:

    <root>/dt=YYYY-MM-DD/hour=HH/<oldest>-<latest>.jsonl.gz

``<root>`` comes from the Airflow Variable ``slack_audit_export_root`` (default: a local folder), so the
same DAG writes to ``s3://bucket/prefix`` by setting that Variable and, in the environment of the
processes that parse the DAG, ``SLACK_AUDIT_STORAGE_CONN_ID`` to the id of the storage connection
(e.g. an ``aws`` connection; unset, no connection is passed, as ``file://`` needs). Slack is reached
through ``slack_audit_default``.

The timetable makes intervals (``CronDataIntervalTimetable``): every run owns
``[data_interval_start, data_interval_end)``, so consecutive runs and backfills share no second and miss
none, and a re-run of an hour replaces that hour's file.

Every run records one event on the task's Asset, ``EXPORT_ASSET`` (the same Asset for every hour), with
the file's ``path``, ``events``, ``bytes``, ``oldest`` and ``latest`` as extra: a DAG scheduled on it
(``example_slack_audit_export_consumer.py``) runs once per export and finds the file there.
"""

from __future__ import annotations

# [START howto_operator_slack_audit_export_to_object_storage]
import os
from datetime import datetime, timedelta, timezone

from airflow.providers.common.compat.sdk import DAG
from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsToObjectStorageOperator

#: The Asset the export records one event on per run; DAGs that load the files are scheduled on it.
EXPORT_ASSET = "slack-audit://slack_audit_default/hourly-export"
EXPORT_ROOT = "{{ var.value.get('slack_audit_export_root', 'file:///tmp/slack-audit-export') }}"
WINDOW_KEY = (
    "dt={{ data_interval_start.strftime('%Y-%m-%d') }}/hour={{ data_interval_start.strftime('%H') }}/"
    "{{ data_interval_start.int_timestamp }}-{{ data_interval_end.int_timestamp - 1 }}.jsonl.gz"
)

with DAG(
    dag_id="slack_audit_hourly_export",
    description="Export each hour of Slack Enterprise Grid audit logs to object storage",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,  # Slack's rate limit is org-wide: one window at a time goes fastest overall
    default_args={"retries": 3, "retry_delay": timedelta(minutes=5), "retry_exponential_backoff": True},
    tags=["slack", "audit", "compliance"],
) as dag:
    SlackAuditLogsToObjectStorageOperator(
        task_id="export_audit_logs",
        slack_audit_conn_id="slack_audit_default",
        path=f"{EXPORT_ROOT}/{WINDOW_KEY}",
        conn_id=os.environ.get("SLACK_AUDIT_STORAGE_CONN_ID") or None,
        asset=EXPORT_ASSET,
    )
# [END howto_operator_slack_audit_export_to_object_storage]
