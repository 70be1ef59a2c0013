"""Slack's bytes pass through the client: a page msgspec refuses is read, written as it came, and never retried
for what a retry cannot change; an entry that cannot be carried is a typed error that names it.

The page below holds what a producer that cuts an emoji in half sends: a lone surrogate escape
(``"\\ud83d"``) inside a JSON string. Both clients (requests-mock for the sync one, a loopback server
for the async one) and the slack_sdk-shaped answer of ``logs()`` must take it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from client_helpers import LOGS, TOKEN

from airflow_provider_slack_audit.client import (
    AsyncSlackAuditLogsClient,
    SlackAuditLogsEntryError,
    SlackAuditLogsServerError,
)

#: Three events as Slack's bytes: the middle one's user agent ends with half an emoji.
ENTRIES = [
    b'{"id":"e3","date_create":1700000300,"action":"user_login","context":{"ua":"Slack \\ud83d\\ude00"}}',
    b'{"id":"e2","date_create":1700000200,"action":"user_login","context":{"ua":"Slack \\ud83d"}}',
    b'{"id":"e1","date_create":1700000100,"action":"user_logout","details":{"n":NaN}}',
]
BODY = b'{"ok":true,"entries":[' + b",".join(ENTRIES) + b'],"response_metadata":{"next_cursor":""}}'
#: A whole body whose second entry is not JSON (a producer's bug), and the same body cut short.
BROKEN = b'{"ok":true,"entries":[' + ENTRIES[0] + b',{"id":"e2",date_create:1}],"response_metadata":{}}'
CUT = BODY[: len(BODY) // 2]


def test_the_sync_walk_writes_each_entry_as_the_bytes_slack_sent(make_client, requests_mock):
    requests_mock.get(LOGS, content=BODY)
    pages = list(make_client().iter_pages(oldest=1700000000, latest=1700000400, raw_entries=True))
    assert [bytes(line) for p in pages for line in p.entries.lines] == ENTRIES
    assert b"\n".join(bytes(line) for p in pages for line in p.entries.lines) + b"\n" == b"\n".join(ENTRIES) + b"\n"
    assert requests_mock.call_count == 1  # read at once, not retried


def test_the_dict_walk_and_logs_give_the_values_and_slack_sdk_attributes_work(make_client, requests_mock):
    from slack_sdk.audit_logs.v1.response import AuditLogsResponse as SdkResponse

    requests_mock.get(LOGS, content=BODY)
    client = make_client()
    events = list(client.iter_logs(oldest=1700000000, latest=1700000400))
    assert [e["context"]["ua"] for e in events[:2]] == ["Slack \U0001f600", "Slack \ud83d"]
    response = client.logs(oldest=1700000000, latest=1700000400)
    assert response.validate() is response
    assert response.raw_body == BODY.decode()
    assert response.body["entries"][:2] == json.loads(BODY)["entries"][:2]  # the third holds NaN (never equal)
    assert response.typed_body.entries[1].context.ua == "Slack \ud83d"
    assert response.typed_body.entries[1].id == "e2"
    sdk = SdkResponse(url=LOGS, status_code=200, raw_body=BODY.decode(), headers={})
    assert sdk.body["entries"][1] == response.body["entries"][1]


@pytest.mark.parametrize("raw", [True, False], ids=["raw", "dicts"])
def test_an_entry_that_is_not_json_is_named_once_not_retried(make_client, requests_mock, raw):
    requests_mock.get(LOGS, content=BROKEN)
    with pytest.raises(SlackAuditLogsEntryError) as caught:
        list(make_client().iter_pages(oldest=1700000000, latest=1700000400, raw_entries=raw))
    error = caught.value
    assert requests_mock.call_count == 1
    assert (error.page, error.index, error.offset) == (1, 1, BROKEN.index(b',{"id":"e2",date') + 1)
    assert error.problem.startswith("not JSON")
    assert error.excerpt == repr('{"id":"e2",date_create:1}],"response_metadata":{}}')
    assert f"page 1, entry 1 (byte {error.offset} of the body): not JSON" in str(error)


def test_a_body_cut_short_is_still_retried(make_client, requests_mock):
    requests_mock.get(LOGS, [{"content": CUT}, {"content": BODY}])
    pages = list(make_client().iter_pages(oldest=1700000000, latest=1700000400, raw_entries=True))
    assert [bytes(line) for p in pages for line in p.entries.lines] == ENTRIES
    assert requests_mock.call_count == 2


def test_the_entry_error_survives_pickling(make_client, requests_mock):
    import pickle

    requests_mock.get(LOGS, content=BROKEN)
    with pytest.raises(SlackAuditLogsEntryError) as caught:
        list(make_client().iter_logs(oldest=1700000000, latest=1700000400))
    copy = pickle.loads(pickle.dumps(caught.value))  # noqa: S301 (our own bytes)
    assert (type(copy), str(copy), copy.page, copy.index, copy.offset, copy.excerpt) == (
        SlackAuditLogsEntryError,
        str(caught.value),
        1,
        1,
        caught.value.offset,
        caught.value.excerpt,
    )


def send_bytes(data: bytes) -> Any:
    def act(handler: Any) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    return act


def test_the_async_client_takes_the_same_page_and_names_the_same_entry(loopback):
    loopback.script += [send_bytes(BODY), send_bytes(BODY), send_bytes(BROKEN)]

    async def go() -> tuple[list[bytes], list[Any], BaseException]:
        async with AsyncSlackAuditLogsClient(TOKEN, base_url=loopback.base_url, max_retries=0) as client:
            pages = [p async for p in client.iter_pages(oldest=1700000000, latest=1700000400, raw_entries=True)]
            events = [e async for e in client.iter_logs(oldest=1700000000, latest=1700000400)]
            try:
                [e async for e in client.iter_logs(oldest=1700000000, latest=1700000400)]
            except SlackAuditLogsEntryError as err:
                return [bytes(line) for p in pages for line in p.entries.lines], events, err
        raise AssertionError("the broken entry was not refused")

    lines, events, error = asyncio.run(go())
    assert lines == ENTRIES
    assert events[1]["context"]["ua"] == "Slack \ud83d"
    assert (error.page, error.index) == (1, 1)
    assert not isinstance(error, SlackAuditLogsServerError)
