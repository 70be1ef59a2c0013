"""The command line: start on a free port, print the base URL, stop cleanly on SIGTERM / Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from airflow_provider_slack_audit.emulator.__main__ import build_parser

VENV_BIN = Path(sys.executable).parent


def _start(*args: str, module: bool = True, **popen) -> subprocess.Popen:
    command = (
        [sys.executable, "-m", "airflow_provider_slack_audit.emulator"]
        if module
        else [str(VENV_BIN / "slack-audit-emulator")]
    )
    return subprocess.Popen(
        [*command, "--port", "0", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen
    )


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_ctrl_c_stops_it_even_when_started_with_sigint_ignored():
    """A shell starts a background job (``slack-audit-emulator &`` in a script, a CI step) with SIGINT
    ignored, and Python then installs no KeyboardInterrupt handler: the emulator still stops on SIGINT."""
    proc = _start("--rate-limit", "0", preexec_fn=_ignore_sigint)
    try:
        assert proc.stdout.readline().strip().endswith("/audit/v1/")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "slack-audit-emulator: stopped" in err


@pytest.mark.parametrize(("module", "sig"), [(True, signal.SIGTERM), (False, signal.SIGINT)])
def test_cli_serves_and_stops_cleanly(module, sig):
    if not module and not (VENV_BIN / "slack-audit-emulator").exists():
        pytest.skip("console script not installed (run: uv pip install -e .)")
    proc = _start("--rate-limit", "0", "--token", "xoxp-cli-test-token", "--seed", "3", module=module)
    try:
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        assert base_url.endswith("/audit/v1/")
        assert requests.get(base_url + "schemas", timeout=10).status_code == 200
        logs = requests.get(
            base_url + "logs",
            params={"oldest": 1709632800, "latest": 1709632860},
            headers={"Authorization": "Bearer xoxp-cli-test-token"},
            timeout=10,
        )
        assert logs.status_code == 200
        assert logs.json()["entries"]
    finally:
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "stopped" in err
    assert "xoxp-cli-test-token" not in err


def test_cli_default_rate_limit_is_tier_3_and_faults_apply():
    proc = _start("--fault", "http_503:count=1", "--rate-limit-burst", "2")
    try:
        base_url = proc.stdout.readline().strip()
        codes = [requests.get(base_url + "schemas", timeout=10).status_code for _ in range(3)]
        headers = {"Authorization": "Bearer xoxp-x"}
        first_logs = requests.get(base_url + "logs", headers=headers, timeout=10)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    assert codes == [200, 200, 429]  # 50/min with a burst of 2
    assert first_logs.status_code == 503


def test_defaults_and_bad_options():
    args = build_parser().parse_args([])
    assert (args.host, args.port, args.rate_limit) == ("127.0.0.1", 8765, 50)
    proc = subprocess.run(
        [sys.executable, "-m", "airflow_provider_slack_audit.emulator", "--fault", "explode"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "unknown fault kind" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "airflow_provider_slack_audit.emulator", "--start", "last tuesday"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "ISO-8601" in proc.stderr


def test_emulator_imports_neither_airflow_nor_the_client():
    """The pytest plugin loads in every pytest run, before Airflow is configured."""
    code = (
        "import sys\n"
        "import airflow_provider_slack_audit.emulator.pytest_plugin\n"
        "from airflow_provider_slack_audit.emulator import Emulator\n"
        "with Emulator() as emu:\n"
        "    emu.events(1709632800, 1709632810)\n"
        "bad = [m for m in sys.modules if m == 'airflow' or m.startswith(('airflow.', 'slack_sdk', "
        "'airflow_provider_slack_audit.client', 'requests'))]\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
