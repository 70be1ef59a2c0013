"""Shared test set-up: an Airflow home of the suite's own, on SQLite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Set before anything imports Airflow: the suite never touches a user's Airflow home.
os.environ.setdefault("AIRFLOW_HOME", str(ROOT / ".airflow-test"))
if os.environ.get("PYTEST_XDIST_WORKER"):  # pytest -n: each worker process gets a home (and database) of its own
    assert "airflow" not in sys.modules, "Airflow was imported before the worker's AIRFLOW_HOME was set"
    os.environ["AIRFLOW_HOME"] = os.path.join(os.environ["AIRFLOW_HOME"], os.environ["PYTEST_XDIST_WORKER"])
    os.makedirs(os.environ["AIRFLOW_HOME"], exist_ok=True)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")

pytest_plugins = ["tests.fixtures.s3", "tests.fixtures.airflow_cli", "tests.fixtures.redis"]


def _migrate_airflow_db() -> None:
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        stdout=subprocess.DEVNULL,
        env=dict(os.environ),
    )


@pytest.fixture(scope="session")
def airflow_db() -> str:
    """Airflow's metadata database (SQLite in the suite's AIRFLOW_HOME), migrated once per session."""
    _migrate_airflow_db()
    return os.environ["AIRFLOW_HOME"]
