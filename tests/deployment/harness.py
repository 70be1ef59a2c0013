"""A real Airflow 3 deployment on loopback for the deployment tests: its processes, its REST API, its files.

:class:`Deployment` starts what a user runs (``airflow api-server``, ``scheduler``, ``dag-processor``,
``triggerer``), each in a process group of its own, with LocalExecutor on a PostgreSQL database of
its own (as a deployment runs; SQLite is for one process at a time) and a fresh ``AIRFLOW_HOME``, and
stops them all whatever happens (SIGTERM to each group, SIGKILL after a bounded
wait). Every wait here is bounded and says what it waited for when it gives up, with the tail of the
component logs that explain why.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

#: The components a user starts, as ``airflow <args>``.
COMPONENTS: dict[str, list[str]] = {
    "api-server": ["api-server", "--workers", "1"],
    "scheduler": ["scheduler"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer"],
}
TERMINAL_TI_STATES = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})


class DeploymentError(AssertionError):
    """The deployment did not do what a test waited for."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(
    what: str,
    check: Callable[[], T],
    timeout: float,
    *,
    interval: float = 0.5,
    explain: Callable[[], str] | None = None,
) -> T:
    """Call ``check`` until it returns something truthy; fail after ``timeout`` seconds naming ``what``.

    :param explain: called on failure for what helps to understand it (e.g. the tails of the component logs).
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = check()
        except (OSError, DeploymentError, KeyError, ValueError) as exc:  # not up yet, not there yet
            value, last_error = None, exc
        if value:
            return value
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            more = f"\n{explain()}" if explain else ""
            raise DeploymentError(f"timed out after {timeout:.0f} s waiting for {what}{detail}{more}")
        time.sleep(interval)


@dataclass
class Deployment:
    """Airflow 3 processes sharing one fresh home under ``root``, reachable at ``base_url``.

    :param root: an empty folder that holds the Airflow home, the DAGs folder, the logs and the export.
    :param dag_files: DAG files to put in the DAGs folder, by file name (the text of each).
    :param database_url: the SQLAlchemy URL of the metadata database, an empty one on a server
        that every component reaches (``tests/fixtures/postgres.py`` makes one).
    :param env: more environment for every component (connections, variables, settings).
    :param components: the processes to start, by name, as ``airflow <args>`` (default: :data:`COMPONENTS`).
    :param executor: ``[core] executor`` of every component.
    :param migrated: the database is migrated already (a copy of a migrated one): :meth:`start` does not
        run ``airflow db migrate``.
    """

    root: Path
    dag_files: dict[str, str]
    database_url: str
    env: dict[str, str] = field(default_factory=dict)
    components: dict[str, list[str]] = field(default_factory=lambda: dict(COMPONENTS))
    executor: str = "LocalExecutor"
    migrated: bool = False
    port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    _token: str | None = None
    _secrets: dict[str, str] = field(default_factory=dict)

    @property
    def home(self) -> Path:
        return self.root / "airflow-home"

    @property
    def dags_folder(self) -> Path:
        return self.root / "dags"

    @property
    def logs(self) -> Path:
        return self.root / "component-logs"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def component_env(self) -> dict[str, str]:
        """The environment of every component and CLI call: a user's ``airflow.cfg`` as variables."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))}
        env.pop("AIRFLOW_CONFIG", None)
        if not self._secrets:  # one Fernet key and JWT secret for every process of the deployment
            from cryptography.fernet import Fernet

            self._secrets = {
                "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            }
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": self.executor,
                "AIRFLOW__CORE__PARALLELISM": "4",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
                # A deployment with a triggerer: operators that can wait there do (the exports' settle wait).
                "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.database_url,
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__BASE_URL": self.base_url,
                # A test deployment reacts in seconds, not in the minutes a production one may take.
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "10",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
                "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.root / "task-logs"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self._secrets)
        env.update(self.env)
        return env

    # ------------------------------------------------------------------ lifecycle
    def airflow(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run ``airflow <args>`` as a user would in this deployment's environment; fail with its output."""
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "airflow", *args],
            env=self.component_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        self.timings[f"airflow {args[0]}"] = time.monotonic() - started
        if proc.returncode != 0:
            raise DeploymentError(f"airflow {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def start(self) -> Deployment:
        """Migrate the database (unless :attr:`migrated`), then start every component; return once it is ready."""
        started = time.monotonic()
        for folder in (self.home, self.dags_folder, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
        for name, text in self.dag_files.items():
            (self.dags_folder / name).write_text(text)
        if not self.migrated:
            self.airflow("db", "migrate", timeout=300)
        env = self.component_env()
        for name in self.components:
            self._launch(name, env)
        self.wait_until_ready()
        self.timings["start"] = time.monotonic() - started
        return self

    def wait_until_ready(self) -> None:
        """Return once the deployment takes work: here, once its API answers."""
        wait_for("the API server to answer /api/v2/version", self._api_up, timeout=180, explain=self.log_tails)

    def _launch(self, name: str, env: dict[str, str]) -> None:
        """Start component ``name``; its output goes to (the end of) ``logs/<name>.log``."""
        with open(self.logs / f"{name}.log", "ab") as out:  # the child keeps its own descriptor
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "airflow", *self.components[name]],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a process group of its own: stop() ends it with its workers
            )

    def kill(self, name: str) -> None:
        """SIGKILL component ``name`` and its children at once, as the OOM killer or a lost node would."""
        proc = self.processes[name]
        _signal_group(proc, signal.SIGKILL)
        proc.wait(timeout=30)

    def restart(self, name: str) -> int:
        """Start component ``name`` again (after :meth:`kill`); returns its log's size before, where its new
        output begins."""
        if self.processes[name].poll() is None:
            raise DeploymentError(f"airflow {name} is still running: kill it first")
        begins = (self.logs / f"{name}.log").stat().st_size
        self._launch(name, self.component_env())
        return begins

    def log_since(self, name: str, offset: int) -> str:
        """What component ``name`` logged from byte ``offset`` on."""
        with open(self.logs / f"{name}.log", "rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def sql(self, statement: str, **params: Any) -> list[tuple]:
        """The rows of a read-only SQL ``statement`` (with ``:name`` placeholders for ``params``) on the
        metadata database, for state no API shows."""
        import sqlalchemy

        engine = sqlalchemy.create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.execute(sqlalchemy.text(statement), params)]
        finally:
            engine.dispose()

    def _api_up(self) -> bool:
        self.check_alive()
        with urllib.request.urlopen(f"{self.base_url}/api/v2/version", timeout=5) as resp:
            return resp.status == 200

    def check_alive(self) -> None:
        """Fail when a component has exited (it should run until stop())."""
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                raise DeploymentError(f"airflow {name} exited with {proc.returncode}:\n{self.log_tail(name)}")

    def stop(self, grace: float = 20) -> None:
        """SIGTERM every component's process group, SIGKILL what is left after ``grace`` seconds."""
        for proc in self.processes.values():
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for proc in self.processes.values():
            _signal_group(proc, signal.SIGKILL)  # the group's children too (task runners, gunicorn workers)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)

    # ------------------------------------------------------------------ logs
    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.logs / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def log_tails(self) -> str:
        return "\n".join(f"--- {name} ---\n{self.log_tail(name)}" for name in self.components)

    def component_logs(self) -> str:
        """Everything every component wrote, for checks on what users read."""
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logs.glob("*.log")))

    def task_logs(self, run_id: str | None = None) -> str:
        """Every task attempt's log file (of the run ``run_id`` only, when given)."""
        folder = self.root / "task-logs"
        paths = [p for p in sorted(folder.rglob("*.log")) if run_id is None or f"run_id={run_id}" in str(p)]
        return "\n".join(p.read_text(errors="replace") for p in paths)

    # ------------------------------------------------------------------ REST API
    def token(self) -> str:
        """A JWT from the simple auth manager (every user an admin in this deployment)."""
        if self._token is None:
            body = self._call("GET", "/auth/token", auth=False)
            self._token = body["access_token"]
        return self._token

    def api(self, method: str, path: str, body: Any = None, *, expect: Iterable[int] = (200, 201, 204)) -> Any:
        """Call ``/api/v2<path>`` with the JWT; fail on any status outside ``expect``."""
        return self._call(method, f"/api/v2{path}", body, expect=tuple(expect))

    def api_status(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """``(status, decoded body)`` of ``/api/v2<path>``, whatever the status."""
        try:
            return 200, self._call(method, f"/api/v2{path}", body, expect=(200, 201, 204))
        except _HttpError as exc:
            return exc.status, exc.body

    def _call(self, method: str, path: str, body: Any = None, *, auth: bool = True, expect=(200, 201, 204)) -> Any:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=90) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        decoded = json.loads(raw) if raw else None
        if status not in expect:
            raise _HttpError(method, path, status, decoded)
        return decoded

    # ------------------------------------------------------------------ DAGs, runs, task instances
    def wait_for_dags(self, dag_ids: Iterable[str], timeout: float = 120) -> None:
        """Wait until the DAG processor has parsed these DAGs without import errors."""
        wanted = set(dag_ids)

        def parsed() -> bool:
            self.check_alive()
            errors = self.api("GET", "/importErrors")["import_errors"]
            if errors:
                raise DeploymentError(f"import errors: {errors}")
            found = {d["dag_id"] for d in self.api("GET", "/dags?limit=100")["dags"]}
            return wanted <= found

        wait_for(f"the DAGs {sorted(wanted)} to be parsed", parsed, timeout, interval=1, explain=self.log_tails)

    def unpause(self, dag_id: str) -> None:
        self.api("PATCH", f"/dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, run_id: str, start: int, end: int) -> dict[str, Any]:
        """Start a manual run that owns ``[start, end)`` (epoch seconds)."""
        return self.api(
            "POST",
            f"/dags/{dag_id}/dagRuns",
            {
                "dag_run_id": run_id,
                "logical_date": _iso(start),
                "data_interval_start": _iso(start),
                "data_interval_end": _iso(end),
            },
        )

    def task_instance(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        quoted = urllib.parse.quote(run_id, safe="")
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{quoted}/taskInstances/{task_id}")

    def ti_state(self, dag_id: str, run_id: str, task_id: str) -> str | None:
        try:
            return self.task_instance(dag_id, run_id, task_id)["state"]
        except _HttpError as exc:
            if exc.status == 404:
                return None
            raise

    def wait_for_ti(
        self, dag_id: str, run_id: str, task_id: str, states: Iterable[str], timeout: float, seen: list | None = None
    ) -> str:
        """Wait until the task instance is in one of ``states``; ``seen`` collects every state observed."""
        wanted = set(states)

        def reached() -> str | None:
            self.check_alive()
            state = self.ti_state(dag_id, run_id, task_id)
            if seen is not None and (not seen or seen[-1] != state):
                seen.append(state)
            return state if state in wanted else None

        return wait_for(
            f"{dag_id}/{run_id}/{task_id} to reach {sorted(wanted)}",
            reached,
            timeout,
            interval=0.5,
            explain=lambda: f"states seen: {seen}\n{self.log_tails()}",
        )

    def fail_scheduled_runs(self, dag_id: str) -> None:
        """Mark the DAG's unfinished scheduled runs failed (those the scheduler made when it was unpaused)."""
        for run in self.dag_runs(dag_id):
            if run["run_type"] == "scheduled" and run["state"] in ("queued", "running"):
                quoted = urllib.parse.quote(run["dag_run_id"], safe="")
                self.api("PATCH", f"/dags/{dag_id}/dagRuns/{quoted}", {"state": "failed"})

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        return self.api("GET", f"/dags/{dag_id}/dagRuns?limit=100")["dag_runs"]


class _HttpError(DeploymentError):
    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        super().__init__(f"{method} {path} answered HTTP {status}: {body}")
        self.status = status
        self.body = body


def _iso(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)  # the pid is the group id: start_new_session=True
