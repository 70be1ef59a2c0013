"""A real CeleryExecutor deployment on loopback: :class:`CeleryDeployment`, on Airflow 3 and on Airflow 2.11.

What a distributed user runs: the metadata database on PostgreSQL, Redis as Celery's broker and result
backend, the scheduler, the DAG processor, the triggerer and two Celery workers (``airflow celery worker``,
each with a ``--celery-hostname`` of its own, as two machines would have), plus the API server on Airflow 3,
whose execution API the workers' tasks report to. Airflow 2.11's tasks write to the database themselves:
nothing in that deployment talks to a webserver, so none is started, and the tests read the state from the
database (:meth:`CeleryDeployment.dag_runs_in_db`, :meth:`CeleryDeployment.task_instances_in_db`), which
reads the same on both versions.

Which worker ran a task instance is Celery's own record: the result backend keeps, with ``result_extended``,
the hostname of the worker that ran each Celery task, and the task instance's ``external_executor_id`` is
that Celery task's id (:meth:`CeleryDeployment.worker_of`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from tests.deployment.harness import COMPONENTS, Deployment, DeploymentError, _iso, wait_for
from tests.fixtures.dag_runs import AIRFLOW_3

#: The workers' ``--celery-hostname``: ``<name>@<this machine's hostname>`` (Celery expands ``%h``).
WORKERS = ("slack-audit-worker-1", "slack-audit-worker-2")
#: Task slots per worker: the workers together run a backfill's six export tasks (three hours of two orgs) at
#: once, each mostly waiting for its org's budget.
WORKER_CONCURRENCY = 3
#: ``airflow dags trigger`` for several logical dates in one process (Airflow 2.11): DAG id, then epoch seconds.
_TRIGGER_RUNS = """
import sys
from datetime import datetime, timezone

from airflow.api.common.trigger_dag import trigger_dag

dag_id, *dates = sys.argv[1:]
for date in dates:
    trigger_dag(dag_id, execution_date=datetime.fromtimestamp(int(date), tz=timezone.utc))
