"""The token never leaks: real DAG runs with a distinctive token, every trace of them scanned.

Two ``dag.test()`` runs against an emulator that accepts only the canary token: one whose export
survives faults (retries, a rejected cursor, repeated entries) next to an XCom task and a task whose
connection holds a second, wrong canary token (refused by Slack); one whose export fails past its
retries. Then neither token may appear in any log record (DEBUG included), stdout or stderr, task
log file, XCom value, rendered template field, row of the metadata database, request URL, exception
message or repr. Both runs double as the ``dag.test()`` part of the fault matrix.

That the ``Authorization`` header is not sent to another host after a redirect is proved against
a real server in ``tests/client/test_client_loopback.py::test_the_token_goes_to_the_api_host_only``.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from reliability_helpers import SUMMARY, RunResult, fails_for_good, interval_context, record
from sqlalchemy import text

from airflow_provider_slack_audit.client import SlackAuditLogsAuthError, SlackAuditLogsError
from airflow_provider_slack_audit.hooks.slack_audit import SlackAuditLogsHook
from airflow_provider_slack_audit.operators.slack_audit import (
    SlackAuditLogsOperator,
    SlackAuditLogsToObjectStorageOperator,
)
from tests.fixtures.dag_runs import hourly_dag, run_dag

pytestmark = [pytest.mark.airflow, pytest.mark.e2e]

#: Distinctive and new in every session, so nothing an earlier session left in the database can match.
CANARY = f"xoxp-1111111111-2222222222-{uuid.uuid4().hex}-leak-canary"
WRONG_CANARY = f"xoxp-3333333333-4444444444-{uuid.uuid4().hex}-wrong-canary"
SECRETS = (CANARY, WRONG_CANARY)
H0 = datetime(2024, 3, 5, 10, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
KEY = "{{ data_interval_start.int_timestamp }}.jsonl"
EXTRAS = {"max_retries": 3, "max_retry_wait": 0.01, "timeout": 2}


def assert_clean(where: str, content: object) -> None:
    data = content if isinstance(content, str) else repr(content)
    for secret in SECRETS:
        assert secret not in data, f"the token appears in {where}"


@pytest.fixture
def canary_emulator(slack_audit_emulator_factory, monkeypatch):
    emu = slack_audit_emulator_factory(token=CANARY)
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_AUDIT_DEFAULT", emu.airflow_conn_json(extra=EXTRAS))
    wrong = json.loads(emu.airflow_conn_json(extra=EXTRAS))
    wrong["password"] = WRONG_CANARY
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_AUDIT_WRONG", json.dumps(wrong))
    return emu


def metadata_rows(dag_ids: tuple[str, ...]) -> dict[str, list[str]]:
    """The XCom values and rendered template fields these DAGs left in Airflow's metadata database."""
    from airflow.utils.session import create_session

    rows: dict[str, list[str]] = {}
    with create_session() as session:
        for table, column in (("xcom", "value"), ("rendered_task_instance_fields", "rendered_fields")):
            found = session.execute(
                text(f"SELECT {column} FROM {table} WHERE dag_id IN :ids").bindparams(  # noqa: S608 (fixed names)
                    __import__("sqlalchemy").bindparam("ids", expanding=True)
                ),
                {"ids": list(dag_ids)},
            ).fetchall()
            rows[table] = [r[0].decode("utf-8", "replace") if isinstance(r[0], bytes) else str(r[0]) for r in found]
    return rows


