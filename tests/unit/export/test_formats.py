"""export.formats: the format arguments, the flat table of events shaped as Slack's vary, the Parquet writer
(row groups through the export's writer, abort), reading a Parquet export's keys back, the late files' names."""

from __future__ import annotations

import hashlib
import json
import re
import sys

import pytest

from airflow_provider_slack_audit.client.raw_page import RawPage, read_raw_page
from airflow_provider_slack_audit.export.formats.choice import (
    ExportFormat,
    MissingParquetSupport,
    choose_format,
    format_of_object,
)
from airflow_provider_slack_audit.export.layout import late_name, late_name_pattern
from airflow_provider_slack_audit.export.storage import ExportAborted, LocalFileSink

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


@pytest.mark.parametrize(
    ("path", "fmt", "schema", "compression", "expected"),
    [
        ("s3://b/x.jsonl.gz", None, None, "infer", ExportFormat("jsonl", None, None)),
        ("s3://b/x.jsonl", None, None, "gzip", ExportFormat("jsonl", None, True)),
        ("s3://b/x.jsonl", None, None, None, ExportFormat("jsonl", None, False)),
        ("s3://b/x.parquet", None, None, "infer", ExportFormat("parquet", "flat", False)),
        ("s3://b/{{ ds }}.parquet", None, "ocsf", None, ExportFormat("parquet", "ocsf", False)),
        ("s3://b/{{ ds }}", "parquet", None, "infer", ExportFormat("parquet", "flat", False)),
    ],
)
def test_the_format_is_chosen_from_the_arguments_and_the_path(path, fmt, schema, compression, expected):
    assert choose_format(path, fmt, schema, compression) == expected


