"""The documentation builds with warnings as errors: ``python -m sphinx -W --keep-going -b html docs <tmp>``.

Sphinx's autodoc imports the package, so the build runs in the suite's own interpreter (Airflow installed).
Skipped, with the reason, where Sphinx is not importable (it comes with the project's ``test`` extra).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx", reason="Sphinx is not installed: pip install 'airflow-provider-slack-audit[test]'")

ROOT = Path(__file__).resolve().parents[2]


def test_docs_build_without_warnings(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-b",
            "html",
            str(ROOT / "docs"),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )
    assert result.returncode == 0, (
        f"sphinx failed ({result.returncode}):\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    )
    assert (tmp_path / "html" / "index.html").is_file()
