"""split_interval in real DAG runs (``dag.test()``) against the emulator: one walk over a long window writes the
same hourly objects, manifests and ids that hourly runs write, in far fewer calls."""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from airflow.providers.common.compat.sdk import DAG
from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_slack_audit.operators.base import TaskKilled, WindowRead
from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsToObjectStorageOperator
from tests.fixtures.dag_runs import hourly_dag, run_dag, state_name

pytestmark = [pytest.mark.airflow, pytest.mark.e2e]

SPAN_START = datetime(2024, 3, 1, 0, 0, tzinfo=timezone.utc)
HOURS = 6
HOUR = timedelta(hours=1)
#: The hourly example DAG's key: each hour's object at the same place, whichever DAG wrote it.
KEY = (
    "dt={{ data_interval_start.strftime('%Y-%m-%d') }}/hour={{ data_interval_start.strftime('%H') }}/"
    "{{ data_interval_start.int_timestamp }}-{{ data_interval_end.int_timestamp - 1 }}.jsonl.gz"
)
#: Manifest fields that say how and when an object was read and stored, not what it holds (every write of an
#: object has its own version in the store).
HOW_READ = {
    "path",
    "started_at",
    "finished_at",
    "calls",
    "retries",
    "rate_limited",
    "pages",
    "walked_span",
    "object_version",
}


@pytest.fixture
def slack_conn(slack_audit_emulator, monkeypatch):
    conn = slack_audit_emulator.airflow_conn_json(extra={"max_retries": 2, "max_retry_wait": 0.05})
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_AUDIT_DEFAULT", conn)
    return slack_audit_emulator


def six_hourly_dag(dag_id: str) -> DAG:
    """A DAG whose runs each own six hours (the backfill DAG: here 6 hours instead of a day, to stay quick)."""
    return DAG(
        dag_id=dag_id,
        schedule=CronDataIntervalTimetable("0 */6 * * *", timezone="UTC"),
        start_date=SPAN_START - timedelta(days=1),
        catchup=False,
    )


def run_split(root: Path, dag_id: str, **kwargs) -> str:
    with six_hourly_dag(dag_id) as dag:
        SlackAuditLogsToObjectStorageOperator(
            task_id="export", path=f"file://{root}/{KEY}", split_interval=timedelta(hours=1), **kwargs
        )
    dag_run, states = run_dag(dag, SPAN_START + HOURS * HOUR)
    assert (dag_run.data_interval_start, dag_run.data_interval_end) == (SPAN_START, SPAN_START + HOURS * HOUR)
    return states["export"]


def run_hourly(root: Path, dag_id: str, **kwargs) -> None:
    with hourly_dag(dag_id, SPAN_START) as dag:
        SlackAuditLogsToObjectStorageOperator(task_id="export", path=f"file://{root}/{KEY}", **kwargs)
    for hour in range(HOURS):
        dag_run, _ = run_dag(dag, SPAN_START + (hour + 1) * HOUR)
        assert state_name(dag_run.state) == "success"