@pytest.mark.parametrize(
    ("path", "fmt", "schema", "compression", "message"),
    [
        ("s3://b/x.jsonl", "csv", None, "infer", "format='csv': use 'jsonl' or 'parquet'"),
        ("s3://b/x.jsonl", None, "ocsf", "infer", "schema='ocsf' applies to Parquet exports"),
        ("s3://b/x.parquet", None, "ecs", "infer", "schema='ecs': use 'flat' or 'ocsf'"),
        ("s3://b/x.parquet", None, None, "gzip", "compression='gzip' cannot wrap a Parquet file"),
        ("s3://b/x.parquet", "jsonl", None, "infer", "ends in .parquet but format='jsonl'"),
        ("s3://b/x.jsonl.gz", "parquet", None, "infer", "names JSON Lines but format='parquet'"),
        ("s3://b/x.jsonl", None, None, "zstd", "compression='zstd': use"),
    ],
)
def test_arguments_that_do_not_go_together_are_refused_with_what_to_change(path, fmt, schema, compression, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        choose_format(path, fmt, schema, compression)


def test_parquet_without_pyarrow_fails_when_the_dag_is_parsed_and_names_the_extra(monkeypatch):
    from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsToObjectStorageOperator

    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if not installed
    with pytest.raises(MissingParquetSupport, match=r"airflow-provider-slack-audit\[parquet\]"):
        SlackAuditLogsToObjectStorageOperator(task_id="t", path="file:///tmp/x.parquet")
    with pytest.raises(MissingParquetSupport, match=r"pip install 'airflow-provider-slack-audit\[parquet\]'"):
        SlackAuditLogsToObjectStorageOperator(task_id="t", path="file:///tmp/x", format="parquet", schema="ocsf")
    # JSON Lines needs no pyarrow
    SlackAuditLogsToObjectStorageOperator(task_id="t", path="file:///tmp/x.jsonl.gz")


def test_the_operator_refuses_bad_format_arguments_at_construction():
    from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsToObjectStorageOperator

    with pytest.raises(ValueError, match="compression='gzip' cannot wrap a Parquet file"):
        SlackAuditLogsToObjectStorageOperator(task_id="t", path="file:///tmp/x.parquet", compression="gzip")
    with pytest.raises(ValueError, match="schema='ocsf' applies to Parquet exports"):
        SlackAuditLogsToObjectStorageOperator(task_id="t", path="file:///tmp/x.jsonl", schema="ocsf")


def test_a_late_file_inherits_its_objects_format():
    assert format_of_object("parquet", None) == ExportFormat("parquet", "flat", False)
    assert format_of_object("parquet", "ocsf").schema == "ocsf"
    assert format_of_object("jsonl", None) == ExportFormat("jsonl", None, None)
    assert late_name("2024-03-01T00.parquet", 1709254800, gzip=False) == "2024-03-01T00.late-1709254800.parquet"
    pattern = late_name_pattern("2024-03-01T00.parquet", gzip=False)
    assert pattern.match("2024-03-01T00.late-1709254800.parquet").group(1) == "1709254800"
    assert not pattern.match("2024-03-01T00.late-1709254800.jsonl")
    assert not late_name_pattern("2024-03-01T00.jsonl", gzip=None).match("2024-03-01T00.late-1.parquet")


#: Events shaped as Slack's vary, and some as they might tomorrow: each line as "Slack" sent it.
ODD_EVENTS = [
    b'{"id":"e1","date_create":1709251200,"action":"user_login","actor":{"type":"user","user":{"id":"U1",'
    b'"name":"Zo\\u00eb","email":"z@x.example"}},"entity":{"type":"user","user":{"id":"U1","name":"Zo\\u00eb"}},'
    b'"context":{"location":{"type":"workspace","id":"T1","name":"Acme","domain":"acme"},"ua":"ua/1",'
    b'"ip_address":"10.0.0.1","session_id":"1297278038187"},"details":{"mfa":true}}',
    b'{"id":"e2","date_create":1709251201,"action":"file_downloaded","actor":{"type":"user","user":{"id":"U2"}},'
    b'"entity":{"type":"file","file":{"id":"F1","name":"a \xc3\xa9.pdf","filetype":"pdf"}},'
    b'"context":{"session_id":1713792205838,"ip_address":"10.0.0.2","app":{"id":"A1","name":"Bot"}}}',
    b'{"id":"e3","date_create":1709251202,"action":"user_channel_join","actor":{"type":"user","user":{"id":"U3"}},'
    b'"entity":{"type":"channel","channel":{"id":"C1","name":"general","privacy":"public"}},'
    b'"context":{"session_id":null},"details":null,"new_field_tomorrow":{"nested":[1,2]}}',
    b'{"id":"e4","date_create":1709251203,"action":"user_added_to_usergroup",'
    b'"entity":{"type":"usergroup","usergroup":{"id":"S1"}},"context":null,'
    b'"details":{"succeeded_users":"[\\"U1\\",\\"U2\\"]","failed_users":[],"unknown_detail":{"x":1}}}',
    b'{"id":"e5","date_create":1709251204,"action":"hologram_summoned","actor":{"type":"robot","robot":'
    b'{"id":"R1","name":"R2","email":null}},"entity":{"type":"hologram","hologram":{"id":"H1","name":7}},'
    b'"details":{"succeeded_users":["U1"]}}',
    b'{"id":"e6","date_create":1709251205.5,"action":"weird","actor":"not an object","entity":[]}',
]


def odd_page() -> RawPage:
    body = b'{"ok":true,"entries":[' + b",".join(ODD_EVENTS) + b'],"response_metadata":{"next_cursor":""}}'
    return read_raw_page(body)


def test_the_flat_table_has_one_schema_whatever_the_events_hold():
    from airflow_provider_slack_audit.export.formats.flat import COLUMNS, flat_schema, flat_table

    page = odd_page()
    table = flat_table(page.lines, page.ids, page.seconds)
    assert table.schema.equals(flat_schema(), check_metadata=True)
    assert table.column_names == [c.name for c in COLUMNS]
    rows = {row["id"]: row for row in table.to_pylist()}
    sessions = [r["context_session_id"] for r in rows.values()]
    assert sessions == ["1297278038187", "1713792205838", None, None, None, None]
    assert [r["raw"].encode() for r in rows.values()] == ODD_EVENTS  # Slack's bytes, each one
    assert rows["e1"]["actor_name"] == "Zoë"
    assert rows["e1"]["context_location_domain"] == "acme"
    assert (rows["e2"]["entity_type"], rows["e2"]["entity_id"], rows["e2"]["entity_name"]) == ("file", "F1", "a é.pdf")
    assert (rows["e2"]["context_app_id"], rows["e2"]["context_app_name"]) == ("A1", "Bot")
    assert rows["e2"]["details"] is None  # absent
    assert rows["e3"]["details"] is None  # null
    assert (rows["e3"]["entity_type"], rows["e3"]["entity_name"]) == ("channel", "general")
    details = json.loads(rows["e4"]["details"])
    assert details["succeeded_users"] == '["U1","U2"]'
    assert details["unknown_detail"] == {"x": 1}
    assert rows["e4"]["actor_type"] is None
    assert rows["e4"]["context_ip_address"] is None
    # kinds this provider has never heard of are read from the event itself
    assert (rows["e5"]["actor_type"], rows["e5"]["actor_id"], rows["e5"]["actor_name"]) == ("robot", "R1", "R2")
    assert (rows["e5"]["entity_type"], rows["e5"]["entity_id"], rows["e5"]["entity_name"]) == ("hologram", "H1", "7")
    assert rows["e5"]["date_create"].timestamp() == 1709251204
    # not whole seconds, an actor that is no object: what cannot be typed is null, raw still has it all
    assert rows["e6"]["date_create"] is None
    assert rows["e6"]["actor_id"] is None
    assert rows["e6"]["action"] == "weird"


def test_the_ocsf_table_maps_odd_events_too():
    from airflow_provider_slack_audit.export.formats.ocsf import ocsf_schema, ocsf_table

    page = odd_page()
    table = ocsf_table(page.lines, page.ids, page.seconds)
    assert table.schema.equals(ocsf_schema(), check_metadata=True)
    rows = {row["metadata"]["uid"]: row for row in table.to_pylist()}
    assert (rows["e1"]["class_uid"], rows["e1"]["activity_id"], rows["e1"]["type_uid"]) == (3002, 1, 300201)
    assert rows["e1"]["actor"]["session"]["uid"] == "1297278038187"
    assert (rows["e2"]["file"]["uid"], rows["e2"]["actor"]["session"]["uid"]) == ("F1", "1713792205838")
    assert (rows["e3"]["group"]["uid"], rows["e3"]["group"]["type"]) == ("C1", "channel")
    assert (rows["e5"]["class_uid"], rows["e5"]["activity_id"], rows["e5"]["activity_name"]) == (
        6003,
        99,
        "hologram_summoned",
    )
    assert json.loads(rows["e5"]["unmapped"])["entity"] == {"type": "hologram", "id": "H1", "name": "7"}
    assert rows["e6"]["time"] is None
    assert rows["e6"]["raw_data"].encode() == ODD_EVENTS[5]


def write_parquet(tmp_path, pages, *, schema="flat", rows=4):
    from airflow_provider_slack_audit.export.formats.parquet_writer import ParquetExportWriter

    target = tmp_path / "out.parquet"
    sink = LocalFileSink(str(target), f"file://{target}", overwrite=True)
    writer = ParquetExportWriter(sink, ExportFormat("parquet", schema, False), row_group_rows=rows)
    return target, writer


def many_pages(count: int, size: int) -> list[RawPage]:
    pages = []
    for p in range(count):
        lines = [
            json.dumps({"id": f"id-{p}-{i}", "date_create": 1709251200 + i, "action": "user_login"}).encode()
            for i in range(size)
        ]
        pages.append(RawPage(lines, [f"id-{p}-{i}" for i in range(size)], [1709251200 + i for i in range(size)]))
    return pages


@pytest.mark.parametrize("schema", ["flat", "ocsf"])
def test_the_writer_writes_row_groups_through_the_export_writer_and_the_keys_read_back(tmp_path, schema):
    from airflow_provider_slack_audit.export.formats.parquet_reading import iter_keys, open_parquet

    target, writer = write_parquet(tmp_path, None, schema=schema, rows=4)
    pages = many_pages(3, 3)
    with writer:
        for page in pages:
            writer.write_raw_page(page)
    data = target.read_bytes()
    assert writer.sha256 == hashlib.sha256(data).hexdigest()
    assert writer.bytes == len(data)
    assert writer.events == 9
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]  # no temporary left
    parquet = pq.ParquetFile(target)
    # row groups of exactly the rows asked, across pages (only the last one smaller)
    assert [parquet.metadata.row_group(i).num_rows for i in range(parquet.metadata.num_row_groups)] == [4, 4, 1]
    assert open_parquet(target)[1:] == (schema, "1" if schema == "flat" else "1.3.0+1")
    keys = [(i, s) for ids, seconds in iter_keys(target, batch_rows=2) for i, s in zip(ids, seconds, strict=True)]
    assert keys == [(i, s) for page in pages for i, s in zip(page.ids, page.seconds, strict=True)]


