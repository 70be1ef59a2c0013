"""
Load each hourly Slack audit export as soon as it is written: a DAG scheduled on the export's Asset.

``slack_audit_hourly_export`` (``example_slack_audit_export.py``) records one event per run on the Asset
``slack-audit://slack_audit_default/hourly-export``; each event carries the file it wrote (``path``) and
what is in it (``events``, ``bytes``, ``oldest``, ``latest``). This DAG runs once per export, reads the
file from ``triggering_asset_events`` and checks it holds what the event says; put your SIEM or data lake
load in its place. Run by hand (``airflow dags test``), it has no triggering event and skips.
"""

from __future__ import annotations

# [START howto_asset_slack_audit_export_consumer]
import gzip
import os
from datetime import datetime, timezone
from typing import Any

from airflow.providers.common.compat.sdk import DAG, AirflowSkipException, Asset, ObjectStoragePath, task

#: The export task's ``asset=`` in example_slack_audit_export.py.
EXPORT_ASSET = Asset("slack-audit://slack_audit_default/hourly-export")


def triggering_events(context: dict[str, Any]) -> list[Any]:
    """The asset events that triggered this run (Airflow 2.11 calls them dataset events)."""
    by_asset = context.get("triggering_asset_events") or context.get("triggering_dataset_events") or {}
    return [event for events in by_asset.values() for event in events]


with DAG(
    dag_id="slack_audit_export_consumer",
    description="Check and load each hourly Slack audit export once it is written",
    schedule=[EXPORT_ASSET],
    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["slack", "audit", "compliance"],
) as dag:

    @task
    def load_exported_files(**context: Any) -> list[dict[str, Any]]:
        """Read each file the triggering exports wrote and check it against the event's summary."""
        events = triggering_events(context)
        if not events:
            raise AirflowSkipException("No export triggered this run (a manual run): nothing to load.")
        loaded = []
        for event in events:
            summary = dict(event.extra)
            path = ObjectStoragePath(summary["path"], conn_id=os.environ.get("SLACK_AUDIT_STORAGE_CONN_ID") or None)
            data = path.read_bytes()
            lines = (gzip.decompress(data) if path.name.endswith(".gz") else data).count(b"\n")
            if (len(data), lines) != (summary["bytes"], summary["events"]):
                raise ValueError(f"{summary['path']} holds {lines} events in {len(data)} bytes, not as in {summary}")
            print(f"Loaded {lines} audit events of [{summary['oldest']}, {summary['latest']}] from {summary['path']}")
            loaded.append(summary)
        return loaded

    load_exported_files()
# [END howto_asset_slack_audit_export_consumer]