def objects(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*.jsonl.gz"))}


def manifest(path: Path) -> dict:
    return json.loads(path.with_name(path.name + ".manifest.json").read_bytes())


def ids_in(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in gzip.decompress(path.read_bytes()).splitlines()]


def hour_window(hour: int) -> tuple[int, int]:
    oldest = int((SPAN_START + hour * HOUR).timestamp())
    return oldest, oldest + 3599


def expected_keys() -> list[str]:
    keys = []
    for hour in range(HOURS):
        oldest, latest = hour_window(hour)
        keys.append(f"dt=2024-03-01/hour={hour:02d}/{oldest}-{latest}.jsonl.gz")
    return keys


@pytest.mark.parametrize("page_size", [None, 700], ids=["pages_of_9999", "hours_across_pages"])
def test_one_walk_writes_the_hourly_runs_objects_and_manifests_in_fewer_calls(
    airflow_db, slack_conn, tmp_path, page_size
):
    assert run_split(tmp_path / "split", f"e2e_split_{page_size}", page_size=page_size) == "success"
    split_calls = slack_conn.stats["logs"]
    slack_conn.reset()
    run_hourly(tmp_path / "hourly", f"e2e_split_hourly_{page_size}", page_size=page_size)
    hourly_calls = slack_conn.stats["logs"]

    split, hourly = objects(tmp_path / "split"), objects(tmp_path / "hourly")
    assert list(split) == list(hourly) == expected_keys()
    for key, path in split.items():
        ours, theirs = manifest(path), manifest(hourly[key])
        assert {k: v for k, v in ours.items() if k not in HOW_READ} == {
            k: v for k, v in theirs.items() if k not in HOW_READ
        }, key
        assert ours["path"] == f"file://{path}"
        assert ours["walked_span"] == {"oldest": hour_window(0)[0], "latest": hour_window(HOURS - 1)[1]}
        assert path.read_bytes() == hourly[key].read_bytes()  # same bytes, so the same sha256
        oldest, latest = hour_window(int(key.split("hour=")[1][:2]))
        assert ours["window"] == {"oldest": oldest, "latest": latest}
        assert ids_in(path) == [e["id"] for e in slack_conn.events(oldest, latest)]
        assert ours["ids_sha256"] == hashlib.sha256("\n".join(sorted(ids_in(path))).encode()).hexdigest()
    events = slack_conn.count(hour_window(0)[0], hour_window(HOURS - 1)[1])
    # a page may hold more than page_size events (a burst in one second): at most one call a page, plus the last
    assert 1 <= split_calls <= math.ceil(events / (page_size or 9999)) + 1
    assert hourly_calls >= HOURS
    assert split_calls < hourly_calls


def test_a_parquet_walk_writes_the_hourly_runs_parquet_objects_and_manifests(airflow_db, slack_conn, tmp_path):
    """format="parquet" with split_interval: each hour's object is the Parquet file an hourly run writes (same
    rows, same manifest), whatever pages the walk cut the hour into."""
    pq = pytest.importorskip("pyarrow.parquet", reason="the Parquet export needs the parquet extra (pyarrow)")
    key = KEY.replace(".jsonl.gz", ".parquet")
    with six_hourly_dag("e2e_split_parquet") as dag:
        SlackAuditLogsToObjectStorageOperator(
            task_id="export", path=f"file://{tmp_path}/split/{key}", split_interval=timedelta(hours=1), page_size=700
        )
    assert run_dag(dag, SPAN_START + HOURS * HOUR)[1]["export"] == "success"
    with hourly_dag("e2e_split_parquet_hourly", SPAN_START) as dag:
        SlackAuditLogsToObjectStorageOperator(task_id="export", path=f"file://{tmp_path}/hourly/{key}", page_size=700)
    for hour in range(HOURS):
        assert state_name(run_dag(dag, SPAN_START + (hour + 1) * HOUR)[0].state) == "success"

    def parquet_objects(root: Path) -> dict[str, Path]:
        return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*.parquet"))}

    split, hourly = parquet_objects(tmp_path / "split"), parquet_objects(tmp_path / "hourly")
    assert list(split) == list(hourly) == [k.replace(".jsonl.gz", ".parquet") for k in expected_keys()]
    for name, path in split.items():
        ours, theirs = manifest(path), manifest(hourly[name])
        assert ours["format"] == "parquet"
        assert {k: v for k, v in ours.items() if k not in HOW_READ} == {
            k: v for k, v in theirs.items() if k not in HOW_READ
        }, name
        table = pq.read_table(path)
        assert table.equals(pq.read_table(hourly[name]))
        oldest, latest = ours["window"]["oldest"], ours["window"]["latest"]
        sent = slack_conn.events(oldest, latest)
        assert table.column("id").to_pylist() == [e["id"] for e in sent]
        assert [json.loads(raw) for raw in table.column("raw").to_pylist()] == sent
        assert ours["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_walk_that_fails_midway_leaves_whole_hours_or_nothing_and_a_rerun_gives_the_same_evidence(
    airflow_db, slack_conn, tmp_path
):
    root = tmp_path / "out"
    # pages of 700 (six hours: about 4,200 events): the fifth page and every later call fail with 503, beyond
    # the retries, once the walk went past a few hours
    slack_conn.faults.add("http_503", count=None, skip=4)
    assert run_split(root, "e2e_split_fails", page_size=700) == "failed"
    committed = objects(root)
    assert committed, "the hours the walk went past before it failed are written"
    assert len(committed) < HOURS
    assert set(committed) < set(expected_keys())
    for path in committed.values():
        m = manifest(path)
        assert m["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert ids_in(path) == [e["id"] for e in slack_conn.events(m["window"]["oldest"], m["window"]["latest"])]
    leftovers = [p.name for p in root.rglob("*") if p.is_file() and not p.name.endswith((".jsonl.gz", ".json"))]
    assert leftovers == []
    before = {key: path.read_bytes() for key, path in committed.items()}

    slack_conn.faults.clear()
    assert run_split(root, "e2e_split_fails", page_size=700) == "success"
    after = objects(root)
    assert list(after) == expected_keys()
    for key, data in before.items():
        assert after[key].read_bytes() == data


def test_an_hour_whose_event_comes_pages_late_is_read_again_on_its_own(slack_conn, tmp_path, monkeypatch):
    """Slack sends the walk's first page last (out of order by more than a page): the newest hour, already
    committed without those events, loses its manifest and is read again alone; no event goes elsewhere."""
    original = SlackAuditLogsToObjectStorageOperator.read_in_window
    span = hour_window(0)[0], hour_window(HOURS - 1)[1]

    class FirstPageLast(WindowRead):
        def __iter__(self):
            pages = iter(super().__iter__())
            first = next(pages)
            yield from pages
            yield first

    def read_in_window(self, window, query):
        if (window.oldest, window.latest) == span:
            return FirstPageLast(self, window, query)
        return original(self, window, query)

    monkeypatch.setattr(SlackAuditLogsToObjectStorageOperator, "read_in_window", read_in_window)
    operator = SlackAuditLogsToObjectStorageOperator(
        task_id="export",
        path=f"file://{tmp_path}/{KEY}",
        oldest=span[0],
        latest=span[1],
        split_interval=timedelta(hours=1),
        page_size=700,
        settle_seconds=0,
    )
    summary = operator.execute({})

    newest = hour_window(HOURS - 1)
    walks = [r for r in slack_conn.requests if not r.cursor]
    assert [(int(r["oldest"]), int(r["latest"])) for r in walks] == [span, newest]
    written = objects(tmp_path)
    assert list(written) == expected_keys()
    for key, path in written.items():
        m = manifest(path)
        assert ids_in(path) == [e["id"] for e in slack_conn.events(m["window"]["oldest"], m["window"]["latest"])]
        assert m["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert ("walked_span" in m) == (m["window"]["oldest"] != newest[0]), key
    assert summary["events"] == slack_conn.count(*span)
    assert [o["oldest"] for o in summary["objects"]] == [hour_window(h)[0] for h in reversed(range(HOURS))]


def test_on_kill_during_the_walk_leaves_the_hours_committed_whole_and_nothing_else(slack_conn, tmp_path, monkeypatch):
    class KilledAfterFourPages(WindowRead):
        def __iter__(self):
            for number, page in enumerate(super().__iter__(), start=1):
                yield page
                if number == 4:
                    self.operator.on_kill()  # what Airflow's SIGTERM handler calls

    monkeypatch.setattr(
        SlackAuditLogsToObjectStorageOperator,
        "read_in_window",
        lambda self, window, query: KilledAfterFourPages(self, window, query),
    )
    span = hour_window(0)[0], hour_window(HOURS - 1)[1]
    operator = SlackAuditLogsToObjectStorageOperator(
        task_id="export",
        path=f"file://{tmp_path}/{KEY}",
        oldest=span[0],
        latest=span[1],
        split_interval=timedelta(hours=1),
        page_size=700,
        settle_seconds=0,
    )
    with pytest.raises(TaskKilled):
        operator.execute({})
    committed = objects(tmp_path)
    assert 0 < len(committed) < HOURS
    for path in committed.values():
        m = manifest(path)
        assert m["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert ids_in(path) == [e["id"] for e in slack_conn.events(m["window"]["oldest"], m["window"]["latest"])]
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == sorted(
        name for path in committed.values() for name in (path.name, path.name + ".manifest.json")
    )
