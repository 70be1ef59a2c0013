"""The example DAGs (the code the README and the docs show): each imports cleanly into a DagBag, and
``airflow dags test <dag> <date>`` of each succeeds, as a CLI subprocess on a fresh Airflow home.

No DAG sync first and no warning filter: what a user who just installed the provider runs. On Airflow
2.11 this used to fail after writing the file (``FlushError ... DatasetModel.aliases``) because the
templated path declared an AssetAlias that 2.11 can only record for a DAG already in the database.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.fixtures.dag_runs import AIRFLOW_3, load_dag_bag

pytestmark = [pytest.mark.airflow, pytest.mark.e2e]

EXAMPLE_FOLDER = Path(__file__).resolve().parents[2] / "example_dags"
EXAMPLE_DAGS = sorted(
    line.split('"')[1]
    for path in EXAMPLE_FOLDER.glob("*.py")
    for line in path.read_text().splitlines()
    if line.strip().startswith("dag_id=")
)

#: Example DAGs that exist on Airflow 3 only.
AIRFLOW_3_ONLY = {"slack_audit_risky_action_watcher"}


@pytest.fixture
def cli_env(slack_audit_emulator, tmp_path) -> dict[str, str]:
    """The two connections and the export root a user sets: Slack is the emulator, storage is tmp_path."""
    return {
        "AIRFLOW_CONN_SLACK_AUDIT_DEFAULT": slack_audit_emulator.airflow_conn_json(),
        "AIRFLOW_VAR_SLACK_AUDIT_EXPORT_ROOT": f"file://{tmp_path}/export",
    }


def test_example_dags_import_cleanly():
    bag = load_dag_bag(EXAMPLE_FOLDER)
    assert bag.import_errors == {}
    assert {"slack_audit_hourly_export", "slack_audit_admin_actions_summary"} <= set(bag.dag_ids)


def test_every_example_dag_is_covered():
    assert EXAMPLE_DAGS == [
        "slack_audit_admin_actions_summary",
        "slack_audit_daily_backfill",
        "slack_audit_daily_reconcile",
        "slack_audit_export_consumer",
        "slack_audit_hourly_export",
        "slack_audit_many_orgs_export",
        "slack_audit_risky_action_alert",
        "slack_audit_risky_action_watcher",
    ]


#: Example DAGs whose ``airflow dags test`` another file runs, with the checks that DAG needs.
RUN_ELSEWHERE = {"slack_audit_many_orgs_export": "tests/system/test_example_many_orgs.py"}
#: The day the reconcile example's run at LOGICAL_DATE reconciles: 2024-02-29, before its 00:30 interval start.
DAY = 1709164800
#: Its hours that have no manifest, one for each way that happens.
WITHOUT_MANIFEST = {3: "exported with manifest=False", 7: "killed between object and manifest", 11: "replacing marker"}
#: The minute of an hour that reaches Slack late (hour 3 has late events and no manifest).
LATE_MINUTES = {3: DAY + 3 * 3600 + 60, 5: DAY + 5 * 3600 + 60}


@pytest.mark.parametrize("dag_id", [d for d in EXAMPLE_DAGS if d not in RUN_ELSEWHERE])
def test_airflow_dags_test_of_each_example_dag_succeeds_on_a_fresh_home(
    dag_id, airflow_cli, cli_env, slack_audit_emulator, tmp_path, monkeypatch
):
    if dag_id in AIRFLOW_3_ONLY and not AIRFLOW_3:
        pytest.skip(f"{dag_id} is scheduled by an asset watcher: Airflow 2 has none, the file defines no DAG there")
    if dag_id == "slack_audit_daily_reconcile":
        monkeypatch.setenv("AIRFLOW_CONN_SLACK_AUDIT_DEFAULT", cli_env["AIRFLOW_CONN_SLACK_AUDIT_DEFAULT"])
        export_the_day_to_reconcile(slack_audit_emulator, cli_env["AIRFLOW_VAR_SLACK_AUDIT_EXPORT_ROOT"])
    result = airflow_cli.dags_test(dag_id, env=cli_env)

    assert result.returncode == 0, result.stdout[-6000:]
    assert "Traceback" not in result.stdout, result.stdout[-6000:]
    if dag_id == "slack_audit_hourly_export":
        # The manual run at LOGICAL_DATE (01:00) owns the hour before it: 2024-03-01T00:00:00Z .. 00:59:59Z.
        (path,) = (tmp_path / "export").rglob("*.jsonl.gz")
        key = path.relative_to(tmp_path / "export").as_posix()
        assert key == "dt=2024-03-01/hour=00/1709251200-1709254799.jsonl.gz"
        ids = [json.loads(line)["id"] for line in gzip.decompress(path.read_bytes()).splitlines()]
        assert ids == [e["id"] for e in slack_audit_emulator.events(1709251200, 1709254799)]
        # no temporary left beside it; its manifest is there
        assert sorted(p.name for p in path.parent.iterdir()) == [path.name, f"{path.name}.manifest.json"]
    if dag_id == "slack_audit_daily_backfill":
        check_daily_backfill(slack_audit_emulator, tmp_path / "export")
    if dag_id == "slack_audit_daily_reconcile":
        assert result.stdout.count("Reconciliation of") >= 24, result.stdout[-6000:]
        check_daily_reconcile(slack_audit_emulator, tmp_path / "export")


def test_every_example_dag_runs_through_the_cli_once():
    assert set(RUN_ELSEWHERE) <= set(EXAMPLE_DAGS)
    for dag_id, test_file in RUN_ELSEWHERE.items():
        assert f'DAG_ID = "{dag_id}"' in (EXAMPLE_FOLDER.parent / test_file).read_text()


def export_the_day_to_reconcile(emulator, root: str) -> None:
    """What the hourly export wrote for DAY (in-process, with the export DAG's path layout) while two minutes of
    it had not reached Slack yet; three hours are left without a manifest. Then the late minutes arrive."""
    from airflow_provider_slack_audit.export.layout import REPLACING_MARKER
    from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsToObjectStorageOperator

    for start in LATE_MINUTES.values():
        emulator.late_events(start, start + 59, delay=3600)
    for hour in range(24):
        oldest = DAY + 3600 * hour
        key = f"dt=2024-02-29/hour={hour:02d}/{oldest}-{oldest + 3599}.jsonl.gz"
        without = WITHOUT_MANIFEST.get(hour)
        SlackAuditLogsToObjectStorageOperator(
            task_id="export", path=f"{root}/{key}", oldest=oldest, latest=oldest + 3599, settle_seconds=0,
            manifest=without != "exported with manifest=False",
        ).execute({})  # fmt: skip
        manifest = Path(root.removeprefix("file://")) / f"{key}.manifest.json"
        if without == "killed between object and manifest":
            manifest.unlink()
        elif without == "replacing marker":  # an S3 re-export by a role that may not delete, stopped before its commit
            manifest.write_text(json.dumps(REPLACING_MARKER) + "\n")
    emulator.reset()  # the late minutes reach Slack


def check_daily_reconcile(emulator, root: Path) -> None:
    """Each hour of DAY was compared with its own hour, manifest or not: exactly the late minutes were written,
    each to its own hour's late file, and no late file holds an event of another hour."""
    late_files = sorted(p for p in root.rglob("*.late-*") if not p.name.endswith(".manifest.json"))
    assert [p.parent.name for p in late_files] == ["hour=03", "hour=05"]
    for late_file, start in zip(late_files, LATE_MINUTES.values(), strict=True):
        hour_start = start - 60
        events = [json.loads(line) for line in gzip.decompress(late_file.read_bytes()).splitlines()]
        assert all(hour_start <= e["date_create"] <= hour_start + 3599 for e in events)  # none of another hour
        assert sorted(e["id"] for e in events) == sorted(e["id"] for e in emulator.events(start, start + 59))
        assert events


def check_daily_backfill(emulator, root: Path) -> None:
    """The manual run at LOGICAL_DATE (2024-03-01T01:00) owns the day before: 24 hourly objects, each at the
    hourly export's key and with its hour's events and window, read in one walk of the day."""
    import runpy

    backfill = runpy.run_path(str(EXAMPLE_FOLDER / "example_slack_audit_backfill.py"))
    hourly = runpy.run_path(str(EXAMPLE_FOLDER / "example_slack_audit_export.py"))
    assert (backfill["EXPORT_ROOT"], backfill["WINDOW_KEY"]) == (hourly["EXPORT_ROOT"], hourly["WINDOW_KEY"])
    day = 1709164800  # 2024-02-29T00:00:00Z
    keys = [p.relative_to(root).as_posix() for p in sorted(root.rglob("*.jsonl.gz"))]
    assert keys == [f"dt=2024-02-29/hour={h:02d}/{day + 3600 * h}-{day + 3600 * h + 3599}.jsonl.gz" for h in range(24)]
    for h, key in enumerate(keys):
        path = root / key
        oldest, latest = day + 3600 * h, day + 3600 * h + 3599
        ids = [json.loads(line)["id"] for line in gzip.decompress(path.read_bytes()).splitlines()]
        assert ids == [e["id"] for e in emulator.events(oldest, latest)]
        manifest = json.loads(path.with_name(path.name + ".manifest.json").read_bytes())
        assert manifest["window"] == {"oldest": oldest, "latest": latest}
        assert manifest["walked_span"] == {"oldest": day, "latest": day + 86399}
    walks = [r for r in emulator.requests if not r.cursor]
    assert [(int(r["oldest"]), int(r["latest"])) for r in walks] == [(day, day + 86399)]
    assert len(emulator.requests) <= -(-emulator.count(day, day + 86399) // 9999) + 1
