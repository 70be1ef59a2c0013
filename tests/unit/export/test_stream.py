"""Reading a stored object as it streams by: the bytes hashed and counted, the lines split chunk by chunk."""

from __future__ import annotations

import hashlib
import io
import itertools

import pytest

from airflow_provider_slack_audit.export.stream import READ_CHUNK, HashingReader, iter_lines, terminated_lines


def split_at_once(data: bytes) -> list[bytes]:
    """What the lines are, from all the bytes at once: the splitter must give the same in any chunking."""
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return lines


def lines_of(data: bytes, chunk_size: int) -> list[bytes]:
    return list(iter_lines(io.BytesIO(data), chunk_size))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", []),
        (b"\n", [b""]),
        (b"a\nb\n", [b"a", b"b"]),
        (b"a\nb", [b"a", b"b"]),  # a last line without line break is yielded
        (b"a\n\nb\n", [b"a", b"", b"b"]),  # an empty line inside is kept
        (b"a\r\nb\r\n", [b"a\r", b"b\r"]),  # CRLF: the \r stays, as it is
        (b"a\r\nb\r", [b"a\r", b"b\r"]),
    ],
)
@pytest.mark.parametrize("chunk_size", [1, 2, 3, 1000])
def test_iter_lines_yields_the_lines_without_their_line_break(data, expected, chunk_size):
    assert lines_of(data, chunk_size) == expected


def test_a_line_longer_than_many_chunks_is_whole():
    long = bytes(range(32, 127)) * 1000  # 95,000 bytes, no line break
    data = b"first\n" + long + b"\n" + long + b"\r\nlast"
    assert lines_of(data, 7) == [b"first", long, long + b"\r", b"last"]
    assert lines_of(long, 7) == [long]  # no line break at all: one line, the whole stream


def test_every_chunking_gives_the_lines_of_the_whole():
    pieces = [b"", b"a", b"bc", b"\n", b"\r\n", b"\n\n", b"xyz" * 5]
    for parts in itertools.product(pieces, repeat=4):
        data = b"".join(parts)
        for chunk_size in (1, 2, 5, 64):
            assert lines_of(data, chunk_size) == split_at_once(data), (data, chunk_size)


@pytest.mark.parametrize(
    ("data", "lines", "rest"),
    [
        (b"", [], b""),
        (b"a\nb\n", [b"a", b"b"], b""),
        (b"a\nbcdefg", [b"a"], b"bcdefg"),
        (b"abcdefg", [], b"abcdefg"),
    ],
)
def test_terminated_lines_returns_what_follows_the_last_line_break(data, lines, rest):
    splitter = terminated_lines(io.BytesIO(data), 2)
    assert [next(splitter) for _ in lines] == lines
    with pytest.raises(StopIteration) as end:
        next(splitter)
    assert end.value.value == rest


def test_iter_lines_reads_a_chunk_at_a_time():
    sizes: list[int] = []

    class Recording(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            sizes.append(size)  # type: ignore[arg-type]
            return super().read(size)

    assert list(iter_lines(Recording(b"a\n" * 10))) == [b"a"] * 10
    assert set(sizes) == {READ_CHUNK}


def test_hashing_reader_counts_and_hashes_every_byte_that_passes():
    data = bytes(range(256)) * 5000  # 1.28 MB: drain reads more than one chunk
    reader = HashingReader(io.BytesIO(data))
    assert reader.read(10) == data[:10]
    assert reader.size == 10
    reader.drain()
    assert reader.size == len(data)
    assert reader.digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert reader.read(10) == b""
    assert reader.size == len(data)
