"""SlackAuditLogsSensor: its arguments, its event handling, and real DAG runs in all three modes.

The DAG runs use ``dag.test()`` on the suite's SQLite metadata database against the emulator.
``dag.test()`` in Airflow 3 runs a deferred task's trigger in line, in the same process.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from airflow.providers.common.compat.sdk import (
    DAG,
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    task,
)

from airflow_provider_slack_audit.sensors.slack_audit import SlackAuditLogsSensor
from airflow_provider_slack_audit.triggers.slack_audit import SlackAuditLogsTrigger
from tests.fixtures.dag_runs import AIRFLOW_3, hourly_dag, run_dag

H0 = datetime(2024, 3, 1, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
OLDEST = int(H0.timestamp())
LATEST = OLDEST + 3599
#: dag.test(logical_date=RUN_AT) of an hourly DAG owns [H0, H0 + 1h): OLDEST..LATEST.
RUN_AT = H0 + HOUR
RISKY = ["app_installed", "role_change_to_admin", "role_change_to_owner", "role_assigned"]
LOGIN = "user_login"


# --------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"min_events": 0}, "min_events=0"),
        ({"min_events": "3"}, "min_events='3'"),
        ({"max_events_returned": -1}, "max_events_returned=-1"),
        ({"poll_interval": 0}, "poll_interval=0"),
    ],
)
def test_bad_arguments_fail_at_parse_time_with_the_fix(kwargs, needle):
    with pytest.raises(ValueError, match="give") as info:
        SlackAuditLogsSensor(task_id="s", **kwargs)
    assert needle in str(info.value)


def test_bounds_and_filters_are_templated_and_poll_interval_defaults_to_poke_interval():
    sensor = SlackAuditLogsSensor(task_id="s", poke_interval=42)
    assert {"oldest", "latest", "action", "actor", "entity"} <= set(sensor.template_fields)
    assert sensor.poll_interval == 42
    assert sensor.deferrable is False  # [operators] default_deferrable is not set in the suite


# --------------------------------------------------------------------------- trigger events


def sensor_for_events() -> SlackAuditLogsSensor:
    return SlackAuditLogsSensor(task_id="s")


def test_success_event_returns_the_events_as_poke_mode_would():
    events = [{"id": "a"}, {"id": "b"}]
    result = sensor_for_events().execute_complete(
        {}, {"status": "success", "events": events, "count": 2, "oldest": 1, "latest": 2, "polls": 3}
    )
    assert result == events


def test_timeout_event_raises_sensor_timeout():
    with pytest.raises(AirflowSensorTimeout, match="1 of 2 required"):
        sensor_for_events().execute_complete({}, {"status": "timeout", "message": "1 of 2 required audit event(s)"})


@pytest.mark.parametrize("kind", ["auth", "bad_request", "config"])
def test_errors_a_retry_cannot_fix_fail_without_retries(kind):
    with pytest.raises(AirflowFailException, match="missing_scope"):
        sensor_for_events().execute_complete(
            {}, {"status": "error", "kind": kind, "message": "HTTP 403, missing_scope"}
        )


@pytest.mark.parametrize("kind", ["server", "rate_limit", "error"])
def test_transient_errors_fail_so_that_task_retries_apply(kind):
    with pytest.raises(AirflowException, match="HTTP 503") as info:
        sensor_for_events().execute_complete({}, {"status": "error", "kind": kind, "message": "HTTP 503 after 3"})
    assert not isinstance(info.value, AirflowFailException)


# --------------------------------------------------------------------------- poke, without a DAG run

CONTEXT = {"data_interval_start": H0, "data_interval_end": H0 + HOUR}


def test_poke_is_false_until_enough_events_then_returns_the_newest(slack_conn):
    expected = slack_conn.events(OLDEST, LATEST, action=LOGIN)
    sensor = SlackAuditLogsSensor(task_id="s", action=LOGIN, min_events=len(expected), max_events_returned=2)
    slack_conn.late_events(OLDEST, LATEST, delay=3600)
    hidden = sensor.poke(CONTEXT)
    assert (hidden.is_done, hidden.xcom_value) == (False, None)
    slack_conn.reset()
    found = sensor.poke(CONTEXT)
    assert (found.is_done, found.xcom_value) == (True, expected[:2])
    too_many = SlackAuditLogsSensor(task_id="s2", action=LOGIN, min_events=len(expected) + 1).poke(CONTEXT)
    assert not too_many.is_done


@pytest.mark.parametrize(
    ("conn_env", "needle"),
    [
        (None, "is not defined"),
        ('{"conn_type": "slack_audit", "extra": {"base_url": "http://127.0.0.1:9/audit/v1/"}}', "has no token"),
    ],
)
def test_a_connection_a_retry_cannot_fix_fails_the_poke_for_good(monkeypatch, conn_env, needle):
    monkeypatch.delenv("AIRFLOW_CONN_SLACK_AUDIT_DEFAULT", raising=False)
    if conn_env:
        monkeypatch.setenv("AIRFLOW_CONN_SLACK_AUDIT_DEFAULT", conn_env)
    with pytest.raises(AirflowFailException, match=needle):
        SlackAuditLogsSensor(task_id="s", action=LOGIN).poke(CONTEXT)


# --------------------------------------------------------------------------- DAG runs


@pytest.fixture
def slack_conn(slack_audit_emulator, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_AUDIT_DEFAULT",
        slack_audit_emulator.airflow_conn_json(extra={"max_retries": 2, "max_retry_wait": 0.05}),
    )
    return slack_audit_emulator


@pytest.fixture
def hidden_until_first_check(slack_conn):
    """The window's events stay hidden until the sensor's first check has seen none of them.

    A watcher thread reveals them (the emulator's ``reset()`` drops the late window) right after
    the first ``logs`` call is recorded, so the first check finds nothing and a later one finds
    all, however long Airflow takes to start the task. Yields the requests made before the reveal.
    """
    slack_conn.late_events(OLDEST, LATEST, delay=3600)
    before: list = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.01):
            if slack_conn.requests:
                before.extend(slack_conn.requests)
                slack_conn.reset()
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    yield before
    stop.set()
    watcher.join()


@pytest.fixture
def trigger_runs(monkeypatch):
    """Records each SlackAuditLogsTrigger that runs (the real one: this only counts)."""
    runs: list[dict] = []
    real_run = SlackAuditLogsTrigger.run

    def counting_run(self):
        runs.append(self.serialize()[1])
        return real_run(self)

    monkeypatch.setattr(SlackAuditLogsTrigger, "run", counting_run)
    return runs


def sensor_dag(dag_id: str, **sensor_kwargs) -> DAG:
    """An hourly DAG: the sensor, then a task that summarises what it found."""
    with hourly_dag(dag_id, H0) as dag:
        sensor = SlackAuditLogsSensor(task_id="wait", **sensor_kwargs)

        @task
        def summarise(events: list[dict]) -> int:
            return len(events)

        summarise(sensor.output)
    return dag


def run(dag: DAG):
    """``dag.test()`` for the hour [H0, H0 + 1h): the DagRun and each task's final state."""
    return run_dag(dag, RUN_AT)


def xcom(dag_run, task_id: str):
    return dag_run.get_task_instance(task_id).xcom_pull(task_ids=task_id)


def assert_asked_for_the_runs_window(requests: list, action: str) -> None:
    for request in requests:
        assert (request["oldest"], request["latest"], request["action"]) == (str(OLDEST), str(LATEST), action)


@pytest.mark.airflow
@pytest.mark.e2e
def test_poke_mode_waits_for_late_events_and_returns_them(
    airflow_db, slack_conn, hidden_until_first_check, trigger_runs
):
    expected = slack_conn.events(OLDEST, LATEST, action=LOGIN)
    dag = sensor_dag("sensor_poke", action=LOGIN, max_events_returned=3, poke_interval=0.2, timeout=60)

    dag_run, states = run(dag)

    assert states == {"wait": "success", "summarise": "success"}
    assert xcom(dag_run, "wait") == expected[:3]
    assert xcom(dag_run, "summarise") == 3
    assert [r.entries for r in hidden_until_first_check] == [0]  # the first poke found nothing
    assert slack_conn.requests  # a later poke found the events
    assert_asked_for_the_runs_window(hidden_until_first_check + slack_conn.requests, LOGIN)
    assert {r["limit"] for r in slack_conn.requests} == {"3"}  # pages just big enough to decide
    assert trigger_runs == []


@pytest.mark.airflow
@pytest.mark.e2e
def test_reschedule_mode_gives_the_slot_back_between_pokes(airflow_db, slack_conn, hidden_until_first_check):
    expected = slack_conn.events(OLDEST, LATEST, action=RISKY)
    assert expected
    dag = sensor_dag("sensor_reschedule", action=RISKY, mode="reschedule", poke_interval=0.5, timeout=60)

    dag_run, states = run(dag)

    assert states == {"wait": "success", "summarise": "success"}
    assert xcom(dag_run, "wait") == expected[:100]
    assert [r.entries for r in hidden_until_first_check] == [0]
    assert slack_conn.requests
    assert_asked_for_the_runs_window(hidden_until_first_check + slack_conn.requests, ",".join(RISKY))
    assert dag_run.get_task_instance("wait").try_number == 1  # rescheduled, not retried


@pytest.mark.airflow
@pytest.mark.e2e
def test_deferrable_sensor_succeeds_through_the_trigger(
    airflow_db, slack_conn, hidden_until_first_check, trigger_runs
):
    expected = slack_conn.events(OLDEST, LATEST, action=LOGIN)
    dag = sensor_dag(
        "sensor_deferrable",
        action=LOGIN,
        max_events_returned=4,
        deferrable=True,
        poll_interval=0.2,
        exponential_backoff=True,
        max_wait=0.4,
        timeout=60,
    )

    started = time.time()
    dag_run, states = run(dag)

    assert states == {"wait": "success", "summarise": "success"}
    assert xcom(dag_run, "wait") == expected[:4]
    assert xcom(dag_run, "summarise") == 4
    (trigger_kwargs,) = trigger_runs
    assert (trigger_kwargs["oldest"], trigger_kwargs["latest"], trigger_kwargs["action"]) == (OLDEST, LATEST, [LOGIN])
    assert (trigger_kwargs["poll_interval"], trigger_kwargs["exponential_backoff"], trigger_kwargs["max_wait"]) == (
        0.2,
        True,
        0.4,
    )
    assert started + 60 <= trigger_kwargs["timeout_at"] <= time.time() + 60  # the sensor's timeout, as an epoch
    assert slack_conn.token not in json.dumps(trigger_kwargs)
    assert [r.entries for r in hidden_until_first_check] == [0]  # the worker's check, before deferring
    assert slack_conn.requests  # the trigger's poll
    assert_asked_for_the_runs_window(hidden_until_first_check + slack_conn.requests, LOGIN)


@pytest.mark.airflow
@pytest.mark.e2e
def test_deferrable_sensor_that_times_out_with_soft_fail_is_skipped(airflow_db, slack_conn, trigger_runs):
    slack_conn.late_events(OLDEST, LATEST, delay=3600)  # nothing shows up while the sensor waits
    dag = sensor_dag(
        "sensor_deferrable_timeout",
        action=LOGIN,
        deferrable=True,
        poll_interval=0.2,
        timeout=1,
        soft_fail=True,
    )

    _, states = run(dag)

    assert states == {"wait": "skipped", "summarise": "skipped"}
    assert len(trigger_runs) == 1
    assert len(slack_conn.requests) >= 2  # the worker's check, then at least one poll in the trigger
    assert all(request.entries == 0 for request in slack_conn.requests)
    assert_asked_for_the_runs_window(slack_conn.requests, LOGIN)


@pytest.mark.airflow
@pytest.mark.e2e
def test_refused_token_fails_the_sensor_without_retrying(airflow_db, slack_conn, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_AUDIT_DEFAULT",
        json.dumps(
            {
                "conn_type": "slack_audit",
                "password": slack_conn.error_tokens["team_not_authorized"],
                "extra": {"base_url": slack_conn.base_url},
            }
        ),
    )
    dag = sensor_dag("sensor_refused", action=LOGIN, deferrable=True, poll_interval=0.2, timeout=60, retries=3)

    dag_run, states = run(dag)

    assert states == {"wait": "failed", "summarise": "upstream_failed"}
    assert len(slack_conn.requests) == 1
    assert dag_run.get_task_instance("wait").try_number == 1


@pytest.mark.airflow
@pytest.mark.e2e
def test_example_dag_alerts_on_the_hours_risky_actions(airflow_db, slack_conn):
    example = Path(__file__).resolve().parents[3] / "example_dags" / "example_slack_audit_sensor.py"
    if AIRFLOW_3:  # its DagBag has no include_examples
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(example))
    else:
        from airflow.models.dagbag import DagBag

        bag = DagBag(dag_folder=str(example), include_examples=False)
    assert bag.import_errors == {}
    dag = bag.get_dag("slack_audit_risky_action_alert")
    risky = dag.get_task("wait_for_risky_action")
    expected = slack_conn.events(OLDEST, LATEST, action=risky.action)[: risky.max_events_returned]
    assert expected

    dag_run, states = run(dag)

    assert states == {"wait_for_risky_action": "success", "notify": "success"}
    assert xcom(dag_run, "wait_for_risky_action") == expected
    assert xcom(dag_run, "notify") == dict(Counter(e["action"] for e in expected))


