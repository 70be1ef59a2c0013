"""Create and update the project's virtual environments (standard library only).

Used by the README's two commands so that each works on a fresh machine with
nothing but Python 3.10+ and access to the package index.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "constraints"
#: The Airflow release the main virtualenv is pinned to (the newest supported).
NEWEST_AIRFLOW = "3.3.2"
#: The oldest supported Airflow release, tested in its own virtualenv (``.venv-airflow2``).
AIRFLOW_2 = "2.11.2"


def _bin(env: Path, name: str) -> Path:
    return env / ("Scripts" if os.name == "nt" else "bin") / name


def _run(cmd: list[str | os.PathLike[str]], **kwargs) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def ensure_venv(name: str = ".venv", airflow: str = NEWEST_AIRFLOW, extras: str = "test,s3") -> Path:
    """Return the Python of ``ROOT/name``, creating it and installing the project when needed.

    The install is pinned by ``constraints/airflow-<airflow>.txt`` and skipped when
    neither that file nor ``pyproject.toml`` changed since the last install.
    """
    env = ROOT / name
    python = _bin(env, "python")
    constraints = CONSTRAINTS / f"airflow-{airflow}.txt"
    if not constraints.exists():
        known = ", ".join(p.stem.removeprefix("airflow-") for p in sorted(CONSTRAINTS.glob("airflow-*.txt")))
        sys.exit(f"no constraints file {constraints.relative_to(ROOT)}; supported Airflow versions: {known}")
    stamp = env / ".installed"
    digest = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + constraints.read_bytes() + extras.encode()
    ).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text() == digest:
        return python
    if not python.exists():
        print(f"creating virtualenv {name} ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(env)
    uv = _bin(env, "uv")
    if not uv.exists():
        _run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "uv"])
    # --compile-bytecode: with PYTHONDONTWRITEBYTECODE set (as on CI machines) every process would
    # otherwise compile Airflow from source again: about 15 s per Airflow process.
    _run([uv, "pip", "install", "--python", python, "--quiet", "--compile-bytecode", "-c", constraints,
          f"apache-airflow=={airflow}", "-e", f"{ROOT}[{extras}]"])
    stamp.write_text(digest)
    return python
