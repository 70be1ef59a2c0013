"""One real Airflow 3 deployment (and one emulator) shared by the LocalExecutor tests of this package, and the
PostgreSQL server that it and the Celery deployment (``test_celery_deployment.py``) run on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from airflow_provider_slack_audit.emulator.server import Emulator
from tests.deployment.examples import CONN_ID, EXPORT_DAG, SENSOR_DAG, dag_files
from tests.deployment.harness import Deployment
from tests.fixtures.postgres import INSTALL_HINT, PostgresServer, postgres_bin


@pytest.fixture(scope="package")
def emulator() -> Iterator[Emulator]:
    """The emulator as Slack: data from 2024-01-01 up to now (a live stream), no rate limit."""
    emu = Emulator(rate_limit=0, end="now").start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture(scope="package")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of the deployment's own on loopback; the tests skip, saying why, where there is none."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip(f"the deployment tests run Airflow on PostgreSQL, which is not installed: {INSTALL_HINT}")
    server = PostgresServer(bin_dir)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="package")
def airflow_database(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], str]:
    """``new(name)``: the URL of a new metadata database ``name`` on the package's server, migrated already.

    Each is a copy (``CREATE DATABASE ... TEMPLATE``, a fraction of a second) of one database that ``airflow
    db migrate`` migrated once for the whole package, so the package's deployments do not each migrate one.
    """
    import sqlalchemy

    template = "airflow_migrated"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        AIRFLOW_HOME=str(tmp_path_factory.mktemp("migrate-home")),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=postgres.create_database(template),
        AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS="False",  # Airflow 2.11's; none to copy into deployments
    )
    migrate = [sys.executable, "-m", "airflow", "db", "migrate"]
    done = subprocess.run(migrate, env=env, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"airflow db migrate exited {done.returncode}:\n{done.stdout}\n{done.stderr}")

    def new(name: str) -> str:
        engine = sqlalchemy.create_engine(postgres.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        finally:
            engine.dispose()
        return postgres.url(name)

    return new


@pytest.fixture(scope="package")
def deployment(
    emulator: Emulator, airflow_database: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """Airflow 3.3 api-server, scheduler, dag-processor and triggerer on a fresh home and a new PostgreSQL
    database; stopped whatever happens.

    ``slack_audit_default`` is created through the REST API (stored in the database, as from the UI) and
    points at the emulator; the export DAG writes under ``<root>/export``.
    """
    root = tmp_path_factory.mktemp("deployment")
    export_root = root / "export"
    deployment = Deployment(
        root=root,
        dag_files=dag_files(),
        database_url=airflow_database("airflow"),
        env={"AIRFLOW_VAR_SLACK_AUDIT_EXPORT_ROOT": f"file://{export_root}"},
        migrated=True,
    )
    deployment.export_root = export_root  # type: ignore[attr-defined]
    begun = time.monotonic()
    try:
        deployment.start()
        deployment.api(
            "POST",
            "/connections",
            {
                "connection_id": CONN_ID,
                "conn_type": "slack_audit",
                "password": emulator.token,
                "extra": json.dumps({"base_url": emulator.base_url}),
            },
        )
        deployment.wait_for_dags([EXPORT_DAG, SENSOR_DAG], timeout=180)
        deployment.timings["ready"] = time.monotonic() - begun
        yield deployment
    finally:
        deployment.stop()
        print(f"\ndeployment timings (s): { {k: round(v, 1) for k, v in deployment.timings.items()} }")
