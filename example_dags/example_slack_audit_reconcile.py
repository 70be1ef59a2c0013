"""
Daily reconciliation of the hourly Slack audit log exports: catch the events Slack indexed late.

Slack adds some events to its audit log after their ``date_create`` (minutes, sometimes hours; Slack
documents no bound), so an hourly export can miss events of its own hour. Each run of this DAG takes the
24 hourly objects that ``slack_audit_hourly_export`` wrote for the day of its data interval (the day
before the run) and, for each of them (dynamic task mapping, one task per hour):

* checks the object against its manifest (an altered object fails the task);
* reads the hour from Slack again, ids only, and writes the events the object lacks to a sibling
  ``<oldest>-<latest>.late-<unix seconds>.jsonl.gz`` with its own manifest (nothing when none are late);
* reports events of the object that Slack no longer returns.

The window and filters of each hour come from its manifest. The root and storage connection are the
export DAG's (Variable ``slack_audit_export_root``, env ``SLACK_AUDIT_STORAGE_CONN_ID``). A reconciliation
may run again at any time: a run that finds nothing new writes nothing, so each late event is kept once.
"""

from __future__ import annotations

# [START howto_operator_slack_audit_reconcile]
import os
from datetime import datetime, timedelta, timezone

from airflow.providers.common.compat.sdk import DAG, task
from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsReconcileOperator

EXPORT_ROOT = "{{ var.value.get('slack_audit_export_root', 'file:///tmp/slack-audit-export') }}"


@task
def hourly_paths(root: str, day_start: str) -> list[str]:
    """The 24 objects the hourly export wrote for the day that starts at ``day_start`` (epoch seconds)."""
    start = int(day_start)
    paths = []
    for hour in range(24):
        oldest = start + 3600 * hour
        when = datetime.fromtimestamp(oldest, tz=timezone.utc)
        paths.append(f"{root}/dt={when:%Y-%m-%d}/hour={when:%H}/{oldest}-{oldest + 3599}.jsonl.gz")
    return paths


with DAG(
    dag_id="slack_audit_daily_reconcile",
    description="Re-check each exported hour of the day before against Slack; keep late events",
    schedule=CronDataIntervalTimetable("30 0 * * *", timezone="UTC"),  # 00:30: after the day's last export
    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,  # Slack's rate limit is org-wide
    max_active_tasks=2,
    default_args={"retries": 3, "retry_delay": timedelta(minutes=5), "retry_exponential_backoff": True},
    tags=["slack", "audit", "compliance"],
) as dag:
    SlackAuditLogsReconcileOperator.partial(
        task_id="reconcile_hour",
        slack_audit_conn_id="slack_audit_default",
        conn_id=os.environ.get("SLACK_AUDIT_STORAGE_CONN_ID") or None,
        fail_on_vanished=True,  # an event gone from Slack's audit log deserves a look
    ).expand(
        path=hourly_paths(
            root=EXPORT_ROOT,
            # the run's data interval is [00:30 the day before, 00:30 today): reconcile that calendar day
            day_start="{{ data_interval_start.start_of('day').int_timestamp }}",
        )
    )
# [END howto_operator_slack_audit_reconcile]
