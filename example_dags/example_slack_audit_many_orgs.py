"""
Hourly export of several Slack Enterprise orgs in one DAG, each with its own prefix and its own budget.

An acquisition keeps its own Enterprise Grid: each org is a ``slack_audit`` connection of its own (its
token, and its budget: the connection's ``requests_per_minute``, and with ``rate_limit_storage_uri`` a
budget shared by every worker). The Airflow Variable ``slack_audit_org_conn_ids`` lists those connection
ids, comma-separated (default: ``slack_audit_default``); adding an org is adding a connection and its id.

Each run maps, with dynamic task mapping (one task per org):

* the export of the run's hour to ``<root>/org=<connection id>/dt=YYYY-MM-DD/hour=HH/<oldest>-<latest>.jsonl.gz``
  (the layout of ``slack_audit_hourly_export``, one prefix per org);
* the reconciliation of the same org's hour a day earlier (``RECONCILE_AFTER``), by its explicit path: Slack
  adds some events late, and a day later those are caught in a late file beside the object. An hour this DAG
  did not export (before its first run, or an org added since) is left out, and the log says which.

One org's failure does not stop the others: each mapped task fails, retries and re-runs on its own. The
root and the storage connection are the export DAG's (Variable ``slack_audit_export_root``, env
``SLACK_AUDIT_STORAGE_CONN_ID``).
"""

from __future__ import annotations

# [START howto_operator_slack_audit_many_orgs]
import logging
import os
from datetime import datetime, timedelta, timezone

from airflow.providers.common.compat.sdk import DAG, Asset, ObjectStoragePath, task
from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_slack_audit.operators.slack_audit import (
    SlackAuditLogsReconcileOperator,
    SlackAuditLogsToObjectStorageOperator,
)

#: The Asset every org's export records one event on per run (extra: the summary, whose ``path`` names the
#: org's object). A mapped task declares only the outlets given to ``partial``, so it is given there too.
EXPORT_ASSET = Asset("slack-audit://many-orgs/hourly-export")
ORG_CONN_IDS = "{{ var.value.get('slack_audit_org_conn_ids', 'slack_audit_default') }}"
EXPORT_ROOT = "{{ var.value.get('slack_audit_export_root', 'file:///tmp/slack-audit-export') }}"
STORAGE_CONN_ID = os.environ.get("SLACK_AUDIT_STORAGE_CONN_ID") or None
#: How long after its hour each org's object is reconciled.
RECONCILE_AFTER = timedelta(days=1)


def org_conn_ids(listed: str) -> list[str]:
    """The connection ids of a comma-separated list: each once, in the order given; at least one."""
    conn_ids = list(dict.fromkeys(part.strip() for part in listed.split(",") if part.strip()))
    if not conn_ids:
        raise ValueError(
            f"Variable slack_audit_org_conn_ids={listed!r} names no connection: set it to the slack_audit "
            "connection ids of the orgs to export, comma-separated (e.g. slack_audit_acme,slack_audit_globex)."
        )
    return conn_ids


def hour_path(root: str, conn_id: str, oldest: int) -> str:
    """The object of the hour that starts at ``oldest`` (epoch seconds) for the org of ``conn_id``."""
    when = datetime.fromtimestamp(oldest, tz=timezone.utc)
    return f"{root}/org={conn_id}/dt={when:%Y-%m-%d}/hour={when:%H}/{oldest}-{oldest + 3599}.jsonl.gz"


@task
def exports(listed: str, root: str, hour_start: str) -> list[dict[str, str]]:
    """One export per org: its connection, and its object for the run's hour."""
    return [
        {"slack_audit_conn_id": conn_id, "path": hour_path(root, conn_id, int(hour_start))}
        for conn_id in org_conn_ids(listed)
    ]


@task
def reconciliations(listed: str, root: str, hour_start: str) -> list[dict[str, str]]:
    """One reconciliation per org whose object of the hour ``RECONCILE_AFTER`` earlier exists."""
    oldest = int(hour_start) - int(RECONCILE_AFTER.total_seconds())
    found = []
    for conn_id in org_conn_ids(listed):
        path = hour_path(root, conn_id, oldest)
        if ObjectStoragePath(path, conn_id=STORAGE_CONN_ID).exists():
            found.append({"slack_audit_conn_id": conn_id, "path": path})
        else:
            logging.getLogger(__name__).warning("Not reconciled, never exported: %s", path)
    return found


with DAG(
    dag_id="slack_audit_many_orgs_export",
    description="Export each hour of several Slack Enterprise orgs; reconcile each a day later",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,  # one window at a time per org: each org's budget goes to one hour
    default_args={"retries": 3, "retry_delay": timedelta(minutes=5), "retry_exponential_backoff": True},
    tags=["slack", "audit", "compliance"],
) as dag:
    hour_start = "{{ data_interval_start.int_timestamp }}"
    SlackAuditLogsToObjectStorageOperator.partial(
        task_id="export_org_hour",
        conn_id=STORAGE_CONN_ID,
        asset=EXPORT_ASSET,
        outlets=[EXPORT_ASSET],
    ).expand_kwargs(exports(ORG_CONN_IDS, EXPORT_ROOT, hour_start))
    SlackAuditLogsReconcileOperator.partial(
        task_id="reconcile_org_hour",
        conn_id=STORAGE_CONN_ID,
    ).expand_kwargs(reconciliations(ORG_CONN_IDS, EXPORT_ROOT, hour_start))
# [END howto_operator_slack_audit_many_orgs]
