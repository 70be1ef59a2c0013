"""client.jsonio: the fast JSON path reads and writes the same content as the standard library."""

from __future__ import annotations

import gc
import importlib.util
import json
import math
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_slack_audit.client import jsonio

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**200), max_value=2**200)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
)


def same(a: Any, b: Any) -> bool:
    """Equal values of equal types, dict key order and the sign of zero and NaN included."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same, a, b))
    return a == b


def test_the_fast_path_is_on() -> None:
    """msgspec ships with Airflow, so the tests run the fast path (the fallback is tested below)."""
    assert jsonio.FAST


@settings(max_examples=300, deadline=None)
@given(VALUES, st.booleans())
def test_loads_reads_what_json_reads(value: Any, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    expected = json.loads(text)
    assert same(jsonio.loads(text), expected)
    assert same(jsonio.loads(text.encode()), expected)


@settings(max_examples=300, deadline=None)
@given(st.lists(VALUES, max_size=5))
def test_dumps_lines_writes_one_compact_json_value_per_line(entries: list[Any]) -> None:
    out = jsonio.dumps_lines(entries)
    lines = out.decode("utf-8").split("\n")
    assert lines.pop() == ""  # every line ends in a newline
    assert len(lines) == len(entries)
    for line, entry in zip(lines, entries, strict=True):
        assert same(json.loads(line), json.loads(json.dumps(entry)))
        if not _has_float(entry):  # keys, strings, integers: byte for byte what json writes
            assert line == json.dumps(entry, ensure_ascii=False, separators=(",", ":"))


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(map(_has_float, value.values()))
    if isinstance(value, list):
        return any(map(_has_float, value))
    return False


def test_chunks_concatenate_to_the_page() -> None:
    entries = [{"id": str(i), "n": i, "name": "Zoë"} for i in range(2500)]
    chunks = list(jsonio.iter_lines_chunks(entries, chunk_entries=1000))
    assert len(chunks) == 3
    assert b"".join(chunks) == jsonio.dumps_lines(entries)
    assert list(jsonio.iter_lines_chunks([])) == []


@pytest.mark.parametrize(
    ("body", "line"),
    [
        ("[NaN,Infinity,-Infinity]", b"[NaN,Infinity,-Infinity]\n"),
        ('{"big":1e400}', b'{"big":Infinity}\n'),
        ('{"n":18446744073709551616123}', b'{"n":18446744073709551616123}\n'),
    ],
)
def test_what_msgspec_refuses_reads_and_writes_as_json_does(body: str, line: bytes) -> None:
    """NaN/Infinity and doubles out of range go through json, and are written back as json wrote them."""
    value = jsonio.loads(body)
    assert same(value, json.loads(body))
    assert jsonio.dumps_lines([value]) == line
    assert line == (json.dumps(json.loads(body), separators=(",", ":")) + "\n").encode()


def test_a_lone_surrogate_reads_as_json_reads_it_and_cannot_be_written() -> None:
    value = jsonio.loads('{"a":"\\ud800"}')
    assert value == {"a": "\ud800"}
    with pytest.raises(UnicodeEncodeError):
        jsonio.dumps_lines([value])


def test_not_json_raises_value_error() -> None:
    with pytest.raises(ValueError, match=r"Expecting|Extra|Unterminated"):
        jsonio.loads('{"entries": [')


def test_the_collector_is_back_on_after_a_decode_and_stays_off_if_it_was() -> None:
    assert gc.isenabled()
    jsonio.loads('{"entries":[{"id":"a"}]}')
    assert gc.isenabled()
    with pytest.raises(ValueError, match="Expecting"):
        jsonio.loads("{")
    assert gc.isenabled()
    gc.disable()
    try:
        jsonio.loads('{"a":1}')
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_without_msgspec_the_standard_library_does_the_same_job(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "msgspec", None)  # import msgspec now raises ImportError
    spec = importlib.util.find_spec("airflow_provider_slack_audit.client.jsonio")
    assert spec is not None
    assert spec.loader is not None
    plain = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plain)
    assert not plain.FAST
    body = '{"entries":[{"id":"a","n":18446744073709551616123,"x":NaN,"name":"Zoë"}]}'
    assert same(plain.loads(body), json.loads(body))
    entries = plain.loads(body)["entries"]
    assert plain.dumps_lines(entries) == jsonio.dumps_lines(jsonio.loads(body)["entries"])
    assert plain.dumps_lines([]) == b""
