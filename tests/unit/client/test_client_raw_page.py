"""client.raw_page: a page's entries as the bytes Slack sent, with only id and date_create decoded."""

from __future__ import annotations

import importlib.util
import json
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_slack_audit.client.raw_page import RawPage, RawPageError, read_raw_page

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=8)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
ENTRIES = st.lists(
    st.fixed_dictionaries(
        {"id": st.uuids().map(str), "date_create": st.integers(0, 2**40)},
        optional={"action": TEXT, "details": st.dictionaries(TEXT, VALUES, max_size=3)},
    ),
    max_size=6,
)


def lines(page: RawPage) -> list[bytes]:
    return [bytes(line) for line in page.lines]


def slack_body(texts: list[str], cursor: str = "") -> bytes:
    """A compact logs answer made of the entries' texts exactly as given."""
    return (
        '{"entries":[' + ",".join(texts) + '],"response_metadata":{"next_cursor":' + json.dumps(cursor) + "}}"
    ).encode()


@settings(max_examples=200, deadline=None)
@given(ENTRIES, st.booleans(), st.sampled_from(["", "dXNlcjpVMEc5V0ZYTlo=", "a+b/c=="]))
def test_each_line_is_the_entry_as_sent(entries: list[dict[str, Any]], ascii_only: bool, cursor: str) -> None:
    texts = [json.dumps(entry, ensure_ascii=ascii_only, separators=(",", ":")) for entry in entries]
    page = read_raw_page(slack_body(texts, cursor))
    assert lines(page) == [text.encode() for text in texts]
    assert [(e.id, e.date_create) for e in page] == [(x["id"], x["date_create"]) for x in entries]
    assert page.next_cursor == (cursor or None)
    assert len(page) == len(entries)


def test_the_bytes_are_kept_even_where_a_decoder_would_change_them() -> None:
    """Escapes, spelling of numbers, key order, spaces after separators: all as Slack wrote them."""
    texts = [
        '{"id":"a","date_create":1,"name":"Zo\\u00eb \\/ \\ud83d\\ude00","n":1.0E5,"m":-0,'
        '"big":123456789012345678901234567890}',
        '{ "date_create" : 2 , "id" : "b", "x": [1, 2] }',
        '{"id":"c","date_create":3,"id2":"\u00e9\u2028"}',
    ]
    page = read_raw_page(slack_body(texts))
    assert lines(page) == [text.encode() for text in texts]
    assert [e.id for e in page] == ["a", "b", "c"]


def test_an_entry_with_a_line_break_is_written_on_one_line_with_the_same_tokens() -> None:
    pretty = json.dumps({"id": "a", "date_create": 5, "text": "line\nbreak", "n": [1, 2]}, indent=2)
    body = (
        '{\n  "entries": [\n' + pretty + ',\r\n{"id":"b","date_create":4}\n],\n "response_metadata": {}\n}'
    ).encode()
    page = read_raw_page(body)
    assert lines(page) == [b'{"id":"a","date_create":5,"text":"line\\nbreak","n":[1,2]}', b'{"id":"b","date_create":4}']
    assert all(b"\n" not in line and b"\r" not in line for line in lines(page))
    assert page.next_cursor is None