def test_an_aborted_parquet_export_leaves_nothing_and_refuses_more(tmp_path):
    _target, writer = write_parquet(tmp_path, None, rows=2)
    writer.open()
    writer.write_raw_page(many_pages(1, 5)[0])  # row groups under way
    writer.abort()
    with pytest.raises(ExportAborted):
        writer.write_raw_page(many_pages(1, 1)[0])
    with pytest.raises(ExportAborted):
        writer.commit()
    writer.close()
    assert list(tmp_path.iterdir()) == []


def test_a_failure_mid_window_leaves_an_earlier_object_as_it_was(tmp_path):
    target = tmp_path / "out.parquet"
    target.write_bytes(b"the earlier export")
    _, writer = write_parquet(tmp_path, None)

    def lose_the_connection_mid_window():
        with writer:
            writer.write_raw_page(many_pages(1, 3)[0])
            raise RuntimeError("connection lost mid-window")

    with pytest.raises(RuntimeError):
        lose_the_connection_mid_window()
    assert target.read_bytes() == b"the earlier export"
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]


def test_an_event_without_an_id_cannot_be_a_row(tmp_path):
    _, writer = write_parquet(tmp_path, None)
    with writer, pytest.raises(ValueError, match="without a string id"):
        writer.write_raw_page(RawPage([b'{"id":5}'], [None], [None]))


