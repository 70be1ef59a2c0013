"""Create and update the project's virtual environments (standard library only).

Used by the README's two commands so that each works on a fresh machine with
nothing but Python 3.10+ and access to the package index.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
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


def _python_version(python: str | os.PathLike[str]) -> str | None:
    """``"3.10.13"`` for a working interpreter, None for a missing or broken one (e.g. a dead pyenv shim)."""
    try:
        out = subprocess.run(
            [str(python), "-c", "import platform; print(platform.python_version())"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def find_python(minor: str) -> str | None:
    """A working ``python<minor>`` (e.g. ``"3.10"``): on PATH, else in pyenv's versions; None if there is none."""
    candidates = [shutil.which(f"python{minor}")]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(str(p) for p in pyenv_root.glob(f"versions/{minor}.*/bin/python{minor}"))
    for candidate in filter(None, candidates):
        version = _python_version(candidate)
        if version and version.rsplit(".", 1)[0] == minor:
            return candidate
    return None


def ensure_venv(
    name: str = ".venv", airflow: str = NEWEST_AIRFLOW, extras: str = "test,s3", python: str | None = None
) -> Path:
    """Return the Python of ``ROOT/name``, creating it and installing the project when needed.

    :param name: the virtualenv's folder in the project.
    :param airflow: the Airflow release; the install is pinned by ``constraints/airflow-<airflow>.txt``.
    :param extras: the project's extras to install.
    :param python: the interpreter to build the virtualenv with; None for the one running this script.
        A virtualenv built with another Python version is rebuilt.

    The install is skipped when neither the constraints, ``pyproject.toml``, the extras, the
    interpreter nor the install command changed since the last install.
    """
    env = ROOT / name
    venv_python = _bin(env, "python")
    base_python = python or sys.executable
    base_version = platform.python_version() if python is None else _python_version(python)
    if base_version is None:
        sys.exit(f"cannot run {base_python} to build {name}")
    constraints = CONSTRAINTS / f"airflow-{airflow}.txt"
    if not constraints.exists():
        known = ", ".join(p.stem.removeprefix("airflow-") for p in sorted(CONSTRAINTS.glob("airflow-*.txt")))
        sys.exit(f"no constraints file {constraints.relative_to(ROOT)}; supported Airflow versions: {known}")
    uv = _bin(env, "uv")
    # --compile-bytecode: with PYTHONDONTWRITEBYTECODE set (as on CI machines) every process would
    # otherwise compile Airflow from source again: about 15 s per Airflow process.
    install = [uv, "pip", "install", "--python", venv_python, "--quiet", "--compile-bytecode", "-c", constraints,
               f"apache-airflow=={airflow}", "-e", f"{ROOT}[{extras}]"]  # fmt: skip
    stamp = env / ".installed"
    digest = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes()
        + constraints.read_bytes()
        + " ".join(map(str, [base_version, *install])).encode()
    ).hexdigest()
    if venv_python.exists() and stamp.exists() and stamp.read_text() == digest:
        return venv_python
    if venv_python.exists() and _python_version(venv_python) != base_version:
        print(f"{name} was built with another Python; rebuilding it with Python {base_version}", flush=True)
        shutil.rmtree(env)
    if not venv_python.exists():
        print(f"creating virtualenv {name} (Python {base_version}, Airflow {airflow}) ...", flush=True)
        if python is None:
            venv.EnvBuilder(with_pip=True, clear=True).create(env)
        else:
            _run([python, "-m", "venv", "--clear", env])
    if not uv.exists():
        _run([venv_python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "uv"])
    _run(install)
    stamp.write_text(digest)
    return venv_python
