"""Property and fuzz tests of response parsing, for the sync client and the trigger's async client.

A loopback HTTP server answers each request from a script that hypothesis writes: arbitrary JSON,
JSON of the wrong types where entries, ids, seconds and cursors belong, bytes that are not JSON,
bodies cut short, any status. Whatever comes back, walking a window either yields entries (JSON
objects, no id twice in the walk) or raises a ``SlackAuditLogsError``: never a
``KeyError``, ``TypeError``, ``AttributeError`` or a hang. Huge and empty pages are checked too.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_slack_audit.client import (
    AsyncSlackAuditLogsClient,
    AuditLogsResponse,
    SlackAuditLogsClient,
    SlackAuditLogsEntryError,
    SlackAuditLogsError,
)
from airflow_provider_slack_audit.client.models import Record

TOKEN = "xoxp-fuzz-token"
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class ScriptedServer(ThreadingHTTPServer):
    """Answers the n-th request with ``script[n]``; the last answer repeats."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: list[Answer] = []
        self.calls = 0
        self.lock = threading.Lock()

    def next_answer(self) -> Answer:
        with self.lock:
            answer = self.script[min(self.calls, len(self.script) - 1)]
            self.calls += 1
            return answer

    def play(self, script: list[Answer]) -> None:
        with self.lock:
            self.script, self.calls = script, 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/audit/v1/"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        answer = self.server.next_answer()  # type: ignore[attr-defined]
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    srv = ScriptedServer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


# ---------------------------------------------------------------------------- strategies

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
entry_ids = st.sampled_from(["a", "b", "c", "d", "e"]) | st.lists(st.integers(), max_size=2) | json_values
entries = st.fixed_dictionaries(
    {},
    optional={
        "id": entry_ids,
        "date_create": st.integers(min_value=1_520_000_000, max_value=1_520_000_005) | json_values,
        "action": st.text(max_size=6) | json_values,
        "actor": json_values,
        "entity": json_values,
        "context": st.fixed_dictionaries({}, optional={"session_id": json_values}) | json_values,
        "details": json_values,
    },
)
pages = st.fixed_dictionaries(
    {},
    optional={
        "entries": st.lists(entries | json_values, max_size=8) | json_values,
        "response_metadata": st.fixed_dictionaries({}, optional={"next_cursor": st.text(max_size=3) | json_values})
        | json_values,
        "ok": json_values,
        "error": st.sampled_from(["invalid_cursor", "ratelimited", "invalid_auth", "internal_error"]) | json_values,
    },
)


def _cut(data: bytes, at: int) -> bytes:
    return data[: at % (len(data) + 1)]


