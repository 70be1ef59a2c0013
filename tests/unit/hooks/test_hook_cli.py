"""``airflow connections test`` on a slack_audit connection, in a real Airflow CLI subprocess.

The connection comes from ``AIRFLOW_CONN_SLACK_AUDIT_DEFAULT`` (the emulator's JSON), so the
CLI needs no metadata database: a fresh AIRFLOW_HOME is enough.
"""

from __future__ import annotations

import os
import subprocess
import sys

import airflow
import pytest
from packaging.version import Version

AIRFLOW_3 = Version(airflow.__version__).major >= 3


def _connections_test(conn_value: str, home) -> subprocess.Popen:
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_SLACK_AUDIT_DEFAULT": conn_value,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "airflow", "connections", "test", "slack_audit_default"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.airflow
def test_airflow_connections_test_passes_with_the_token_and_fails_with_slacks_code(slack_audit_emulator, tmp_path):
    emulator = slack_audit_emulator
    wrong_token = "xoxp-1234-5678-not-the-right-token"
    good_json = emulator.airflow_conn_json()
    # Both CLI processes run at once: each spends most of its time importing Airflow.
    good = _connections_test(good_json, tmp_path / "good")
    wrong = _connections_test(good_json.replace(emulator.token, wrong_token), tmp_path / "wrong")
    good_out, _ = good.communicate(timeout=180)
    wrong_out, _ = wrong.communicate(timeout=180)
    print("--- airflow connections test, right token:\n" + good_out)
    print("--- airflow connections test, wrong token:\n" + wrong_out)

    assert good.returncode == 0, good_out
    assert "Connection success!" in good_out

    # Airflow 2 prints the failure but exits 0; Airflow 3 exits 1.
    assert wrong.returncode == (1 if AIRFLOW_3 else 0), wrong_out
    assert "Connection failed!" in wrong_out
    assert "invalid_authentication" in wrong_out
    assert f"{emulator.base_url}logs" in wrong_out
    for out in (good_out, wrong_out):
        assert emulator.token not in out
        assert wrong_token not in out

    # What the emulator saw: one logs call with limit=1 per test, each with its own token.
    logs_calls = [(call.endpoint, call.params.get("limit"), call.status) for call in emulator.all_requests]
    assert sorted(logs_calls) == [("logs", "1", 200), ("logs", "1", 401)]