def test_a_file_that_is_not_a_parquet_export_is_named_so(tmp_path):
    from airflow_provider_slack_audit.export.formats.parquet_reading import NotAnExport, iter_keys

    (tmp_path / "a.parquet").write_bytes(b'{"id": "x"}\n')
    with pytest.raises(NotAnExport, match="not a readable Parquet file"):
        list(iter_keys(tmp_path / "a.parquet"))
    pq.write_table(pa.table({"id": ["x"]}), tmp_path / "b.parquet")
    with pytest.raises(NotAnExport, match=r"slack_audit\.schema"):
        list(iter_keys(tmp_path / "b.parquet"))


def test_scan_reads_a_parquet_objects_ids_and_hashes_its_bytes(tmp_path):
    from airflow_provider_slack_audit.export.scan import export_format_of, scan_object
    from airflow_provider_slack_audit.export.writer import resolve_target

    target, writer = write_parquet(tmp_path, None)
    with writer:
        writer.write_raw_page(many_pages(1, 5)[0])
    found = []
    resolved = resolve_target(f"file://{target}", None)
    # without a manifest, a Parquet object is known by its bytes (PAR1), not its name
    sha256, size, events = scan_object(resolved.path, resolved.url, None, on_id=found.append)
    assert (sha256, size, events) == (writer.sha256, writer.bytes, 5)
    assert export_format_of(resolved.path, resolved.url, None) == ExportFormat("parquet", "flat", False)
    assert found == [f"id-0-{i}" for i in range(5)]


def test_date_create_as_stored_and_as_each_reader_gets_it_back(tmp_path):
    """The contract's ``timestamp[s, tz=UTC]`` is the file's Arrow schema; Parquet itself has no seconds, so the
    column is stored as milliseconds, and what pyarrow and DuckDB read back is pinned here (the guide says it)."""
    from airflow_provider_slack_audit.export.formats.flat import flat_schema

    target, writer = write_parquet(tmp_path, None, rows=4)
    with writer:
        writer.write_raw_page(odd_page())
    column = pq.ParquetFile(target).schema.column(1)
    assert (column.name, column.physical_type) == ("date_create", "INT64")
    logical = json.loads(column.logical_type.to_json())
    assert (logical["Type"], logical["isAdjustedToUTC"], logical["timeUnit"]) == ("Timestamp", True, "milliseconds")
    # the Arrow schema stored in the file says seconds, but pyarrow keeps Parquet's unit and restores the zone only
    assert pq.ParquetFile(target).schema_arrow.field("date_create").type == pa.timestamp("ms", tz="UTC")
    read = pq.read_table(target)
    assert read.schema.field("date_create").type == pa.timestamp("ms", tz="UTC")
    # read with the schema's type (the guide's recipe): exactly the documented type, the same instants
    schema = pq.read_schema(target)
    at = schema.get_field_index("date_create")
    schema = schema.set(at, pa.field("date_create", pa.timestamp("s", tz="UTC")))
    exact = pq.read_table(target, schema=schema)
    assert exact.schema.field("date_create").type == flat_schema().field("date_create").type
    assert exact["date_create"].to_pylist() == read["date_create"].to_pylist()
    assert exact["date_create"][0].value == 1709251200
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    first = con.execute("SELECT typeof(date_create), epoch(date_create) FROM read_parquet(?) LIMIT 1", [str(target)])
    assert first.fetchone() == ("TIMESTAMP WITH TIME ZONE", 1709251200)


