"""The release: build the sdist and the wheel as a release would, check them with ``twine check``, and
install the wheel into a fresh virtualenv with Airflow, where Airflow must list the provider.

The fresh virtualenv is built only on Airflow 3 (the newest release CI runs), to keep CI's time down;
on Airflow 2.11 the build and the checks still run. uv's cache makes the install take seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from importlib.util import find_spec
from pathlib import Path

import pytest

import airflow_provider_slack_audit
from tests.fixtures.dag_runs import AIRFLOW_3

pytestmark = [pytest.mark.build, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
VERSION = airflow_provider_slack_audit.__version__
#: The Airflow the fresh virtualenv installs, pinned by the constraints file the suite's venv uses.
NEWEST_AIRFLOW = "3.3.2"
CONSTRAINTS = ROOT / "constraints" / f"airflow-{NEWEST_AIRFLOW}.txt"
# Airflow 3.4: the package index offered none on 2026-12-07 (newest: 3.3.2); its smoke (install, providers list,
# one dag.test() export) belongs beside test_the_wheel_installs_into_a_fresh_virtualenv once it is released.

#: What a source tree copy leaves out: virtualenvs, Airflow homes, build output and caches.
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv*", ".airflow*", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "out"
)


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without the suite's Airflow settings and PYTHONPATH (which could put the checkout,
    not the installed wheel, on a fresh interpreter's path)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW") and k != "PYTHONPATH"}
    return {**env, **extra}


def _uv() -> str | None:
    beside = Path(sys.executable).with_name("uv")
    return str(beside) if beside.exists() else shutil.which("uv")


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> dict[str, Path]:
    """The sdist and the wheel built by ``python -m build`` from a copy of the tree (the build writes
    ``build/`` and ``*.egg-info`` into its source folder; the checkout stays as it is)."""
    if find_spec("build") is None or find_spec("twine") is None:
        pytest.skip("build and twine are not installed (they are in the project's test extra)")
    tmp = tmp_path_factory.mktemp("release")
    source, out = tmp / "source", tmp / "dist"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCE)
    installer = ["--installer", "uv"] if find_spec("uv") or shutil.which("uv") else []
    _run([sys.executable, "-m", "build", "--wheel", "--sdist", *installer, "--outdir", str(out), str(source)])
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return {"sdist": sdist, "wheel": wheel}


def test_twine_check_passes(dists):
    proc = _run([sys.executable, "-m", "twine", "check", "--strict", str(dists["sdist"]), str(dists["wheel"])])
    assert proc.stdout.count("PASSED") == 2, proc.stdout


def test_the_sdist_and_the_wheel_carry_the_license(dists):
    license_text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in license_text
    assert "Version 2.0, January 2004" in license_text
    with tarfile.open(dists["sdist"]) as sdist:
        top = f"airflow_provider_slack_audit-{VERSION}"
        assert sdist.extractfile(f"{top}/LICENSE").read().decode() == license_text
        assert sdist.extractfile(f"{top}/CHANGELOG.md") is not None
        # package data: the emulator's action table, as in the tree (a wheel built from this sdist has it too)
        table = (ROOT / "airflow_provider_slack_audit" / "emulator" / "actions.csv").read_bytes()
        assert sdist.extractfile(f"{top}/airflow_provider_slack_audit/emulator/actions.csv").read() == table
        sdist_meta = Parser().parsestr(sdist.extractfile(f"{top}/PKG-INFO").read().decode())
    with zipfile.ZipFile(dists["wheel"]) as wheel:
        dist_info = f"airflow_provider_slack_audit-{VERSION}.dist-info"
        assert wheel.read(f"{dist_info}/licenses/LICENSE").decode() == license_text
        meta = Parser().parsestr(wheel.read(f"{dist_info}/METADATA").decode())
    for metadata in (meta, sdist_meta):
        assert metadata["Version"] == VERSION
        assert metadata["License-Expression"] == "Apache-2.0"
        assert metadata.get_all("License-File") == ["LICENSE"]
        # No upper bound on Airflow (as official providers), the lower one CI proves.
        assert "apache-airflow>=2.11" in metadata.get_all("Requires-Dist")


@pytest.mark.skipif(not AIRFLOW_3, reason="the fresh install runs once, on the newest Airflow (3.x), to keep CI short")
def test_the_wheel_installs_into_a_fresh_virtualenv(dists, tmp_path):
    uv = _uv()
    if uv is None:
        pytest.skip("no uv beside the interpreter or on PATH (the project's virtualenvs have it)")
    venv = tmp_path / "venv"
    _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], env=_clean_env())
    python = venv / "bin" / "python"
    _run([uv, "pip", "install", "--quiet", "--python", str(python), "-c", str(CONSTRAINTS),
          f"apache-airflow=={NEWEST_AIRFLOW}", str(dists["wheel"])], env=_clean_env())  # fmt: skip

    # Run from tmp_path: ``python -c`` puts the working directory, maybe the checkout, first on sys.path.
    env = _clean_env(AIRFLOW_HOME=str(tmp_path / "airflow-home"))
    where = _run([str(python), "-c", "import airflow_provider_slack_audit as p; print(p.__file__)"],
                 env=env, cwd=tmp_path)  # fmt: skip
    assert Path(where.stdout.strip()).is_relative_to(venv), "the provider must come from the wheel"

    listed = _run([str(venv / "bin" / "airflow"), "providers", "list", "--output", "json"], env=env, cwd=tmp_path)
    providers = {p["package_name"]: p["version"] for p in json.loads(listed.stdout)}
    assert providers.get("airflow-provider-slack-audit") == VERSION, providers

    emulator = venv / "bin" / "slack-audit-emulator"
    assert emulator.exists()
    assert "usage" in _run([str(emulator), "--help"], env=env, cwd=tmp_path).stdout.lower()
    # the emulator's action table is package data: it ships in the wheel
    actions = "from airflow_provider_slack_audit.emulator.catalog import KNOWN_ACTIONS; print(len(KNOWN_ACTIONS))"
    assert int(_run([str(python), "-c", actions], env=env, cwd=tmp_path).stdout) > 200
