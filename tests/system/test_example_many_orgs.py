"""The many-orgs example (``example_slack_audit_many_orgs.py``) with two emulators as two Enterprise orgs.

``airflow dags test`` on a fresh Airflow home, as a user runs it: each org is its own ``slack_audit``
connection (its own emulator, seed, token and ``requests_per_minute``), listed in the Variable
``slack_audit_org_conn_ids``. Checked: each org's object holds exactly its own window's events, each id
once; each org's reconciliation of the hour a day earlier writes exactly the events that reached its Slack
late, under its own prefix, and nothing for an org whose hour was never exported; each org's calls reached
its own Slack with its own token, never the other's; each org's export records one event on the example's
Asset (Airflow 3: ``airflow dags test`` on 2.11 records none, see tests/e2e/test_asset_events.py).
"""

from __future__ import annotations

import gzip
import json
import sqlite3
from pathlib import Path

import pytest

from tests.fixtures.dag_runs import AIRFLOW_3

pytestmark = [pytest.mark.airflow, pytest.mark.e2e]

DAG_ID = "slack_audit_many_orgs_export"
#: ``airflow dags test`` at LOGICAL_DATE (2024-03-01T01:00Z) owns 00:00-00:59:59 and reconciles that hour
#: a day earlier.
HOUR = 1709251200  # 2024-03-01T00:00:00Z
DAY_BEFORE = HOUR - 86400  # 2024-02-29T00:00:00Z
#: The slice of org A's day-before hour that reaches its Slack late: hidden while that hour is exported,
#: shown (``reset()``) before the DAG runs.
LATE_FROM, LATE_TO = DAY_BEFORE + 600, DAY_BEFORE + 1199
ORGS = {"slack_audit_org_acme": {"seed": 11, "rpm": 120}, "slack_audit_org_globex": {"seed": 23, "rpm": 45}}


def ids_of(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in gzip.decompress(path.read_bytes()).splitlines()]


