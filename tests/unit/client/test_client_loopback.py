"""Against a real HTTP server on 127.0.0.1: read timeouts, resets, cut bodies, redirects, keep-alive."""

from __future__ import annotations

import json
import re
import socket

import pytest
from client_helpers import TOKEN, entry, page, redirect, reset, send_cut, send_json, stall
from raw_server import chunked_response, http_response, raw_server, send

from airflow_provider_slack_audit.client import SlackAuditLogsServerError

GOOD = page([entry("a", 5), entry("b", 4)])


def test_read_timeouts_are_retried(make_client, loopback, fake_time, caplog):
    loopback.script += [stall(loopback), send_json(200, GOOD)]
    client = make_client(base_url=loopback.base_url, timeout=0.3)
    response = client.logs(oldest=1, latest=9)
    assert [e.id for e in response.typed_body.entries] == ["a", "b"]
    assert client.stats.retries == 1
    assert re.search(r"no complete answer within timeout=0\.\d+s.*; retry 1 of 8", caplog.text)


def test_read_timeouts_that_persist_raise_server_error(make_client, loopback):
    loopback.script += [stall(loopback), stall(loopback)]
    client = make_client(base_url=loopback.base_url, timeout=0.2, max_retries=1)
    with pytest.raises(
        SlackAuditLogsServerError, match=r"after 2 attempts: (no complete answer within|a read) timeout"
    ) as info:
        list(client.iter_logs(oldest=1, latest=9))
    assert TOKEN not in str(info.value)
    assert len(loopback.seen) == 2


def test_connection_resets_are_retried(make_client, loopback):
    loopback.script += [reset, reset, send_json(200, GOOD)]
    client = make_client(base_url=loopback.base_url)
    assert [e["id"] for e in client.iter_logs(oldest=1, latest=9)] == ["a", "b"]
    assert client.stats.retries == 2


def test_connection_resets_that_persist_raise_server_error(make_client, loopback):
    loopback.script += [reset] * 3
    with pytest.raises(
        SlackAuditLogsServerError, match=r"after 3 attempts: the connection was lost \(ConnectionResetError"
    ):
        make_client(base_url=loopback.base_url, max_retries=2).logs()


def test_connection_refused_raises_server_error(make_client):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/audit/v1/"
    with pytest.raises(SlackAuditLogsServerError, match=r"could not connect \(ConnectionRefusedError"):
        make_client(base_url=url, max_retries=1).logs()


def test_a_body_cut_short_is_retried(make_client, loopback, caplog):
    loopback.script += [send_cut(GOOD), send_json(200, GOOD)]
    client = make_client(base_url=loopback.base_url)
    assert client.logs().typed_body.entries[1].id == "b"
    assert "body cut short" in caplog.text
    assert client.stats.retries == 1


BIG = page([entry(f"e{i:05d}", 9, details={"n": "x" * (i % 97)}) for i in range(3000)])  # ~0.5 MB: many reads


BIG_BODY = json.dumps(BIG).encode()


@pytest.mark.parametrize(
    "answer",
    [
        http_response(BIG_BODY),
        chunked_response(BIG_BODY, piece=1000),
        chunked_response(BIG_BODY, piece=1000, headers={"Content-Length": "10"}),  # chunks win (RFC 9112 6.3)
        chunked_response(BIG_BODY, piece=70_000),
    ],
    ids=["content-length", "chunked", "chunked-and-a-wrong-length", "big-chunks"],
)
def test_a_raw_page_is_every_byte_the_server_sent_however_it_is_framed(make_client, answer):
    """A body read into the client's own mapping: in pieces, with or without a length, is the body as sent."""
    with raw_server(send(answer)) as server:
        (got,) = make_client(base_url=server.base_url).iter_pages(oldest=1, latest=9, raw_entries=True)
    assert [bytes(line) for line in got.entries.lines] == [json.dumps(e).encode() for e in BIG["entries"]]
    assert got.entries.ids == [e["id"] for e in BIG["entries"]]


def test_the_token_goes_to_the_api_host_only(make_client, loopback):
    # Same host: the redirect keeps the token (the control). Another host name: it is dropped.
    here = loopback.base_url + "logs?moved=1"
    elsewhere = f"http://localhost:{loopback.port}/audit/v1/logs?moved=2"
    loopback.script += [redirect(here), send_json(200, GOOD), redirect(elsewhere), send_json(200, GOOD)]
    client = make_client(base_url=loopback.base_url)
    assert client.logs().status_code == 200
    assert client.logs().status_code == 200
    seen = loopback.seen
    assert [s.path for s in seen] == [
        "/audit/v1/logs",
        "/audit/v1/logs?moved=1",
        "/audit/v1/logs",
        "/audit/v1/logs?moved=2",
    ]
    assert seen[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert seen[1].headers["Authorization"] == f"Bearer {TOKEN}"
    assert "Authorization" not in seen[3].headers
    assert seen[3].headers["Host"].startswith("localhost")


def test_keep_alive_and_headers_on_the_wire(make_client, loopback):
    loopback.script += [send_json(200, GOOD), send_json(200, GOOD), send_json(200, GOOD)]
    client = make_client(base_url=loopback.base_url, user_agent_prefix="acme/1")
    for _ in range(3):
        client.logs(oldest=1, latest=9)
    assert len({s.client_port for s in loopback.seen}) == 1  # one connection, reused
    first = loopback.seen[0]
    assert first.headers["User-Agent"].startswith("acme/1 airflow-provider-slack-audit/")
    assert TOKEN not in first.path
    assert first.path == "/audit/v1/logs?oldest=1&latest=9"
