"""Parquet exports (flat and OCSF) in real DAG runs, read back as a lake would: pyarrow and DuckDB.

The windows' events vary as Slack's do (the emulator renders session_id as a string, a number or null,
succeeded_users as an array or a JSON string, a dozen entity kinds, details per action); the files must still
have one schema, hold exactly the window's ids, and keep each event's bytes in ``raw``.
"""

from __future__ import annotations

import collections
import hashlib
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
duckdb = pytest.importorskip("duckdb")

from airflow_provider_slack_audit.operators.slack_audit import (  # noqa: E402
    SlackAuditLogsReconcileOperator,
    SlackAuditLogsToObjectStorageOperator,
)
from tests.docs.test_parquet_tables import duckdb_query  # noqa: E402
from tests.fixtures.dag_runs import hourly_dag, run_dag  # noqa: E402

pytestmark = [pytest.mark.airflow, pytest.mark.e2e]

H0 = datetime(2024, 3, 1, 0, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
OLDEST = int(H0.timestamp())
HIVE = "dt={{ data_interval_start.strftime('%Y-%m-%d') }}/hour={{ data_interval_start.strftime('%H') }}"


@pytest.fixture
def slack_conn(slack_audit_emulator, monkeypatch):
    conn = slack_audit_emulator.airflow_conn_json(extra={"max_retries": 2, "max_retry_wait": 0.05})
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_AUDIT_DEFAULT", conn)
    return slack_audit_emulator


def xcom(dag_run, task_id: str):
    (ti,) = [ti for ti in dag_run.get_task_instances() if ti.task_id == task_id]
    return ti.xcom_pull(task_ids=task_id)


def export_hours(dag_id: str, path: str, hours: int, **kwargs) -> list:
    """Run an hourly export DAG for the first ``hours`` hours of H0; each run's summary."""
    with hourly_dag(dag_id, H0) as dag:
        SlackAuditLogsToObjectStorageOperator(task_id="export", path=path, settle_seconds=0, page_size=300, **kwargs)
    summaries = []
    for hour in range(hours):
        dag_run, states = run_dag(dag, H0 + (hour + 1) * HOUR)
        assert states == {"export": "success"}
        summaries.append(xcom(dag_run, "export"))
    return summaries


def test_hourly_parquet_files_share_one_schema_and_hold_each_window_exactly(airflow_db, slack_conn, tmp_path):
    emu = slack_conn
    summaries = export_hours("parquet_hive", f"file://{tmp_path}/{HIVE}/events.parquet", 3)
    schemas = []
    seen = collections.Counter()
    for hour, summary in enumerate(summaries):
        oldest = OLDEST + hour * 3600
        events = emu.events(oldest, oldest + 3599)
        file = tmp_path / f"dt=2024-03-01/hour={hour:02d}/events.parquet"
        assert summary["path"] == f"file://{file}"
        table = pq.read_table(file)
        schemas.append(table.schema)
        assert table.column("id").to_pylist() == [e["id"] for e in events]  # every event once, in Slack's order
        # raw is the event as Slack sent it: the very line a JSON Lines export writes
        assert "".join(r + "\n" for r in table.column("raw").to_pylist()).encode() == emu.jsonl(oldest, oldest + 3599)
        rows = table.to_pylist()
        for event, row in zip(events, rows, strict=True):
            assert int(row["date_create"].timestamp()) == event["date_create"]
            assert row["action"] == event["action"]
            session = event["context"]["session_id"]
            assert row["context_session_id"] == (None if session is None else str(session))
            seen[type(session).__name__] += 1
            kind = event["entity"]["type"]
            assert row["entity_type"] == kind
            assert row["entity_id"] == event["entity"][kind].get("id")
            assert row["actor_id"] == event["actor"][event["actor"]["type"]]["id"]
            assert row["context_ip_address"] == event["context"]["ip_address"]
            assert json.loads(row["details"]) == event["details"]
            if "succeeded_users" in event["details"]:
                seen["succeeded_users " + type(event["details"]["succeeded_users"]).__name__] += 1
            if "app" in event["context"]:
                assert row["context_app_id"] == event["context"]["app"]["id"]
            seen["entity " + kind] += 1
        manifest = json.loads(file.with_name("events.parquet.manifest.json").read_text())
        data = file.read_bytes()
        assert manifest["sha256"] == summary["sha256"] == hashlib.sha256(data).hexdigest()
        assert manifest["bytes"] == len(data)
        assert manifest["events"] == len(events)
        assert (manifest["format"], manifest["compression"], manifest["schema"]) == ("parquet", None, "flat")
        assert manifest["parquet_codec"] == "zstd"
        assert manifest["schema_version"] == "1"
    # the windows differ as Slack's do, and the files do not
    assert {"int", "str", "NoneType", "succeeded_users list", "succeeded_users str"} <= set(seen)
    assert {"entity user", "entity file", "entity channel"} <= set(seen)
    assert all(schema.equals(schemas[0], check_metadata=True) for schema in schemas)

    # DuckDB reads the folder as a hive-partitioned table
    con = duckdb.connect()
    counts = con.execute(
        "SELECT dt, hour, count(*), count(DISTINCT id) FROM read_parquet(?, hive_partitioning = true) "
        "GROUP BY ALL ORDER BY hour",
        [f"{tmp_path}/**/*.parquet"],
    ).fetchall()
    expected = [len(emu.events(OLDEST + h * 3600, OLDEST + h * 3600 + 3599)) for h in range(3)]
    assert [(str(dt), int(hour), n, d) for dt, hour, n, d in counts] == [
        ("2024-03-01", h, n, n) for h, n in enumerate(expected)
    ]
    logins = con.execute(
        "SELECT count(*) FROM read_parquet(?, hive_partitioning = true) "
        "WHERE action = 'user_login' AND date_create >= TIMESTAMPTZ '2024-03-01 01:00:00+00' AND hour = 1",
        [f"{tmp_path}/**/*.parquet"],
    ).fetchone()[0]
    assert logins == sum(e["action"] == "user_login" for e in emu.events(OLDEST + 3600, OLDEST + 7199))
    # the guide's DuckDB recipe, as written there, on this folder
    rows = con.execute(duckdb_query().replace("/data/slack-audit", str(tmp_path))).fetchall()
    by_hour = collections.Counter()
    for dt, hour, _action, n in rows:
        by_hour[(str(dt), int(hour))] += n
    assert by_hour == {("2024-03-01", h): n for h, n in enumerate(expected)}


def test_the_ids_digest_is_the_same_whatever_the_format(airflow_db, slack_conn, tmp_path):
    digests = {}
    for suffix in ("jsonl.gz", "jsonl", "parquet"):
        (summary,) = export_hours(f"digest_{suffix.replace('.', '_')}", f"file://{tmp_path}/{{{{ ds }}}}.{suffix}", 1)
        manifest = json.loads((tmp_path / f"2024-03-01.{suffix}.manifest.json").read_text())
        assert manifest["ids_sha256"] == summary["ids_sha256"]
        assert manifest["format"] == ("parquet" if suffix == "parquet" else "jsonl")
        assert manifest["compression"] == {"jsonl.gz": "gzip", "jsonl": None, "parquet": None}[suffix]
        digests[suffix] = summary["ids_sha256"]
    ids = sorted(e["id"] for e in slack_conn.events(OLDEST, OLDEST + 3599))
    assert set(digests.values()) == {hashlib.sha256("\n".join(ids).encode()).hexdigest()}


def late_files(tmp_path) -> list:
    return sorted(p.name for p in tmp_path.iterdir() if ".late-" in p.name and not p.name.endswith(".json"))


@pytest.mark.parametrize("schema", ["flat", "ocsf"])
def test_a_parquet_exports_late_file_is_parquet_of_its_schema_and_verify_accepts_both(
    airflow_db, slack_conn, tmp_path, schema
):
    emu = slack_conn
    late_from, late_to = OLDEST + 600, OLDEST + 1199
    name = "2024-03-01T00.parquet"
    path = f"file://{tmp_path}/{name}"
    dags = []
    for kind in ("export", "reconcile"):
        with hourly_dag(f"parquet_late_{schema}_{kind}", H0) as dag:
            if kind == "export":
                SlackAuditLogsToObjectStorageOperator(task_id=kind, path=path, schema=schema, settle_seconds=0)
            else:
                SlackAuditLogsReconcileOperator(task_id=kind, path=path, settle_seconds=0)
        dags.append(dag)
    window = emu.events(OLDEST, OLDEST + 3599)
    late = [e["id"] for e in window if late_from <= e["date_create"] <= late_to]
    emu.late_events(late_from, late_to, delay=3600.0)
    assert run_dag(dags[0], H0 + HOUR)[1] == {"export": "success"}
    emu.reset()  # the late events reach Slack
    dag_run, states = run_dag(dags[1], H0 + HOUR)
    assert states == {"reconcile": "success"}
    assert xcom(dag_run, "reconcile")["late"] == len(late) > 0
    assert late_files(tmp_path) == [f"2024-03-01T00.late-{OLDEST + 3600}.parquet"]
    late_file = tmp_path / late_files(tmp_path)[0]
    exported, late_table = pq.read_table(tmp_path / name), pq.read_table(late_file)
    assert late_table.schema.equals(exported.schema, check_metadata=True)
    id_column = "id" if schema == "flat" else "metadata"
    ids = [r if schema == "flat" else r["uid"] for r in late_table.column(id_column).to_pylist()]
    assert ids == late
    # a window's events = the object + its late files, each once
    object_ids = [r if schema == "flat" else r["uid"] for r in exported.column(id_column).to_pylist()]
    assert sorted(object_ids + ids) == sorted(e["id"] for e in window)
    late_manifest = json.loads((tmp_path / f"{late_file.name}.manifest.json").read_text())
    assert (late_manifest["format"], late_manifest["schema"]) == ("parquet", schema)

    done = subprocess.run(
        [sys.executable, "-m", "airflow_provider_slack_audit.cli", "verify", str(tmp_path / name)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Parquet" in done.stdout
    # an altered object fails verify
    data = bytearray((tmp_path / name).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / name).write_bytes(bytes(data))
    done = subprocess.run(
        [sys.executable, "-m", "airflow_provider_slack_audit.cli", "verify", str(tmp_path / name)],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "sha256" in done.stdout


#: OCSF class, activity and type, checked one class at a time on an action of each: written out here, not
#: taken from the code's table.
OCSF_EXPECTED = {
    "user_login": (3002, 3, 1, "Authentication", "Logon"),
    "user_logout": (3002, 3, 2, "Authentication", "Logoff"),
    "user_login_failed": (3002, 3, 1, "Authentication", "Logon"),
    "user_created": (3001, 3, 1, "Account Change", "Create"),
    "user_deactivated": (3001, 3, 5, "Account Change", "Disable"),
    "role_change_to_admin": (3005, 3, 1, "User Access Management", "Assign Privileges"),
    "user_channel_join": (3006, 3, 3, "Group Management", "Add User"),
    "user_channel_leave": (3006, 3, 4, "Group Management", "Remove User"),
    "user_added_to_usergroup": (3006, 3, 3, "Group Management", "Add User"),
    "public_channel_created": (3006, 3, 6, "Group Management", "Create"),
    "file_uploaded": (6006, 6, 1, "File Hosting Activity", "Upload"),
    "file_downloaded": (6006, 6, 2, "File Hosting Activity", "Download"),
    "file_shared": (6006, 6, 12, "File Hosting Activity", "Share"),
    "app_installed": (6002, 6, 1, "Application Lifecycle", "Install"),
    "app_uninstalled": (6002, 6, 2, "Application Lifecycle", "Remove"),
    "anomaly": (2004, 2, 1, "Detection Finding", "Create"),
    "emoji_added": (6003, 6, 99, "API Activity", "emoji_added"),
    "huddle_started": (6003, 6, 99, "API Activity", "huddle_started"),
}


def test_ocsf_events_class_by_class(airflow_db, slack_conn, tmp_path):
    emu = slack_conn
    latest = OLDEST + 86400 - 1  # a day: every mapped class occurs
    with hourly_dag("parquet_ocsf_day", H0) as dag:
        SlackAuditLogsToObjectStorageOperator(
            task_id="export",
            path=f"file://{tmp_path}/day.parquet",
            format="parquet",
            schema="ocsf",
            oldest=OLDEST,
            latest=latest,
            settle_seconds=0,
        )
    _, states = run_dag(dag, H0 + HOUR)
    assert states == {"export": "success"}
    events = {e["id"]: e for e in emu.events(OLDEST, latest)}
    table = pq.read_table(tmp_path / "day.parquet")
    assert table.num_rows == len(events)
    rows = table.to_pylist()
    raw = {e["id"]: line for e, line in zip(events.values(), emu.jsonl(OLDEST, latest).splitlines(), strict=True)}
    by_action = collections.defaultdict(list)
    for row in rows:
        event = events[row["metadata"]["uid"]]
        by_action[event["action"]].append((row, event))
        # what every class has
        assert row["type_uid"] == row["class_uid"] * 100 + row["activity_id"]
        assert row["category_uid"] == row["class_uid"] // 1000
        assert row["time"] == event["date_create"] * 1000
        assert row["raw_data"].encode() == raw[event["id"]]
        assert row["metadata"]["product"]["vendor_name"] == "Slack"
        assert row["metadata"]["version"] >= "1.3.0"
        assert row["src_endpoint"]["ip"] == event["context"]["ip_address"]
        assert row["http_request"]["user_agent"] == (event["context"]["ua"] or None)
        session = event["context"]["session_id"]
        assert row["actor"]["session"]["uid"] == (None if session is None else str(session))
        actor_kind = event["actor"]["type"]
        if actor_kind == "user":
            assert row["actor"]["user"]["uid"] == event["actor"]["user"]["id"]
        unmapped = json.loads(row["unmapped"])
        assert unmapped["details"] == event["details"]
        assert row["severity_id"] >= 1
    for action, (class_uid, category_uid, activity_id, class_name, activity_name) in OCSF_EXPECTED.items():
        assert by_action[action], f"no {action} in the day"
        for row, event in by_action[action]:
            got = (row["class_uid"], row["category_uid"], row["activity_id"], row["class_name"], row["activity_name"])
            assert got == (class_uid, category_uid, activity_id, class_name, activity_name), action
            entity = event["entity"][event["entity"]["type"]]
            if class_uid in (3001, 3002, 3005) and event["entity"]["type"] == "user":
                assert row["user"]["uid"] == entity["id"]
            if class_uid == 3006:
                assert (row["group"]["uid"], row["group"]["type"]) == (entity["id"], event["entity"]["type"])
            if class_uid == 6006:
                assert (row["file"]["uid"], row["file"]["name"]) == (entity["id"], entity["name"])
            if class_uid == 6002:
                assert (row["app"]["uid"], row["app"]["name"]) == (entity["id"], entity["name"])
            if class_uid == 2004:
                assert row["finding_info"]["uid"] == event["id"]
                assert row["severity_id"] > 1
            if class_uid == 6003:
                assert row["api"]["operation"] == action
    assert all(row["status_id"] == 2 for row, _ in by_action["user_login_failed"])
    assert all(row["status_id"] == 1 for row, _ in by_action["user_login"])


def first_hour_export(path: Path, page_size: int, **kwargs) -> SlackAuditLogsToObjectStorageOperator:
    """The export of the first hour (``OLDEST`` and its 3,600 seconds) to ``path``, read in pages of ``page_size``,
    without a settle wait; ``kwargs`` are the operator's other arguments."""
    return SlackAuditLogsToObjectStorageOperator(
        task_id="export",
        path=f"file://{path}",
        oldest=OLDEST,
        latest=OLDEST + 3599,
        page_size=page_size,
        settle_seconds=0,
        **kwargs,
    )


@pytest.mark.parametrize("schema", ["flat", "ocsf"])
def test_events_with_half_an_emoji_are_rows_whose_raw_is_the_json_lines_export(
    airflow_db, slack_conn, tmp_path, schema
):
    """Slack may send a lone surrogate escape (``"\\ud83d"``, half an emoji), which msgspec refuses: the JSON
    Lines export writes it as sent, and so must the Parquet export (it failed the whole window before): ``raw``
    is the JSON Lines export's lines, the ids digest the same, the typed column U+FFFD where the half emoji is."""
    slack_conn.faults.add("lone_surrogate", count=None)
    summaries = {}
    for suffix in ("jsonl", "parquet"):
        op = first_hour_export(tmp_path / f"hour.{suffix}", 300, **({"schema": schema} if suffix == "parquet" else {}))
        summaries[suffix] = op.execute({})
    lines = (tmp_path / "hour.jsonl").read_bytes().splitlines()
    assert len(lines) > 300
    assert all(b'\\ud83d"' in line for line in lines)  # every event carries one
    table = pq.read_table(tmp_path / "hour.parquet")
    assert [r.encode() for r in table["raw" if schema == "flat" else "raw_data"].to_pylist()] == lines
    assert summaries["parquet"]["ids_sha256"] == summaries["jsonl"]["ids_sha256"]
    assert summaries["parquet"]["events"] == len(lines)
    agents = table["context_ua"] if schema == "flat" else table["http_request"].combine_chunks().field("user_agent")
    assert {agent[-1] for agent in agents.to_pylist() if agent} == {"\ufffd"}


class _Terminated(BaseException):
    """What Airflow's SIGTERM handler raises after ``on_kill`` (a BaseException, as AirflowTaskTerminated is)."""


@pytest.mark.parametrize("how", ["sigterm", "on_kill_from_another_thread", "walk_fails", "keyboard_interrupt"])
def test_a_stop_while_a_row_group_is_encoded_leaves_nothing_and_ends_the_rows_thread(
    airflow_db, slack_conn, tmp_path, monkeypatch, how
):
    """The rows thread is held in the middle of encoding a row group (more pages to come) when the task is
    killed (SIGTERM: on_kill, then the handler's exception in the task's thread), killed from another thread,
    interrupted, or its walk fails: nothing at the path, no manifest, no temporary, and no thread left."""
    import signal
    import threading

    from airflow_provider_slack_audit.export.formats.parquet_writer import ParquetExportWriter

    monkeypatch.setattr(ParquetExportWriter.__init__, "__kwdefaults__", {"row_group_rows": 100})
    encoding, go = threading.Event(), threading.Event()
    original = ParquetExportWriter._encode_row_group
    main = threading.main_thread()

    def held_encode(self):  # type: ignore[no-untyped-def]
        if threading.current_thread() is not main and not encoding.is_set():
            encoding.set()
            assert go.wait(60), "the test never let the encoding go on"
        return original(self)

    monkeypatch.setattr(ParquetExportWriter, "_encode_row_group", held_encode)
    op = first_hour_export(tmp_path / "hour.parquet", 50)
    assert slack_conn.count(OLDEST, OLDEST + 3599) > 300  # pages to come after the first row group

    def sigterm(signum, frame):  # type: ignore[no-untyped-def]
        op.on_kill()
        raise _Terminated("SIGTERM")

    def stop() -> None:
        assert encoding.wait(60), "no row group was encoded on the rows thread"
        if how == "sigterm":
            signal.pthread_kill(main.ident, signal.SIGTERM)
        elif how == "keyboard_interrupt":
            signal.pthread_kill(main.ident, signal.SIGINT)
        elif how == "on_kill_from_another_thread":
            op.on_kill()
        else:
            slack_conn.faults.add("http_500", count=None)
        go.set()

    previous = signal.signal(signal.SIGTERM, sigterm)
    # Python's own SIGINT handler (KeyboardInterrupt), whatever the test runner set: xdist workers ignore SIGINT.
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    stopper = threading.Thread(target=stop)
    stopper.start()
    try:
        with pytest.raises(BaseException) as stopped:  # noqa: PT011 (each way ends in its own exception)
            op.execute({})
    finally:
        go.set()
        stopper.join(60)
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
    expected = {"sigterm": _Terminated, "keyboard_interrupt": KeyboardInterrupt}.get(how, Exception)
    assert isinstance(stopped.value, expected), repr(stopped.value)
    assert list(tmp_path.iterdir()) == []  # no object, no manifest, no temporary
    assert not [t.name for t in threading.enumerate() if t.name.startswith(("slack-audit-parquet", "slack-audit-w"))]
