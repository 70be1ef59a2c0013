"""Shared test set-up: an Airflow home of the suite's own, on SQLite."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from tests.fixtures.metadata_db import SHARED_DIR_VARIABLE, install_migrated_database

ROOT = Path(__file__).resolve().parent.parent
# Set before anything imports Airflow: the suite never touches a user's Airflow home.
os.environ.setdefault("AIRFLOW_HOME", str(ROOT / ".airflow-test"))
if SHARED_DIR_VARIABLE not in os.environ:  # the run's first process (xdist's workers inherit it): a fresh folder
    # that every home of this run shares (tests/fixtures/metadata_db.py keeps the migrated database there)
    os.environ[SHARED_DIR_VARIABLE] = tempfile.mkdtemp(prefix="slack-audit-tests-")
    atexit.register(shutil.rmtree, os.environ[SHARED_DIR_VARIABLE], ignore_errors=True)
if os.environ.get("PYTEST_XDIST_WORKER"):  # pytest -n: each worker process gets a home (and database) of its own
    assert "airflow" not in sys.modules, "Airflow was imported before the worker's AIRFLOW_HOME was set"
    os.environ["AIRFLOW_HOME"] = os.path.join(os.environ["AIRFLOW_HOME"], os.environ["PYTEST_XDIST_WORKER"])
    os.makedirs(os.environ["AIRFLOW_HOME"], exist_ok=True)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")

pytest_plugins = [
    "tests.fixtures.s3",
    "tests.fixtures.airflow_cli",
    "tests.fixtures.redis",
    "tests.fixtures.scheduling",
]


@pytest.fixture(scope="session")
def airflow_db() -> str:
    """Airflow's metadata database (SQLite in the suite's AIRFLOW_HOME), migrated (a copy of the run's migrated
    database: ``tests/fixtures/metadata_db.py``)."""
    install_migrated_database(Path(os.environ["AIRFLOW_HOME"]))
    return os.environ["AIRFLOW_HOME"]
