"""scripts/repeat_ci.py: what it reads from a run of ``.ci/run`` and how it reports it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def repeat_ci():
    spec = importlib.util.spec_from_file_location("repeat_ci", ROOT / "scripts" / "repeat_ci.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["repeat_ci"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("repeat_ci", None)


OUTPUT = """\
=== Airflow 3.3.2: output
tests/a.py ..F
=========================== short test summary info ============================
FAILED tests/deployment/test_deployment.py::test_backfill - DeploymentError: airflow backfill create exited 1
ERROR tests/e2e/test_kill.py::test_sigterm[s3] - TimeoutError
FAILED tests/deployment/test_deployment.py::test_backfill - the same test, reported again
=== summary
ruff                             clean
Airflow 3.3.2 (Python 3.11.7)    884 passed, 1 failed, 1 errors, 3 skipped  794.6s  FAILED (exit 1)

total (with virtualenvs)         848.1s  FAILED
"""


def test_parse_reads_the_summary_and_each_failing_test_once(repeat_ci):
    summary, failures = repeat_ci.parse(OUTPUT)
    assert summary == [
        "ruff                             clean",
        "Airflow 3.3.2 (Python 3.11.7)    884 passed, 1 failed, 1 errors, 3 skipped  794.6s  FAILED (exit 1)",
        "total (with virtualenvs)         848.1s  FAILED",
    ]
    assert failures == [
        "FAILED tests/deployment/test_deployment.py::test_backfill",
        "ERROR tests/e2e/test_kill.py::test_sigterm[s3]",
    ]


def test_parse_of_a_run_that_ended_before_its_summary(repeat_ci):
    assert repeat_ci.parse("creating virtualenv .venv ...\nerror: network unreachable\n") == ([], [])


def test_a_failed_run_names_its_failures_and_its_log(repeat_ci, tmp_path):
    summary, failures = repeat_ci.parse(OUTPUT)
    result = repeat_ci.RunResult(2, 1, 849.6, tmp_path / "run-2.log", summary, failures)
    text = result.describe()
    assert text.startswith("run 2: FAILED (exit 1) in 850 s")
    assert "    failed: ERROR tests/e2e/test_kill.py::test_sigterm[s3]" in text
    assert text.endswith(f"log: {tmp_path / 'run-2.log'}")
    assert not result.ok


def test_an_unknown_revision_is_refused_before_any_clone(repeat_ci, capsys):
    with pytest.raises(SystemExit) as exited:
        repeat_ci.main(["--rev", "no-such-branch-anywhere", "-n", "1"])
    assert exited.value.code == 2
    assert "'no-such-branch-anywhere' is not a commit of this repository" in capsys.readouterr().err
