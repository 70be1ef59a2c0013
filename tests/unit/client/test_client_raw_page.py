"""client.raw_page: a page's entries as the bytes Slack sent, with only id and date_create decoded."""

from __future__ import annotations

import importlib.util
import json
import mmap
import sys
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_slack_audit.client.body_buffer import BodyBuffer
from airflow_provider_slack_audit.client.entry_rules import EXCERPT_CHARS, excerpt
from airflow_provider_slack_audit.client.raw_page import RawPage, RawPageError, UnreadableEntryError, read_raw_page

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


Reader = Callable[[Any], RawPage]


def mapped(body: bytes) -> bytes | mmap.mmap:
    """``body`` as the client hands a page over: written into a mapping of its own (client.body_buffer)."""
    buffer = BodyBuffer()
    buffer.reserve(len(body))
    buffer.write(body)
    return buffer.take()


@pytest.fixture(scope="module", params=["bytes", "mapping"])
def read(request: pytest.FixtureRequest) -> Reader:
    """read_raw_page over the body as bytes, and over the mapping the client reads a page into."""
    if request.param == "bytes":
        return read_raw_page
    return lambda body: read_raw_page(mapped(body) if isinstance(body, bytes) else body)


def lines(page: RawPage) -> list[bytes]:
    return [bytes(line) for line in page.lines]


def slack_body(texts: list[str], cursor: str = "") -> bytes:
    """A compact logs answer made of the entries' texts exactly as given."""
    return (
        '{"entries":[' + ",".join(texts) + '],"response_metadata":{"next_cursor":' + json.dumps(cursor) + "}}"
    ).encode()


@settings(max_examples=200, deadline=None)
@given(ENTRIES, st.booleans(), st.sampled_from(["", "dXNlcjpVMEc5V0ZYTlo=", "a+b/c=="]))
def test_each_line_is_the_entry_as_sent(
    read: Reader, entries: list[dict[str, Any]], ascii_only: bool, cursor: str
) -> None:
    texts = [json.dumps(entry, ensure_ascii=ascii_only, separators=(",", ":")) for entry in entries]
    page = read(slack_body(texts, cursor))
    assert lines(page) == [text.encode() for text in texts]
    assert [(e.id, e.date_create) for e in page] == [(x["id"], x["date_create"]) for x in entries]
    assert page.next_cursor == (cursor or None)
    assert len(page) == len(entries)


def test_the_bytes_are_kept_even_where_a_decoder_would_change_them(read: Reader) -> None:
    """Escapes, spelling of numbers, key order, spaces after separators: all as Slack wrote them."""
    texts = [
        '{"id":"a","date_create":1,"name":"Zo\\u00eb \\/ \\ud83d\\ude00","n":1.0E5,"m":-0,'
        '"big":123456789012345678901234567890}',
        '{ "date_create" : 2 , "id" : "b", "x": [1, 2] }',
        '{"id":"c","date_create":3,"id2":"\u00e9\u2028"}',
    ]
    page = read(slack_body(texts))
    assert lines(page) == [text.encode() for text in texts]
    assert [e.id for e in page] == ["a", "b", "c"]


def test_an_entry_with_a_line_break_is_written_on_one_line_with_the_same_tokens(read: Reader) -> None:
    pretty = json.dumps({"id": "a", "date_create": 5, "text": "line\nbreak", "n": [1, 2]}, indent=2)
    body = (
        '{\n  "entries": [\n' + pretty + ',\r\n{"id":"b","date_create":4}\n],\n "response_metadata": {}\n}'
    ).encode()
    page = read(body)
    assert lines(page) == [b'{"id":"a","date_create":5,"text":"line\\nbreak","n":[1,2]}', b'{"id":"b","date_create":4}']
    assert all(b"\n" not in line and b"\r" not in line for line in lines(page))
    assert page.next_cursor is None