# --------------------------------------------------------------------------- what the tasks open, they close


@pytest.fixture
def closes(monkeypatch):
    """Counts the sync clients closed (their HTTP session) while a test runs."""
    from airflow_provider_slack_audit.client import SlackAuditLogsClient

    closed: list[object] = []
    real = SlackAuditLogsClient.close

    def close(self):
        closed.append(self)
        real(self)

    monkeypatch.setattr(SlackAuditLogsClient, "close", close)
    return closed


def test_poke_closes_the_hooks_http_session(slack_conn, closes):
    sensor = SlackAuditLogsSensor(task_id="s", action=LOGIN)
    assert sensor.poke(CONTEXT).is_done
    assert len(closes) == 1
    assert "client" not in sensor.hook.__dict__  # the next poke opens a new one
    assert sensor.poke(CONTEXT).is_done
    assert len(closes) == 2


def test_a_failed_poke_closes_the_hooks_http_session_too(slack_conn, closes):
    with pytest.raises(AirflowFailException, match="invalid_action"):
        SlackAuditLogsSensor(task_id="s", action="no_such_action").poke(CONTEXT)
    assert len(closes) == 1


def test_the_operators_close_the_hooks_http_session(slack_conn, closes):
    from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsOperator

    operator = SlackAuditLogsOperator(task_id="o", action=LOGIN, settle_seconds=0, max_events=100_000)
    assert operator.execute(CONTEXT) == slack_conn.events(OLDEST, LATEST, action=LOGIN)
    assert len(closes) == 1
    too_many = SlackAuditLogsOperator(task_id="o2", settle_seconds=0, max_events=1)
    with pytest.raises(AirflowFailException, match="max_events=1"):
        too_many.execute(CONTEXT)
    assert len(closes) == 2  # the walk left mid-way by the failure is closed at once


