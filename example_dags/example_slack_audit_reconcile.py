"""
Daily reconciliation of the hourly Slack audit log exports: catch the events Slack indexed late.

Slack adds some events to its audit log after their ``date_create`` (minutes, sometimes hours; Slack
documents no bound), so an hourly export can miss events of its own hour. Each run of this DAG takes the
24 hourly objects that ``slack_audit_hourly_export`` wrote for the day of its data interval (the day
before the run) and, for each of them (dynamic task mapping, one task per hour):

* checks the object against its manifest (an altered object fails the task; an hour without a manifest
  is compared all the same, as its own hour);
* reads the hour from Slack again, ids only, and writes the events the object lacks to a sibling
  ``<oldest>-<latest>.late-<unix seconds>.jsonl.gz`` with its own manifest (nothing when none are late);
* reports events of the object that Slack no longer returns.

Each task is given its hour as ``oldest``/``latest`` (the export's path names it), never the daily run's
interval: an hour whose manifest is there must agree with it (its filters come from it too), and an hour
without one (exported with ``manifest=False``, or killed between its object and its manifest) is still
compared with its own hour only. The root and storage connection are the export DAG's (Variable
``slack_audit_export_root``, env ``SLACK_AUDIT_STORAGE_CONN_ID``). A reconciliation may run again at any
time: a run that finds nothing new writes nothing, so each late event is kept once.
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
def hourly_objects(root: str, day_start: str) -> list[dict[str, object]]:
    """The 24 objects the hourly export wrote for the day that starts at ``day_start`` (epoch seconds), each
    with its hour: the window to compare it with (an object's window is its own, not this run's)."""
    start = int(day_start)
    objects: list[dict[str, object]] = []
    for hour in range(24):
        oldest = start + 3600 * hour
        when = datetime.fromtimestamp(oldest, tz=timezone.utc)
        path = f"{root}/dt={when:%Y-%m-%d}/hour={when:%H}/{oldest}-{oldest + 3599}.jsonl.gz"
        objects.append({"path": path, "oldest": oldest, "latest": oldest + 3599})
    return objects


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
    ).expand_kwargs(
        hourly_objects(
            root=EXPORT_ROOT,
            # the run's data interval is [00:30 the day before, 00:30 today): reconcile that calendar day
            day_start="{{ data_interval_start.start_of('day').int_timestamp }}",
        )
    )
# [END howto_operator_slack_audit_reconcile]