def database_files() -> list[Path]:
    from airflow.configuration import conf

    url = conf.get("database", "sql_alchemy_conn")
    assert url.startswith("sqlite:///"), url
    db = Path(url.removeprefix("sqlite:///").split("?", 1)[0])
    return [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-journal")) if p.exists()]


def test_dag_runs_with_faults_and_failures_leak_no_token(airflow_db, canary_emulator, tmp_path, caplog, capfd):
    emu = canary_emulator
    caplog.set_level(logging.DEBUG)  # the client's DEBUG lines show headers and bodies: the riskiest ones
    started = time.time()
    oldest = int(H0.timestamp())

    with hourly_dag("reliability_leak_ok", H0) as ok_dag:
        SlackAuditLogsToObjectStorageOperator(task_id="export", path=f"file://{tmp_path}/ok/{KEY}", page_size=100)
        SlackAuditLogsOperator(task_id="xcom", action="user_login", page_size=100)
        SlackAuditLogsToObjectStorageOperator(
            task_id="wrong_token", slack_audit_conn_id="slack_audit_wrong", path=f"file://{tmp_path}/wrong/{KEY}"
        )
    emu.faults.add("http_503", count=2)
    emu.faults.add("reset", on_call=4)
    emu.faults.add("rate_limit_burst", on_call=6)
    emu.faults.add("reject_cursor", on_call=3)
    emu.faults.add("duplicate_entries", count=None, duplicates=7)
    dag_run, states = run_dag(ok_dag, H0 + HOUR)
    assert states == {"export": "success", "xcom": "success", "wrong_token": "failed"}
    fired_ok = sum(emu.faults.fired.values())
    emu.faults.clear()
    expected = [e["id"] for e in emu.events(oldest, oldest + 3599)]
    ok = RunResult(tmp_path / "ok" / f"{oldest}.jsonl", oldest, oldest + 3599, expected, faults=fired_ok)
    ok.summary = dag_run.get_task_instance("export").xcom_pull(task_ids="export")
    record(SUMMARY.tally("fault matrix"), ok)
    assert not (tmp_path / "wrong").exists() or not any((tmp_path / "wrong").iterdir())

    with hourly_dag("reliability_leak_failed", H0) as failed_dag:
        SlackAuditLogsToObjectStorageOperator(task_id="export", path=f"file://{tmp_path}/failed/{KEY}", page_size=100)
    emu.faults.add("http_502", skip=2, count=None)
    _, states = run_dag(failed_dag, H0 + HOUR)
    assert states == {"export": "failed"}
    failed = RunResult(tmp_path / "failed" / f"{oldest}.jsonl", oldest, oldest + 3599, expected, error=Exception())
    failed.faults = sum(emu.faults.fired.values())
    record(SUMMARY.tally("fault matrix"), failed)

    # The runs really went through the paths that could leak: retries, refusals, failures, DEBUG lines.
    log_text = caplog.text
    assert "retry 1 of 3" in log_text
    assert "invalid_authentication" in log_text
    assert "Sending GET" in log_text
    captured = capfd.readouterr()

    for record_ in caplog.records:
        assert_clean(f"log record {record_.name}", record_.getMessage())
        assert_clean(f"log record {record_.name} args", record_.args)
        if record_.exc_info:
            assert_clean("a logged exception", logging.Formatter().formatException(record_.exc_info))
    assert_clean("caplog text", log_text)
    assert_clean("stdout", captured.out)
    assert_clean("stderr", captured.err)

    log_folder = Path(os.environ["AIRFLOW_HOME"]) / "logs"
    for path in log_folder.rglob("*") if log_folder.exists() else ():
        if path.is_file() and path.stat().st_mtime >= started - 1:
            assert_clean(f"task log file {path}", path.read_text(errors="replace"))

    rows = metadata_rows(("reliability_leak_ok", "reliability_leak_failed"))
    assert any(f"{oldest}.jsonl" in value for value in rows["xcom"])  # the export's summary is there
    assert any(f"{oldest}.jsonl" in value for value in rows["rendered_task_instance_fields"])
    for table, values in rows.items():
        for value in values:
            assert_clean(f"{table} row", value)
    for path in database_files():
        data = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in data, f"the token is stored in {path.name}"

    for request in emu.all_requests:
        assert_clean("a request's endpoint or query", (request.endpoint, request.params))


def test_errors_reprs_and_pickles_hold_no_token(canary_emulator, monkeypatch, tmp_path):
    emu = canary_emulator
    context = interval_context(int(H0.timestamp()), int(H0.timestamp()) + 599)
    wrong = SlackAuditLogsToObjectStorageOperator(
        task_id="wrong", slack_audit_conn_id="slack_audit_wrong", path=f"file://{tmp_path}/w.jsonl"
    )
    with fails_for_good(SlackAuditLogsAuthError) as failed:
        wrong.execute(context)
    emu.faults.add("http_500", count=None, skip=1)
    failing = SlackAuditLogsToObjectStorageOperator(task_id="failing", path=f"file://{tmp_path}/f.jsonl", page_size=50)
    with pytest.raises(SlackAuditLogsError) as gave_up:
        failing.execute(context)
    emu.faults.clear()
    emu.faults.add("reset", count=None)
    with pytest.raises(SlackAuditLogsError) as no_answer:
        failing.execute(context)

    hook = SlackAuditLogsHook()
    client = hook.client
    settings = hook.get_connection_settings()
    assert settings.token == CANARY  # the objects scanned below hold the token
    refused = failed.value.__cause__
    assert_clean("the task's failure", (str(failed.value), repr(failed.value), pickle.dumps(failed.value)))
    for error in (refused, gave_up.value, no_answer.value):
        assert_clean("an error message", str(error))
        assert_clean("an error repr", repr(error))
        assert_clean("a pickled error", pickle.dumps(error))
        assert_clean("the error's response", (repr(error.response), getattr(error.response, "url", "")))
        cause = error.__cause__
        assert_clean("the error's cause", (str(cause), repr(cause)))
    for obj in (hook, client, settings, wrong, failing, emu, hook.test_connection()):
        assert_clean(f"repr of {type(obj).__name__}", repr(obj))
    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_AUDIT_DEFAULT", emu.airflow_conn_json(extra={"base_url": "http://127.0.0.1:9/audit/v1/"})
    )
    assert_clean("a failed connection test", SlackAuditLogsHook().test_connection())