# --------------------------------------------------------------------------- why it gives up


def giving_up_line(caplog, capsys) -> str:
    """The sensor's "Giving up" message: Airflow 3 logs through structlog to stdout, 2.11 through logging
    (captured there and echoed to stdout, so the same message may come twice)."""
    lines = (caplog.text + capsys.readouterr().out).splitlines()
    (message,) = {line[line.index("Giving up") :] for line in lines if "Giving up" in line}
    return message


def test_a_timed_out_deferrable_sensor_logs_why_before_it_is_skipped(caplog, capsys):
    sensor = SlackAuditLogsSensor(task_id="s", action=RISKY, min_events=2, timeout=60, soft_fail=True)
    event = {"status": "timeout", "count": 1, "polls": 7, "oldest": OLDEST, "latest": LATEST, "message": "1 of 2"}
    with caplog.at_level("WARNING"), pytest.raises(AirflowSensorTimeout):
        sensor.execute_complete({}, event)
    line = giving_up_line(caplog, capsys)
    assert "the task will be skipped: soft_fail=True" in line
    assert f"1 of 2 required audit event(s) matched action={RISKY}" in line
    assert f"in [{OLDEST}, {LATEST}] after 7 poll(s) in the triggerer" in line
    assert "timeout of 60 s" in line


def test_a_timed_out_poking_sensor_logs_what_its_pokes_saw(slack_audit_emulator, monkeypatch, caplog, capsys):
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_AUDIT_DEFAULT", slack_audit_emulator.airflow_conn_json())
    slack_audit_emulator.late_events(OLDEST, LATEST, delay=3600)  # nothing shows up while it pokes
    sensor = SlackAuditLogsSensor(
        task_id="s", oldest=OLDEST, latest=LATEST, action=LOGIN, poke_interval=0.2, timeout=1, soft_fail=True
    )
    with caplog.at_level("WARNING"), pytest.raises(AirflowSkipException):
        sensor.execute({})
    line = giving_up_line(caplog, capsys)
    assert f"0 of 1 required audit event(s) matched action={LOGIN} actor=any entity=any in [{OLDEST}, {LATEST}]" in line
    assert "poke(s), within the sensor's timeout of 1 s" in line
