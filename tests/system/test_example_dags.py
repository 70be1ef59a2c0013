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
        "slack_audit_daily_reconcile",
        "slack_audit_export_consumer",
        "slack_audit_hourly_export",
        "slack_audit_many_orgs_export",
        "slack_audit_risky_action_alert",
        "slack_audit_risky_action_watcher",
    ]


@pytest.mark.parametrize("dag_id", EXAMPLE_DAGS)
def test_airflow_dags_test_of_each_example_dag_succeeds_on_a_fresh_home(
    dag_id, airflow_cli, cli_env, slack_audit_emulator, tmp_path, monkeypatch
):
    if dag_id in AIRFLOW_3_ONLY and not AIRFLOW_3:
        pytest.skip(f"{dag_id} is scheduled by an asset watcher: Airflow 2 has none, the file defines no DAG there")
    if dag_id == "slack_audit_daily_reconcile":
        # The run at LOGICAL_DATE reconciles the day before its 00:30 interval start: 2024-02-29, whose 24
        # hours the hourly export wrote first (here in-process, with the export DAG's path layout).
        from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsToObjectStorageOperator

        monkeypatch.setenv("AIRFLOW_CONN_SLACK_AUDIT_DEFAULT", cli_env["AIRFLOW_CONN_SLACK_AUDIT_DEFAULT"])
        for hour in range(24):
            oldest = 1709164800 + 3600 * hour  # 2024-02-29T00:00:00Z
            key = f"dt=2024-02-29/hour={hour:02d}/{oldest}-{oldest + 3599}.jsonl.gz"
            SlackAuditLogsToObjectStorageOperator(
                task_id="export", path=f"{cli_env['AIRFLOW_VAR_SLACK_AUDIT_EXPORT_ROOT']}/{key}",
                oldest=oldest, latest=oldest + 3599, settle_seconds=0,
            ).execute({})  # fmt: skip
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
    if dag_id == "slack_audit_daily_reconcile":
        assert "Reconciliation of" in result.stdout, result.stdout[-6000:]
        assert not list((tmp_path / "export").rglob("*.late-*")), "nothing was late: nothing may be written"

