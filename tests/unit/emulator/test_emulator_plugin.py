"""The emulator's pytest plugin (a ``pytest11`` entry point, loaded by every pytest run) costs nothing
until a test asks for its fixture: then, and only then, the emulator's server is imported."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

PLAIN_AND_FIXTURE_TESTS = textwrap.dedent(
    """
    import sys

    SERVER = "airflow_provider_slack_audit.emulator.server"
    DATASET = "airflow_provider_slack_audit.emulator.dataset"


    def test_a_plain_test_runs_without_the_emulator_loaded():
        assert "airflow_provider_slack_audit.emulator.pytest_plugin" in sys.modules  # the plugin is active
        assert SERVER not in sys.modules
        assert DATASET not in sys.modules


    def test_a_test_asking_for_the_fixture_gets_a_running_emulator(slack_audit_emulator_factory):
        emulator = slack_audit_emulator_factory(seed=1)
        assert emulator.base_url.startswith("http://127.0.0.1:")
        assert SERVER in sys.modules
    """
)


def test_a_plain_pytest_session_does_not_import_the_emulator(tmp_path):
    (tmp_path / "test_plain.py").write_text(PLAIN_AND_FIXTURE_TESTS)
    pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), "test_plain.py"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": pythonpath},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "2 passed" in done.stdout