def test_text_bodies_are_read_like_bytes(read: Reader) -> None:
    body = slack_body(['{"id":"é","date_create":1}'], "next")
    assert lines(read(body.decode())) == lines(read(body))


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
def test_keys_that_are_missing_or_odd_are_reported_as_such(read: Reader, entry: str, key: tuple[Any, Any]) -> None:
    """An id that is not a string cannot be de-duplicated on: None; date_create as Slack sent it."""
    (found,) = read(slack_body([entry]))
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
        (b'{"entries":[{"id":"a"},5]}', "entry 1 (byte 23 of the body): not a JSON object (int); it starts '5'"),
        (b'{"entries":[["id","a"]]}', "entry 0 (byte 12 of the body): not a JSON object (list)"),
        (b'{"entries":[],"response_metadata":{"next_cursor":5}}', "a next_cursor that is not a string (5)"),
        (b'{"ok":false,"entries":[]}', '"ok": false'),
        (b'{"ok":false,"error":"invalid_cursor","entries":[]}', "\"ok\": false ('invalid_cursor')"),
    ],
)
def test_a_body_that_is_not_a_page_says_what_it_is(read: Reader, body: bytes, message: str) -> None:
    with pytest.raises(RawPageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read(body)


@pytest.mark.parametrize("metadata", ["null", "[]", '"x"', "{}", '{"next_cursor":null}', '{"next_cursor":""}'])
def test_no_next_cursor_in_any_form_ends_the_walk(read: Reader, metadata: str) -> None:
    assert read(b'{"entries":[],"response_metadata":' + metadata.encode() + b"}").next_cursor is None


@pytest.mark.parametrize(
    "entry",
    [
        '{"id":"a","date_create":1,"ua":"Firefox \\ud83d"}',  # an emoji cut in half: a lone surrogate escape
        '{"id":"a","date_create":1,"ua":"\\udc00 then \\ud83d\\ude00"}',  # a lone low one, then a pair
        '{"id":"a","date_create":1,"x":NaN, "y": [1, 2], "z": 1e400}',  # not standard JSON, spaces kept
        '{"id":"a","date_create":1,"n":123456789012345678901234567890.5e-3}',
    ],
)
def test_what_msgspec_refuses_is_read_by_the_standard_library_as_the_bytes_slack_sent(read: Reader, entry: str) -> None:
    body = slack_body([entry, '{"id":"b","date_create":0}'], "c")
    page = read(body)
    assert lines(page) == [entry.encode(), b'{"id":"b","date_create":0}']
    assert (page.ids, page.seconds, page.next_cursor) == (["a", "b"], [1, 0], "c")


def test_an_entry_over_several_lines_loses_only_the_whitespace_between_its_tokens(read: Reader) -> None:
    body = b'{"entries": [\n  {\n    "id": "a",\n    "date_create": 1,\n    "t": "x \\ud83d  y\\n"\n  }\n]}'
    assert lines(read(body)) == [b'{"id":"a","date_create":1,"t":"x \\ud83d  y\\n"}']


@settings(max_examples=150, deadline=None)
@given(ENTRIES, st.sampled_from(["\\ud83d", "\\udfff", "\\ud800x", "NaN"]), st.integers(0, 5))
def test_any_page_msgspec_refuses_keeps_every_entry_byte_for_byte(
    read: Reader, entries: list[dict[str, Any]], odd: str, at: int
):
    texts = [json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in entries]
    if texts:
        i = at % len(texts)
        texts[i] = texts[i][:-1] + (',"odd":' + (odd if odd == "NaN" else f'"{odd}"')) + "}"
    page = read(slack_body(texts))
    assert lines(page) == [t.encode() for t in texts]
    assert page.ids == [e["id"] for e in entries]


@pytest.mark.parametrize(
    ("body", "index", "offset", "problem"),
    [
        (b'{"entries":[{"id":"a"},{"id":"b",oops},{"id":"c"}]}', 1, 23, "not JSON"),
        (b'{"entries":[{"id":"a"},{"id":"b","x":"\xff\xfe"}]}', 1, 23, "not UTF-8"),
        (b'{"entries":[{"id":"a"},{"id":"b","x":"\\ud83d"},7]}', 2, 47, "not a JSON object (int)"),
        (b'{"entries":[{"id":"\xc3\xa9"},[1]]}', 1, 24, "not a JSON object (list)"),
    ],
)
def test_an_entry_that_cannot_be_carried_is_named_not_taken_for_a_cut_body(
    read: Reader, body, index, offset, problem
) -> None:
    with pytest.raises(UnreadableEntryError) as caught:
        read(body)
    error = caught.value
    assert (error.index, error.offset) == (index, offset)
    assert error.problem.startswith(problem)
    assert body[offset : offset + 1] in (b"{", b"[", b"7")  # where the entry starts
    assert error.excerpt.isascii()
    assert error.excerpt.isprintable()
    assert f"entry {index} (byte {offset} of the body): {problem}" in str(error)


@pytest.mark.parametrize(
    "body",
    [
        b'{"entries":[{"id":"a"},{"id":"b",oops',  # cut inside a bad entry: the network's, retried
        b'{"entries":[{"id":"a"},{"id":"b","x":"\\ud83d',
        b'{"entries":[{"id":"a"},{"id":"b","x":"\xff"}',
    ],
)
def test_a_body_cut_short_is_a_page_error_to_retry_not_an_entry_error(read: Reader, body: bytes) -> None:
    with pytest.raises(RawPageError, match="cut short or not JSON") as caught:
        read(body)
    assert not isinstance(caught.value, UnreadableEntryError)


def test_an_excerpt_is_one_short_escaped_line() -> None:
    entry = '{"id":"a","t":"\\ud83d","u":"' + "\u2028\u0007\x1b" + "x" * 500 + '"}'
    shown = excerpt(entry.encode() + b"\xff")
    assert len(shown) < EXCERPT_CHARS + 40
    assert shown.isascii()
    assert shown.isprintable()
    assert shown.endswith("...'")


def test_without_msgspec_the_standard_library_gives_the_same_page(
    read: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "msgspec", None)  # import msgspec now raises ImportError
    spec = importlib.util.find_spec("airflow_provider_slack_audit.client.raw_page")
    assert spec is not None
    assert spec.loader is not None
    plain = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plain)
    body = slack_body(['{"id":"a","date_create":1,"name":"Zoë"}', '{"id":"b","date_create":0}'], "c")
    page = plain.read_raw_page(body)
    assert [bytes(e.json) for e in page] == lines(read(body)) == lines(plain.read_raw_page(mapped(body)))
    assert [(e.id, e.date_create) for e in page] == [("a", 1), ("b", 0)]
    assert page.next_cursor == "c"
    with pytest.raises(plain.RawPageError, match="no entries list"):
        plain.read_raw_page(mapped(b"{}"))


def test_the_emulator_page_is_read_byte_for_byte(read: Reader, slack_audit_emulator: Any) -> None:
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
    page = read(body)
    assert len(page) > 0
    start = body.index(b"[") + 1
    assert body[start:].startswith(b",".join(lines(page)) + b"]")
    decoded = json.loads(body)["entries"]
    assert [json.loads(line) for line in lines(page)] == decoded
    assert [(e.id, e.date_create) for e in page] == [(d["id"], d["date_create"]) for d in decoded]