#: A page as Slack shapes it, with wrong types inside: what a parser meets most often.
plausible_pages = st.fixed_dictionaries(
    {"entries": st.lists(entries, max_size=8)},
    optional={"response_metadata": st.fixed_dictionaries({"next_cursor": st.text(max_size=3) | json_values})},
)
bodies = st.one_of(
    plausible_pages.map(lambda p: json.dumps(p).encode()),
    pages.map(lambda p: json.dumps(p).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.tuples(pages.map(lambda p: json.dumps(p).encode()), st.integers(min_value=0)).map(lambda t: _cut(*t)),
    st.binary(max_size=40),
    st.text(max_size=20).map(lambda t: t.encode("utf-8", "surrogatepass")),
)
answers = st.builds(
    Answer,
    status=st.sampled_from([200, 200, 200, 200, 200, 200, 400, 401, 403, 404, 418, 429, 500, 502, 503]),
    body=bodies,
    headers=st.fixed_dictionaries({}, optional={"Retry-After": st.sampled_from(["0", "-1", "x", "1e9", "nan"])}),
)
scripts = st.lists(answers, min_size=1, max_size=5)

# ---------------------------------------------------------------------------- properties


def _assert_page_entries(page_entries: list, previous_ids: set) -> set:
    """The ids yielded so far in the walk, with this page's (each entry an object with a string id, never twice)."""
    assert all(isinstance(e, dict) for e in page_entries)
    ids = [e["id"] for e in page_entries]
    assert all(isinstance(i, str) and i for i in ids), "an entry without a usable id was yielded"
    assert len(ids) == len(set(ids)), "an id twice in one page"
    assert not set(ids) & previous_ids, "an id of an earlier page of the walk again"
    return previous_ids | set(ids)


def assert_typed_error(error: BaseException | None) -> None:
    """Nothing raised, or a typed error whose message says something and holds no token."""
    if error is not None:
        assert isinstance(error, SlackAuditLogsError), repr(error)
        assert str(error)
        assert TOKEN not in str(error)


def read_typed(record: object, *names: str) -> list:
    """The typed fields of ``record`` (a field of the wrong type is passed through as it came)."""
    return [getattr(record, name) for name in names] if isinstance(record, Record) else []


def walk_sync(base_url: str) -> SlackAuditLogsError | None:
    client = SlackAuditLogsClient(TOKEN, base_url=base_url, max_retries=1, max_retry_wait=0, timeout=5)
    previous: set = set()
    with client:
        try:
            for page in itertools.islice(client.iter_pages(oldest=1_520_000_000, latest=1_520_000_009), 40):
                previous = _assert_page_entries(page.entries, previous)
                for entry in page.response.typed_body.entries or []:
                    read_typed(entry, "id", "actor", "entity", "context", "details", "unknown_fields")
        except SlackAuditLogsError as err:
            return err
    return None


@FUZZ
@given(script=scripts)
def test_sync_client_yields_objects_or_raises_its_typed_errors(server, script):
    server.play(script)
    assert_typed_error(walk_sync(server.base_url))


async def walk_async(base_url: str) -> SlackAuditLogsError | None:
    client = AsyncSlackAuditLogsClient(
        TOKEN,
        base_url=base_url,
        max_retries=1,
        max_retry_wait=0,
        timeout=5,
        ssl=False,  # plain http: no TLS set-up
    )
    async with client:
        try:
            seen = 0
            async for entry in client.iter_logs(oldest=1_520_000_000, latest=1_520_000_009):
                assert isinstance(entry, dict)
                seen += 1
                if seen > 400:
                    break
        except SlackAuditLogsError as err:
            return err
    return None


@FUZZ
@given(script=scripts)
def test_async_client_yields_objects_or_raises_its_typed_errors(server, script):
    server.play(script)
    assert_typed_error(asyncio.run(asyncio.wait_for(walk_async(server.base_url), timeout=20)))


@settings(max_examples=300, deadline=None)
@given(
    status=st.integers(min_value=100, max_value=599),
    raw=st.one_of(st.none(), st.text(max_size=30), json_values.map(json.dumps), pages.map(json.dumps)),
    retry_after=st.none() | st.text(max_size=6),
)
def test_a_response_of_any_shape_reads_or_raises_a_typed_error(status, raw, retry_after):
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    response = AuditLogsResponse(
        url="https://api.slack.com/audit/v1/logs", status_code=status, raw_body=raw, headers=headers
    )
    assert response.body is None or isinstance(response.body, dict)
    assert repr(response)
    typed = response.typed_body
    if typed is not None:
        _, meta, *_ = read_typed(typed, "entries", "response_metadata", "ok", "error", "unknown_fields")
        assert typed.to_dict() == response.body
        read_typed(meta, "next_cursor")
        for entry in typed.entries or []:
            _, _, _, _, _, context, details = (
                read_typed(entry, "id", "date_create", "action", "actor", "entity", "context", "details") or [None] * 7
            )
            read_typed(context, "session_id")
            read_typed(details, "succeeded_users", "failed_users")
    error = None
    try:
        response.validate()
    except SlackAuditLogsError as err:
        error = err
    assert_typed_error(error)
    assert (error is None) == response.ok


@pytest.mark.parametrize("bad_id", [["x"], {"a": 1}, 7, None, True, "", "a\nb", "\ud83d"])
def test_an_entry_without_a_usable_id_is_refused_by_both_clients_naming_it(server, bad_id):
    # Issue 24: an event without a usable id cannot be written once; both clients say which, after one call.
    items = [{"id": "ok", "date_create": 1_520_000_001}, {"id": bad_id, "date_create": 1_520_000_001}]
    server.play([Answer(200, page_body(items))])
    with (
        SlackAuditLogsClient(TOKEN, base_url=server.base_url, max_retries=3) as client,
        pytest.raises(SlackAuditLogsEntryError, match="page 1, entry 1: ") as sync_error,
    ):
        list(client.iter_logs(oldest=1_520_000_000, latest=1_520_000_009))
    assert server.calls == 1
    server.play([Answer(200, page_body(items))])

    async def walk() -> list[dict]:
        async with AsyncSlackAuditLogsClient(TOKEN, base_url=server.base_url, max_retries=3) as aclient:
            return [e async for e in aclient.iter_logs(oldest=1_520_000_000, latest=1_520_000_009)]

    with pytest.raises(SlackAuditLogsEntryError) as async_error:
        asyncio.run(walk())
    assert server.calls == 1
    assert async_error.value.problem == sync_error.value.problem


@pytest.mark.parametrize("status", [200, 503])
def test_an_error_field_of_the_wrong_type_is_no_crash(server, status):
    server.play([Answer(status, b'{"entries": [], "error": ["ratelimited"]}')])
    assert_typed_error(walk_sync(server.base_url))
    server.play([Answer(status, b'{"entries": [], "error": ["ratelimited"]}')])
    assert_typed_error(asyncio.run(walk_async(server.base_url)))


# ---------------------------------------------------------------------------- huge and empty pages


def page_body(items: list[dict], cursor: str = "") -> bytes:
    return json.dumps({"entries": items, "response_metadata": {"next_cursor": cursor}}).encode()


def test_a_huge_page_with_repeats_yields_each_id_once_in_order(server):
    unique = [{"id": f"id-{n}", "date_create": 1_600_000_000 - n // 50} for n in range(20_000)]
    repeated = [e for n, e in enumerate(unique) for _ in range(2 if n % 4 == 0 else 1)]  # 5,000 repeats
    server.play([Answer(200, page_body(repeated))])
    with SlackAuditLogsClient(TOKEN, base_url=server.base_url, max_retries=0) as client:
        (page,) = list(client.iter_pages(oldest=1_599_000_000, latest=1_600_000_000))
    assert [e["id"] for e in page.entries] == [e["id"] for e in unique]
    assert (page.raw_count, page.duplicates_dropped) == (25_000, 5_000)


def test_empty_pages_with_cursors_are_followed_to_the_end(server):
    tail = [{"id": "last", "date_create": 1_600_000_000}]
    script = [Answer(200, page_body([], cursor=f"c{n}")) for n in range(12)] + [Answer(200, page_body(tail))]
    server.play(script)
    with SlackAuditLogsClient(TOKEN, base_url=server.base_url, max_retries=0) as client:
        got = list(client.iter_logs(oldest=1_599_000_000, latest=1_600_000_000))
    assert got == tail
    assert server.calls == 13
    server.play(script)

    async def walk() -> list[dict]:
        async with AsyncSlackAuditLogsClient(TOKEN, base_url=server.base_url, max_retries=0) as aclient:
            return [e async for e in aclient.iter_logs(oldest=1_599_000_000, latest=1_600_000_000)]

    assert asyncio.run(walk()) == tail