def test_two_orgs_each_get_exactly_their_own_window_and_late_events(
    airflow_cli, slack_audit_emulator_factory, tmp_path, monkeypatch
):
    from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsToObjectStorageOperator

    slack = {
        conn_id: slack_audit_emulator_factory(seed=org["seed"], token=f"xoxp-{org['seed']}-many-orgs-test-token")
        for conn_id, org in ORGS.items()
    }
    acme = slack["slack_audit_org_acme"]
    conns = {
        f"AIRFLOW_CONN_{conn_id.upper()}": slack[conn_id].airflow_conn_json(extra={"requests_per_minute": org["rpm"]})
        for conn_id, org in ORGS.items()
    }
    root = f"file://{tmp_path}/export"
    env = {**conns, "AIRFLOW_VAR_SLACK_AUDIT_EXPORT_ROOT": root, "AIRFLOW_VAR_SLACK_AUDIT_ORG_CONN_IDS": ",".join(ORGS)}

    # Org acme's hour a day earlier was exported while part of it had not reached its Slack yet; globex's
    # was never exported (an org added since).
    day_before_key = f"dt=2024-02-29/hour=00/{DAY_BEFORE}-{DAY_BEFORE + 3599}.jsonl.gz"
    acme.late_events(LATE_FROM, LATE_TO, delay=3600)
    for name, value in conns.items():
        monkeypatch.setenv(name, value)
    SlackAuditLogsToObjectStorageOperator(
        task_id="export",
        slack_audit_conn_id="slack_audit_org_acme",
        path=f"{root}/org=slack_audit_org_acme/{day_before_key}",
        oldest=DAY_BEFORE,
        latest=DAY_BEFORE + 3599,
        settle_seconds=0,
    ).execute({})
    acme.reset()  # the late slice arrives; the request log starts afresh
    late = {e["id"] for e in acme.events(LATE_FROM, LATE_TO)}
    assert late, "nothing in the late slice: the test proves nothing"

    result = airflow_cli.dags_test(DAG_ID, env=env)

    assert result.returncode == 0, result.stdout[-6000:]
    assert "Traceback" not in result.stdout, result.stdout[-6000:]
    export = tmp_path / "export"
    hour_key = f"dt=2024-03-01/hour=00/{HOUR}-{HOUR + 3599}.jsonl.gz"
    exported = {}
    for conn_id, emulator in slack.items():
        obj = export / f"org={conn_id}" / hour_key
        got = ids_of(obj)
        assert got == [e["id"] for e in emulator.events(HOUR, HOUR + 3599)], conn_id  # exactly its window
        assert len(got) == len(set(got)) > 0
        exported[conn_id] = set(got)
        assert (obj.parent / f"{obj.name}.manifest.json").exists()
    assert not exported["slack_audit_org_acme"] & exported["slack_audit_org_globex"]  # two orgs, two logs

    # acme: the object of the day before plus its late file = that hour's events, each once.
    day_before = export / "org=slack_audit_org_acme" / day_before_key
    (late_file,) = day_before.parent.glob("*.late-*.jsonl.gz")
    assert sorted(ids_of(late_file)) == sorted(late)  # exactly the late slice, each once
    together = ids_of(day_before) + ids_of(late_file)
    assert sorted(together) == sorted(e["id"] for e in acme.events(DAY_BEFORE, DAY_BEFORE + 3599))
    # globex: never exported that hour, so nothing reconciled and nothing written for it.
    assert not (export / "org=slack_audit_org_globex" / "dt=2024-02-29").exists()
    assert "Not reconciled, never exported" in result.stdout
    assert sorted(p.relative_to(export).as_posix() for p in export.rglob("*") if p.is_file()) == sorted(
        [
            f"org=slack_audit_org_acme/{day_before_key}",
            f"org=slack_audit_org_acme/{day_before_key}.manifest.json",
            late_file.relative_to(export).as_posix(),
            f"{late_file.relative_to(export).as_posix()}.manifest.json",
            *(f"org={c}/{hour_key}{suffix}" for c in ORGS for suffix in ("", ".manifest.json")),
        ]
    )

    # One event per org on the one Asset, naming the org's object (a mapped task's outlets are declared by
    # partial(); without them the Asset was unknown and Airflow dropped the events as of "inactive assets").
    assert "inactive assets" not in result.stdout
    if AIRFLOW_3:
        with sqlite3.connect(airflow_cli.home / "airflow.db") as db:
            extras = db.execute(
                "SELECT e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE a.uri = ?",
                ("slack-audit://many-orgs/hourly-export",),
            ).fetchall()
        # this run's events: the session's Airflow database also holds those of other tests that ran this DAG
        paths = sorted(p for p in (json.loads(extra)["path"] for (extra,) in extras) if p.startswith(f"{root}/"))
        assert paths == sorted(f"{root}/org={c}/{hour_key}" for c in ORGS)

    # Each org's calls went to its own Slack (its token: a wrong one is refused), none refused or limited.
    for conn_id, emulator in slack.items():
        windows = {(r["oldest"], r["latest"]) for r in emulator.requests}
        expected = {(str(HOUR), str(HOUR + 3599))}
        if conn_id == "slack_audit_org_acme":
            expected.add((str(DAY_BEFORE), str(DAY_BEFORE + 3599)))
        assert windows == expected, conn_id
        assert {r.status for r in emulator.all_requests} == {200}, conn_id


def test_the_mapped_export_lists_its_asset_once_at_run_time():
    """A mapped task is built at run time from partial()'s arguments: the Asset given both as ``asset`` and in
    ``outlets`` is listed once (Airflow 2.11 records one event per entry of ``outlets``)."""
    from airflow.providers.common.compat.sdk import Asset

    from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsToObjectStorageOperator

    asset = Asset("slack-audit://many-orgs/hourly-export")
    export = SlackAuditLogsToObjectStorageOperator(
        task_id="export_org_hour", path="file:///tmp/org=a/hour.jsonl.gz", asset=asset, outlets=[asset]
    )
    assert export.outlets == [asset]