def test_text_bodies_are_read_like_bytes() -> None:
    body = slack_body(['{"id":"é","date_create":1}'], "next")
    assert lines(read_raw_page(body.decode())) == lines(read_raw_page(body))


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ('{"date_create":1}', (None, 1)),
        ('{"id":7,"date_create":1}', (None, 1)),
        ('{"id":"x"}', ("x", None)),
        ('{"id":"x","date_create":"yesterday"}', ("x", "yesterday")),
        ('{"id":"x","date_create":{"t":1}}', ("x", {"t": 1})),
    ],
)
def test_keys_that_are_missing_or_odd_are_reported_as_such(entry: str, key: tuple[Any, Any]) -> None:
    """An id that is not a string cannot be de-duplicated on: None; date_create as Slack sent it."""
    (found,) = read_raw_page(slack_body([entry]))
    assert (found.id, found.date_create) == key


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "cut short or not JSON"),
        (b'{"entries":[{"id":"a"}', "cut short or not JSON"),
        (b"<html>busy</html>", "cut short or not JSON"),
        (b"[]", "not a JSON object"),
        (b'"entries"', "not a JSON object"),
        (b"{}", "no entries list"),
        (b'{"ok":true}', "no entries list"),
        (b'{"entries":null}', "no entries list"),
        (b'{"entries":{"id":"a"}}', "no entries list"),
        (b'{"entries":[{"id":"a"},5]}', "an entry that is not a JSON object (int)"),
        (b'{"entries":[["id","a"]]}', "an entry that is not a JSON object (list)"),
        (b'{"entries":[],"response_metadata":{"next_cursor":5}}', "a next_cursor that is not a string (5)"),
        (b'{"ok":false,"entries":[]}', '"ok": false'),
        (b'{"ok":false,"error":"invalid_cursor","entries":[]}', "\"ok\": false ('invalid_cursor')"),
    ],
)
def test_a_body_that_is_not_a_page_says_what_it_is(body: bytes, message: str) -> None:
    with pytest.raises(RawPageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_raw_page(body)


@pytest.mark.parametrize("metadata", ["null", "[]", '"x"', "{}", '{"next_cursor":null}', '{"next_cursor":""}'])
def test_no_next_cursor_in_any_form_ends_the_walk(metadata: str) -> None:
    assert read_raw_page(b'{"entries":[],"response_metadata":' + metadata.encode() + b"}").next_cursor is None


def test_what_msgspec_refuses_is_read_by_the_standard_library_and_written_compactly() -> None:
    body = b'{"entries":[{"id":"a","date_create":1,"x":NaN, "y": [1, 2]}],"response_metadata":{"next_cursor":"c"}}'
    page = read_raw_page(body)
    assert lines(page) == [b'{"id":"a","date_create":1,"x":NaN,"y":[1,2]}']
    assert (page.ids[0], page.next_cursor) == ("a", "c")


def test_without_msgspec_the_standard_library_gives_the_same_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "msgspec", None)  # import msgspec now raises ImportError
    spec = importlib.util.find_spec("airflow_provider_slack_audit.client.raw_page")
    assert spec is not None
    assert spec.loader is not None
    plain = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plain)
    body = slack_body(['{"id":"a","date_create":1,"name":"Zoë"}', '{"id":"b","date_create":0}'], "c")
    page = plain.read_raw_page(body)
    assert [bytes(e.json) for e in page] == lines(read_raw_page(body))
    assert [(e.id, e.date_create) for e in page] == [("a", 1), ("b", 0)]
    assert page.next_cursor == "c"
    with pytest.raises(plain.RawPageError, match="no entries list"):
        plain.read_raw_page(b"{}")


def test_the_emulator_page_is_read_byte_for_byte(slack_audit_emulator: Any) -> None:
    """On the emulator's compact answers, the lines joined are exactly the entries of the body."""
    import requests

    emulator = slack_audit_emulator
    answer = requests.get(
        f"{emulator.base_url}logs",
        params={"limit": 500, "oldest": 1709596800, "latest": 1709596800 + 86399},
        headers={"Authorization": f"Bearer {emulator.token}"},
        timeout=30,
    )
    body = answer.content
    page = read_raw_page(body)
    assert len(page) > 0
    start = body.index(b"[") + 1
    assert body[start:].startswith(b",".join(lines(page)) + b"]")
    decoded = json.loads(body)["entries"]
    assert [json.loads(line) for line in lines(page)] == decoded
    assert [(e.id, e.date_create) for e in page] == [(d["id"], d["date_create"]) for d in decoded]