"""


@dataclass
class CeleryDeployment(Deployment):
    """:class:`Deployment` with ``CeleryExecutor``, Redis as broker and result backend, and Celery workers.

    :param broker_url: the Celery broker, a ``redis://`` URL of a database nothing else uses.
    :param result_backend: Celery's result backend, a ``redis://`` URL of another database.
    :param workers: the ``--celery-hostname`` names of the workers to start (one process each).
    """

    broker_url: str = ""
    result_backend: str = ""
    workers: tuple[str, ...] = WORKERS
    executor: str = "CeleryExecutor"

    def __post_init__(self) -> None:
        if not self.broker_url.startswith("redis://") or not self.result_backend.startswith("redis://"):
            raise ValueError("give broker_url and result_backend as redis:// URLs (tests/fixtures/redis.py)")
        # Airflow 2.11 has no api-server; its DAG processor runs on its own only when told to.
        self.components = {k: v for k, v in COMPONENTS.items() if AIRFLOW_3 or k != "api-server"}
        for name in self.workers:
            self.components[name] = [
                "celery", "worker", "--celery-hostname", f"{name}@%h",
                "--concurrency", str(WORKER_CONCURRENCY),
                # Two workers in one home: a pid file each. They share this machine's log folder, so the
                # log server each would start (on one port) is not needed to read their task logs.
                "--pid", str(self.home / f"{name}.pid"), "--skip-serve-logs",
            ]  # fmt: skip

    def component_env(self) -> dict[str, str]:
        env = super().component_env()
        env.update(
            {
                "AIRFLOW__CELERY__BROKER_URL": self.broker_url,
                "AIRFLOW__CELERY__RESULT_BACKEND": self.result_backend,
                # The result of each Celery task names the worker that ran it (see worker_of).
                "AIRFLOW__CELERY__EXTRA_CELERY_CONFIG": json.dumps({"result_extended": True}),
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
                "AIRFLOW__CORE__PARALLELISM": str(WORKER_CONCURRENCY * len(self.workers)),
            }
        )
        if not AIRFLOW_3:
            env["AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR"] = "True"
        env.update(self.env)  # the caller's settings win
        return env

    def wait_until_ready(self) -> None:
        """The API (Airflow 3) answers and every worker has told Celery it is ready."""
        if AIRFLOW_3:
            super().wait_until_ready()

        def workers_ready() -> bool:
            self.check_alive()
            return all(f"{name}@" in (log := self.log_tail(name, 200)) and " ready." in log for name in self.workers)

        wait_for("the Celery workers to be ready", workers_ready, timeout=180, explain=self.log_tails)

    # ------------------------------------------------------------------ DAGs and runs, the same on both versions
    def wait_for_dags_in_db(self, dag_ids: set[str], timeout: float = 180) -> None:
        """Wait until the DAG processor has serialised these DAGs; fail at once on an import error."""

        def parsed() -> bool:
            self.check_alive()
            errors = self.sql("SELECT filename, stacktrace FROM import_error")
            if errors:
                raise AssertionError(f"import errors: {errors}")  # not retried by wait_for
            return dag_ids <= {row[0] for row in self.sql("SELECT dag_id FROM serialized_dag")}

        wait_for(f"the DAGs {sorted(dag_ids)} to be parsed", parsed, timeout, interval=1, explain=self.log_tails)

    def backfill(self, dag_id: str, first: int, last: int) -> None:
        """Run ``dag_id`` for the hours that start from ``first`` to ``last`` (epoch seconds, inclusive).

        Airflow 3: a backfill, as a user makes one (``POST /api/v2/backfills``); the scheduler runs it.
        Airflow 2.11's backfill (``airflow dags backfill``) runs in a CLI process of its own and deadlocks on a
        task mapped over an upstream task's output, as the many-orgs example's export is (apache/airflow#33994,
        never fixed in 2.x): there the runs are made as ``airflow dags trigger`` makes them (one manual run per
        hour, which owns the hour that ends at its logical date), and the scheduler runs them.
        """
        if AIRFLOW_3:
            self.api("POST", "/backfills", {"dag_id": dag_id, "from_date": _iso(first), "to_date": _iso(last)})
            return
        ends = [str(start + 3600) for start in range(first, last + 1, 3600)]
        made = subprocess.run(
            [sys.executable, "-c", _TRIGGER_RUNS, dag_id, *ends], env=self.component_env(), capture_output=True,
            text=True, timeout=120, check=False,
        )  # fmt: skip
        if made.returncode != 0:
            raise DeploymentError(f"triggering {dag_id} exited {made.returncode}:\n{made.stdout}\n{made.stderr}")

    def dag_runs_in_db(self, dag_id: str) -> list[dict[str, Any]]:
        """Every run of ``dag_id``: ``run_id``, ``run_type``, ``state`` and ``start`` (its data interval's
        start, epoch seconds; None for a run without one, as an asset-triggered run of Airflow 3)."""
        rows = self.sql(
            "SELECT run_id, run_type, state, data_interval_start FROM dag_run "
            "WHERE dag_id = :dag_id ORDER BY data_interval_start",
            dag_id=dag_id,
        )
        return [
            {"run_id": r, "run_type": t, "state": s, "start": None if d is None else int(d.timestamp())}
            for r, t, s, d in rows
        ]

    def wait_for_runs(self, dag_id: str, starts: list[int], timeout: float) -> list[dict[str, Any]]:
        """Wait until the runs of ``dag_id`` whose intervals start at ``starts`` have all finished; return them."""

        def finished() -> list[dict[str, Any]] | None:
            self.check_alive()
            runs = [r for r in self.dag_runs_in_db(dag_id) if r["start"] in starts]
            done = len(runs) == len(starts) and all(r["state"] in ("success", "failed") for r in runs)
            return runs if done else None

        return wait_for(
            f"the runs of {dag_id} starting at {starts} to finish", finished, timeout, interval=1,
            explain=lambda: f"runs: {self.dag_runs_in_db(dag_id)}\n{self.log_tails()}",
        )  # fmt: skip

    def task_instances_in_db(self, dag_id: str) -> list[dict[str, Any]]:
        """Every task instance of ``dag_id``: ids, ``state``, ``try_number`` and ``external_executor_id``."""
        rows = self.sql(
            "SELECT task_id, run_id, map_index, state, try_number, external_executor_id FROM task_instance "
            "WHERE dag_id = :dag_id ORDER BY run_id, task_id, map_index",
            dag_id=dag_id,
        )
        keys = ("task_id", "run_id", "map_index", "state", "try_number", "external_executor_id")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def worker_of(self, external_executor_id: str) -> str:
        """The ``--celery-hostname`` (without ``@host``) of the worker that ran this Celery task, from the
        result backend."""
        import redis

        client = redis.Redis.from_url(self.result_backend)
        try:
            raw = client.get(f"celery-task-meta-{external_executor_id}")
        finally:
            client.close()
        if raw is None:
            raise DeploymentError(f"Celery's result backend has no result for task {external_executor_id}")
        return str(json.loads(raw)["worker"]).split("@", 1)[0]

    def wait_for_worker_results(self, tis: list[dict[str, Any]], timeout: float = 60) -> dict[tuple, str]:
        """``(task_id, run_id, map_index) -> worker`` for these finished task instances, once Celery has
        stored the result of each (a worker stores it just after the task's process ends)."""

        def stored() -> dict[tuple, str]:
            return {(t["task_id"], t["run_id"], t["map_index"]): self.worker_of(t["external_executor_id"]) for t in tis}

        return wait_for("Celery's results of the task instances", stored, timeout, interval=0.5)