def test_a_page_the_rows_thread_cannot_make_fails_the_export_and_leaves_nothing(tmp_path):
    """Rows are made on a background thread: what it hits is raised in the caller's thread (at the next write or
    the commit) and the export is thrown away, never committed without the page."""
    _, writer = write_parquet(tmp_path, None, rows=4)
    bad = RawPage([b'{"id":"x1","date_create":1709251200,"action":"caf\xe9"}'], ["x1"], [1709251200])

    def export() -> None:
        with writer:
            writer.write_raw_page(many_pages(1, 3)[0])
            writer.write_raw_page(bad)
            writer.write_raw_page(many_pages(1, 3)[0])

    with pytest.raises(Exception, match=r"(?i)utf-?8"):
        export()
    assert writer.aborted
    assert list(tmp_path.iterdir()) == []


def _table(schema: str, lines: list[bytes]):
    from airflow_provider_slack_audit.export.formats.parquet_writer import table_maker

    page = read_raw_page(b'{"ok":true,"entries":[' + b",".join(lines) + b'],"response_metadata":{"next_cursor":""}}')
    return table_maker(schema)[1](page.lines, page.ids, page.seconds)


def _without_raw(schema: str, table):
    return table.drop_columns(["raw" if schema == "flat" else "raw_data"]).to_pylist()


#: An event whose every part the tables read is well formed, written as a sender may (spaces, 1.0, 1e400).
_WELL_FORMED = (
    b'{"id":"m1","date_create":1709251200,"action":"file_downloaded",%s'
    b'"entity":{"type":"file","file":{"id":"F1","name":"a.pdf"}},'
    b'"context":{"location":{"type":"workspace","id":"T1"},"ua":"ua/1","ip_address":"10.0.0.1","session_id":42},'
    b'"details": {"ratio" : 1.0, "big": 123456789012345678901234567890, "x":[ 1 ,2]} }'
)


@pytest.mark.parametrize("schema", ["flat", "ocsf"])
@pytest.mark.parametrize(
    "misfit",
    [b'"actor":"not an object",', b'"actor":{"type":"user","user":"U1"},', b'"actor":[1],'],
)
def test_an_event_with_one_misfit_part_keeps_every_other_column_and_details_as_sent(schema, misfit):
    """One part of an event that the records cannot read (an ``actor`` that is not an object) leaves that part's
    columns null, and only those: the entity, the context and ``details`` (its JSON text exactly as sent) are
    the same as for the event without that part, on a page of its own or among well-formed events."""
    plain = _table(schema, [_WELL_FORMED % b""])
    odd = _table(schema, [_WELL_FORMED % misfit])
    mixed = _table(schema, [_WELL_FORMED % b"", _WELL_FORMED % misfit])
    expected = _without_raw(schema, plain)
    if schema == "flat":
        assert expected[0]["details"] == '{"ratio" : 1.0, "big": 123456789012345678901234567890, "x":[ 1 ,2]}'
        assert (expected[0]["entity_id"], expected[0]["context_session_id"]) == ("F1", "42")
    # the misfit actor's own columns aside (its kind may be readable; in OCSF it is in ``unmapped``)
    actor_columns = {"actor_type", "actor_id", "actor_name", "actor_email", "actor", "unmapped"}
    got = [_without_raw(schema, odd)[0], _without_raw(schema, mixed)[1]]
    for row in [*expected, *got]:
        for name in actor_columns & set(row):
            row.pop(name)
    assert got == [expected[0], expected[0]]
    if schema == "flat":
        assert (_without_raw(schema, odd)[0]["actor_id"], _without_raw(schema, mixed)[1]["actor_id"]) == (None, None)


