#!/usr/bin/env python3
"""Run the whole test suite: set up the virtualenv, lint, then pytest.

Usage: python3 scripts/test.py [pytest arguments]
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _venv import ROOT, _bin, ensure_venv


def main() -> int:
    python = ensure_venv()
    env = dict(os.environ)
    # Tests own their Airflow home: a SQLite database inside the project, never the user's.
    env["AIRFLOW_HOME"] = str(ROOT / ".airflow-test")
    env.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", None)
    ruff = subprocess.run([str(_bin(python.parent.parent, "ruff")), "check", str(ROOT)], cwd=ROOT, env=env)
    if ruff.returncode:
        print("ruff found problems (see above)", file=sys.stderr)
        return ruff.returncode
    return subprocess.run([str(python), "-m", "pytest", *sys.argv[1:]], cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
