"""client.body_buffer and BodyLimit: a body in a mapping of its own, exact, bounded, freed with its last view."""

from __future__ import annotations

import copy
import gc
import mmap
import pickle
import weakref
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_slack_audit.client import body_buffer
from airflow_provider_slack_audit.client.body_buffer import FIRST_CAPACITY, BodyBuffer
from airflow_provider_slack_audit.client.raw_page import read_raw_page
from airflow_provider_slack_audit.client.request import BodyLimit
from airflow_provider_slack_audit.client.response import AuditLogsResponse
from airflow_provider_slack_audit.client.retry_rules import TransportFailure

PIECES = st.lists(st.binary(max_size=3000) | st.integers(0, 3 * FIRST_CAPACITY).map(lambda n: b"x" * n), max_size=6)


@settings(max_examples=60, deadline=None)
@given(PIECES, st.booleans())
def test_the_body_is_the_pieces_joined_whatever_their_sizes(pieces: list[bytes], announced: bool) -> None:
    buffer = BodyBuffer()
    if announced:
        buffer.reserve(sum(map(len, pieces)))
    for piece in pieces:
        buffer.write(piece)
    body = buffer.take()
    expected = b"".join(pieces)
    assert len(body) == len(expected)
    assert body[:] == expected
    assert isinstance(body, mmap.mmap) if expected else body == b""
    assert (buffer.size, buffer.capacity) == (0, 0)  # taken: the buffer holds nothing any more


def test_an_announced_length_that_is_not_all_sent_leaves_no_tail_of_zeros() -> None:
    buffer = BodyBuffer()
    buffer.reserve(1000)
    buffer.write(b"abc")
    assert buffer.take()[:] == b"abc"


def test_without_mremap_the_body_moves_to_a_new_mapping_with_its_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """macOS has no mremap: Python's resize raises SystemError there; the bytes are carried over."""

    class NoResize(mmap.mmap):
        def resize(self, newsize: int) -> None:
            raise SystemError("mmap: resizing not available--no mremap()")

    monkeypatch.setattr(body_buffer.mmap, "mmap", NoResize)
    buffer = BodyBuffer()
    data = bytes(range(256)) * 4000  # over FIRST_CAPACITY: the mapping grows twice
    for start in range(0, len(data), 7000):
        buffer.write(data[start : start + 7000])
    body = buffer.take()
    assert len(body) == len(data)
    assert body[:] == data


def test_the_mapping_is_let_go_with_the_last_entry_that_views_it() -> None:
    """The lines of a page are views of the mapping: it lives while they do, and no longer."""
    buffer = BodyBuffer()
    buffer.write(b'{"entries":[{"id":"a","date_create":1},{"id":"b","date_create":2}]}')
    body = buffer.take()
    gone = weakref.ref(body)
    page = read_raw_page(body)
    del body
    gc.collect()
    assert gone() is not None
    assert [bytes(line) for line in page.lines] == [b'{"id":"a","date_create":1}', b'{"id":"b","date_create":2}']
    del page
    gc.collect()
    assert gone() is None


def test_a_discarded_buffer_gives_its_mapping_back_and_text_closes_the_mapping_it_decoded() -> None:
    buffer = BodyBuffer()
    buffer.reserve(5000)
    buffer.write(b"x" * 10)
    buffer.discard()
    assert (buffer.size, buffer.capacity, buffer.take()) == (0, 0, b"")
    limit = BodyLimit(100)
    limit.add(b'{"ok":true}')
    taken: list[Any] = []
    real_take = limit.buffer.take
    limit.buffer.take = lambda: taken.append(real_take()) or taken[-1]  # type: ignore[method-assign]
    assert limit.text() == '{"ok":true}'
    assert taken[0].closed


def test_a_raw_response_pickles_with_its_body_as_bytes() -> None:
    """A mapping cannot be pickled; a response that holds one is pickled (and deep-copied) with bytes."""
    buffer = BodyBuffer()
    body = b'{"entries":[{"id":"a","date_create":1}]}'
    buffer.write(body)
    response = AuditLogsResponse(url="u", status_code=200, raw_body=buffer.take(), headers={}, raw_entries=True)
    assert response.raw_page is not None
    for copied in (pickle.loads(pickle.dumps(response)), copy.deepcopy(response)):  # noqa: S301 - our own bytes
        assert copied.raw_body == body.decode()
        assert [bytes(line) for line in copied.raw_page.lines] == [b'{"id":"a","date_create":1}']


def test_a_body_over_the_bound_is_refused_announced_or_not() -> None:
    with pytest.raises(TransportFailure, match="larger than max_body_bytes=10"):
        BodyLimit(10).expect(11)
    limit = BodyLimit(10)
    limit.add(b"12345")
    with pytest.raises(TransportFailure, match="larger than max_body_bytes=10"):
        limit.add(b"123456")


def test_text_is_the_body_decoded_and_a_body_that_is_not_utf8_is_a_failure_to_retry() -> None:
    limit = BodyLimit(100)
    limit.add('{"ok":"é"}'.encode())
    assert limit.text() == '{"ok":"é"}'
    assert BodyLimit(100).text() == ""
    bad = BodyLimit(100)
    bad.add(b'{"ok":"\xff"}')
    with pytest.raises(TransportFailure, match="not UTF-8") as caught:
        bad.text()
    assert caught.value.retryable