@pytest.mark.parametrize("schema", ["flat", "ocsf"])
def test_a_kind_that_is_an_object_or_a_list_is_its_json_text_and_the_export_goes_on(tmp_path, schema):
    """``actor.type``/``entity.type`` are strings on Slack's events; one that is an object or a list must not
    stop the export: the kind column holds its JSON text, that part's other columns are null."""
    lines = [
        b'{"id":"k1","date_create":1709251200,"action":"user_login","actor":{"type":{"a":1},"user":{"id":"U1"}}}',
        b'{"id":"k2","date_create":1709251200,"action":"user_login","entity":{"type":["a"],"a":{"id":"X"}}}',
        b'{"id":"k3","date_create":1709251200,"action":"user_login","actor":{"type":"user","user":{"id":"U3"}}}',
    ]
    target, writer = write_parquet(tmp_path, None, schema=schema, rows=2)
    page = read_raw_page(b'{"ok":true,"entries":[' + b",".join(lines) + b'],"response_metadata":{"next_cursor":""}}')
    with writer:
        writer.write_raw_page(page)
    table = pq.read_table(target)
    assert table.num_rows == 3
    if schema == "flat":
        rows = table.select(["actor_type", "actor_id", "entity_type", "entity_id"]).to_pylist()
        assert rows == [
            {"actor_type": '{"a":1}', "actor_id": None, "entity_type": None, "entity_id": None},
            {"actor_type": None, "actor_id": None, "entity_type": '["a"]', "entity_id": None},
            {"actor_type": "user", "actor_id": "U3", "entity_type": None, "entity_id": None},
        ]
    assert [r.encode() for r in table["raw" if schema == "flat" else "raw_data"].to_pylist()] == lines


#: Events msgspec refuses and the page reader carries (the standard library reads them): the JSON Lines export
#: writes each as sent, so the Parquet export must too.
_REFUSED_BY_MSGSPEC = [
    b'{"id":"r1","date_create":1709251200,"action":"user_login","actor":{"type":"user","user":{"id":"U1",'
    b'"name":"half \\ud83d emoji"}},"context":{"session_id":NaN,"ua":"\\udc00x"},"details":{"score" : NaN}}',
    b'{"id":"r2","date_create":1709251201,"action":"file_downloaded","entity":{"type":"file","file":{"id":"F1",'
    b'"name":"caf\xc3\xa9"}},"context":{"session_id":-Infinity,"ip_address":"10.0.0.2"},"details":{"n":1e400}}',
    b'{"id":"r3","date_create":1709251202,"action":"hologram_summoned","actor":{"type":"robot","robot":'
    b'{"id":"R1","name":"\\ud800"}},"context":{"session_id":1e400},"details":[Infinity]}',
]


@pytest.mark.parametrize("schema", ["flat", "ocsf"])
def test_events_msgspec_refuses_are_rows_with_raw_as_sent(tmp_path, schema):
    """NaN, Infinity, numbers beyond a double and lone surrogate escapes are in pages Slack may send; the JSON
    Lines export carries them as sent. The Parquet export writes them too, among well-formed events: ``raw`` the
    exact bytes, ``details`` its text as sent, a non-finite number as its literal as sent, and in a typed string
    column (text is UTF-8 there) each lone surrogate as U+FFFD."""
    lines = [_WELL_FORMED % b"", *_REFUSED_BY_MSGSPEC]
    page = read_raw_page(b'{"ok":true,"entries":[' + b",".join(lines) + b'],"response_metadata":{"next_cursor":""}}')
    assert [bytes(line) for line in page.lines] == lines  # the reader carries them (as JSON Lines writes them)
    target, writer = write_parquet(tmp_path, None, schema=schema, rows=2)
    with writer:
        writer.write_raw_page(page)
    table = pq.read_table(target)
    assert [r.encode() for r in table["raw" if schema == "flat" else "raw_data"].to_pylist()] == lines
    rows = table.to_pylist()
    if schema == "flat":
        assert [r["details"] for r in rows[1:]] == ['{"score" : NaN}', '{"n":1e400}', "[Infinity]"]
        assert [r["context_session_id"] for r in rows[1:]] == ["NaN", "-Infinity", "1e400"]
        assert (rows[1]["actor_id"], rows[1]["actor_name"], rows[1]["context_ua"]) == (
            "U1",
            "half \ufffd emoji",
            "\ufffdx",
        )
        assert (rows[2]["entity_id"], rows[2]["entity_name"], rows[2]["context_ip_address"]) == (
            "F1",
            "café",
            "10.0.0.2",
        )
        assert (rows[3]["actor_type"], rows[3]["actor_id"], rows[3]["actor_name"]) == ("robot", "R1", "\ufffd")
    else:
        assert [r["actor"]["session"]["uid"] for r in rows[1:]] == ["NaN", "-Infinity", "1e400"]
        assert rows[1]["actor"]["user"]["name"] == "half \ufffd emoji"
        assert rows[2]["file"]["uid"] == "F1"
    assert rows[0] == _table(schema, [lines[0]]).to_pylist()[0]  # the well-formed event as on a page of its own
