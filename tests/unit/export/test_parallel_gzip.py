"""export.parallel_gzip: members compressed side by side read back as one gzip file, in order."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
import threading
import time
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_slack_audit.export import parallel_gzip as _parallel_gzip
from airflow_provider_slack_audit.export.parallel_gzip import ParallelGzipWriter, gzip_member


def jsonl(n: int) -> bytes:
    return b"".join(b'{"id":"%08d","date_create":%d,"action":"user_login"}\n' % (i, 1709596800 - i) for i in range(n))


def compress(chunks: list[bytes], **options: object) -> bytes:
    sink = io.BytesIO()
    with ParallelGzipWriter(sink, **options) as writer:  # type: ignore[arg-type]
        for chunk in chunks:
            assert writer.write(chunk) == len(chunk)
    return sink.getvalue()


def members(data: bytes) -> list[bytes]:
    """The decompressed content of each gzip member of ``data``."""
    found = []
    while data:
        d = zlib.decompressobj(31)
        found.append(d.decompress(data) + d.flush())
        assert d.eof, "a member is cut short"
        data = d.unused_data
    return found


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=30), st.integers(1, 700), st.integers(1, 3), st.integers(1, 4))
def test_any_writes_read_back_as_the_same_bytes(
    chunks: list[bytes], member_size: int, workers: int, in_flight: int
) -> None:
    out = compress(chunks, member_size=member_size, workers=workers, max_in_flight=in_flight)
    data = b"".join(chunks)
    assert gzip.decompress(out) == data
    parts = members(out)
    assert b"".join(parts) == data
    assert all(len(p) == member_size for p in parts[:-1])  # cut at exact member boundaries, in order


def test_one_file_for_gzip_open_and_zcat(tmp_path) -> None:
    data = jsonl(40_000)
    path = tmp_path / "out.jsonl.gz"
    with path.open("wb") as f, ParallelGzipWriter(f, member_size=64 << 10, workers=2) as writer:
        for start in range(0, len(data), 100_000):
            writer.write(data[start : start + 100_000])
    assert writer.members == -(-len(data) // (64 << 10)) > 2
    with gzip.open(path, "rb") as f:
        assert f.read() == data
    with gzip.open(path, "rt", encoding="utf-8") as f:
        assert sum(1 for _ in f) == 40_000
    zcat = shutil.which("zcat") or shutil.which("gzip")
    if zcat:
        args = [zcat] if zcat.endswith("zcat") else [zcat, "-dc"]
        assert subprocess.run([*args, str(path)], capture_output=True, check=True).stdout == data
        subprocess.run([shutil.which("gzip") or "gzip", "-t", str(path)], check=True)


def test_the_bytes_depend_only_on_the_input_not_on_threads_or_timing() -> None:
    data = jsonl(20_000)
    one = compress([data], member_size=1 << 16, workers=1)
    many = compress([data[i : i + 777] for i in range(0, len(data), 777)], member_size=1 << 16, workers=3)
    assert one == many
    assert one[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00" + one[8:10]  # no name flag, mtime 0
    assert zlib.decompress(gzip_member(data[: 1 << 16]), 31) == data[: 1 << 16]
    assert one.startswith(gzip_member(data[: 1 << 16]))


def test_level_6_by_default_and_the_level_is_used() -> None:
    data = jsonl(20_000)
    assert compress([data]) == gzip_member(data[: 1 << 20], 6) + b"".join(
        gzip_member(data[i : i + (1 << 20)], 6) for i in range(1 << 20, len(data), 1 << 20)
    )
    assert len(compress([data], compresslevel=1)) > len(compress([data], compresslevel=9))


def test_nothing_written_is_still_a_valid_empty_gzip_file() -> None:
    out = compress([])
    assert out
    assert gzip.decompress(out) == b""
    assert gzip.decompress(compress([b"", b""])) == b""


def test_the_cost_of_members_is_small() -> None:
    data = jsonl(50_000)
    single = len(gzip.compress(data, compresslevel=6, mtime=0))
    assert len(compress([data])) <= single * 1.02


class _SlowSink:
    """A sink that records how many members were compressed but not yet written at each write."""

    def __init__(self, writer_ref: list[ParallelGzipWriter]) -> None:
        self.writer_ref = writer_ref
        self.parts: list[bytes] = []
        self.most_pending = 0

    def write(self, data: bytes) -> int:
        self.most_pending = max(self.most_pending, len(self.writer_ref[0]._pending))
        time.sleep(0.002)
        self.parts.append(data)
        return len(data)


def test_memory_in_flight_is_bounded() -> None:
    ref: list[ParallelGzipWriter] = []
    sink = _SlowSink(ref)
    writer = ParallelGzipWriter(sink, member_size=4096, workers=2, max_in_flight=3)
    ref.append(writer)
    data = jsonl(20_000)
    for start in range(0, len(data), 50_000):
        writer.write(data[start : start + 50_000])
        assert len(writer._pending) <= 3
        assert len(writer._buffer) < 4096
    writer.close()
    assert sink.most_pending <= 3
    assert gzip.decompress(b"".join(sink.parts)) == data
    assert writer.bytes_in == len(data)
    assert writer.bytes_out == sum(map(len, sink.parts))


def test_members_are_compressed_on_several_threads() -> None:
    seen: set[int] = set()
    real = _parallel_gzip.gzip_member

    def spy(data: bytes, level: int = 6) -> bytes:
        seen.add(threading.get_ident())
        time.sleep(0.01)  # hold the member long enough for the other thread to take the next
        return real(data, level)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_parallel_gzip, "gzip_member", spy)
        compress([jsonl(5000)], member_size=4096, workers=2)
    assert len(seen) == 2
    assert threading.get_ident() not in seen


def test_an_error_while_compressing_reaches_the_writer_and_stops_the_threads() -> None:
    class Boom(Exception):
        pass

    def failing(data: bytes, level: int = 6) -> bytes:
        raise Boom("zlib failed")

    sink = io.BytesIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_parallel_gzip, "gzip_member", failing)
        writer = ParallelGzipWriter(sink, member_size=100, workers=2, max_in_flight=2)

        def write_all() -> None:
            for _ in range(10):
                writer.write(b"x" * 100)
            writer.close()

        with pytest.raises(Boom):
            write_all()
    assert writer.closed
    assert writer._executor is None
    with pytest.raises(ValueError, match="closed"):
        writer.write(b"more")


def test_an_error_in_the_block_aborts_without_writing_the_rest() -> None:
    sink = io.BytesIO()
    writer = ParallelGzipWriter(sink, member_size=1 << 20)

    def export() -> None:
        with writer:
            writer.write(b"a" * 1000)
            raise RuntimeError("the page walk failed")

    with pytest.raises(RuntimeError):
        export()
    assert sink.getvalue() == b""
    assert writer.closed


def test_the_sink_is_left_open() -> None:
    sink = io.BytesIO()
    compress_into = ParallelGzipWriter(sink)
    compress_into.write(b"abc")
    compress_into.close()
    compress_into.close()  # twice is harmless
    assert not sink.closed
    assert gzip.decompress(sink.getvalue()) == b"abc"


@pytest.mark.parametrize(
    ("options", "message"),
    [({"compresslevel": 10}, "compresslevel=10"), ({"member_size": 0}, "member_size=0")],
)
def test_bad_settings_say_what_to_change(options: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ParallelGzipWriter(io.BytesIO(), **options)  # type: ignore[arg-type]


def test_default_threads_follow_the_cores() -> None:
    writer = ParallelGzipWriter(io.BytesIO())
    assert writer.workers == max(1, min(4, os.cpu_count() or 1))
    writer.close()
