"""Shared test set-up: an Airflow home of the suite's own, on SQLite."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Set before anything imports Airflow: the suite never touches a user's Airflow home.
os.environ.setdefault("AIRFLOW_HOME", str(ROOT / ".airflow-test"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")

pytest_plugins = ["tests.fixtures.s3"]
