"""gzip members in parallel: wall time, CPU time and size by level, member size and threads.

Fetches a window from the emulator (its own process), keeps its events as JSON Lines in memory (the
bytes an export writes), then compresses them: once with ``gzip.compress`` in one thread (what a
single-threaded writer does) and with :class:`ParallelGzipWriter` at each level, member size and
thread count asked for. Every output is checked to decompress to the input. Prints a Markdown table.

Usage: ``.venv/bin/python bench/gzip_members.py [--events-per-day 300000] [--hours 24] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import os
import statistics
import sys
import time
import zlib
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import DAY0, TOKEN, emulator, load_average, table

from airflow_provider_slack_audit.client.raw_page import read_raw_page
from airflow_provider_slack_audit.export.parallel_gzip import ParallelGzipWriter


class _Count:
    def __init__(self) -> None:
        self.bytes = 0
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(data)
        self.bytes += len(data)
        return len(data)


def sample(base_url: str, oldest: int, latest: int) -> bytes:
    """The window's events as JSON Lines, as the export writes them."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=300)
    lines: list[bytes] = []
    cursor = ""
    while True:
        query = f"oldest={oldest}&latest={latest}&limit=9999" + (f"&cursor={cursor}" if cursor else "")
        conn.request("GET", f"{parts.path}logs?{query}", headers={"Authorization": f"Bearer {TOKEN}"})
        page = read_raw_page(conn.getresponse().read())
        lines += [bytes(entry.json) + b"\n" for entry in page.entries]
        if not page.next_cursor:
            return b"".join(lines)
        from urllib.parse import quote

        cursor = quote(page.next_cursor, safe="")


def timed(run, repeats: int) -> tuple[float, float, bytes]:
    walls, cpus, out = [], [], b""
    for _ in range(repeats):
        started, cpu = time.perf_counter(), time.process_time()
        out = run()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events-per-day", default="300000")
    parser.add_argument("--hours", type=float, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--levels", default="1,3,4,5,6")
    parser.add_argument("--member-sizes", default="262144,1048576,4194304,16777216")
    parser.add_argument("--workers", default="1,2,3")
    args = parser.parse_args()
    with emulator("--events-per-day", args.events_per_day, "--rate-limit", "0") as (_, base_url):
        data = sample(base_url, DAY0, DAY0 + int(args.hours * 3600) - 1)
    events = data.count(b"\n")
    print(f"## bench/gzip_members.py, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    print(
        f"- {events:,} events, {len(data) / 1e6:.0f} MB of JSON Lines; {os.cpu_count()} CPUs; "
        f"medians of {args.repeats}; load average at start: {load_average()}\n"
    )
    rows = []
    for level in map(int, args.levels.split(",")):
        wall, cpu, out = timed(lambda level=level: gzip.compress(data, compresslevel=level, mtime=0), args.repeats)
        assert zlib.decompress(out, 31) == data
        base_size = len(out)
        rows.append(
            [level, "one member, 1 thread (gzip.compress)", f"{wall:.2f}", f"{cpu:.2f}", f"{len(out) / 1e6:.2f}", "-"]
        )
        for member_size in map(int, args.member_sizes.split(",")):
            for workers in map(int, args.workers.split(",")):

                def run(level: int = level, member_size: int = member_size, workers: int = workers) -> bytes:
                    sink = _Count()
                    with ParallelGzipWriter(sink, compresslevel=level, member_size=member_size, workers=workers) as w:
                        for start in range(0, len(data), 1 << 20):  # writes of 1 MiB, as pages arrive
                            w.write(data[start : start + (1 << 20)])
                    return b"".join(sink.parts)

                wall, cpu, out = timed(run, args.repeats)
                assert gzip.decompress(out) == data
                rows.append(
                    [
                        level,
                        f"{member_size >> 10} KiB members, {workers} thread{'s' if workers > 1 else ''}",
                        f"{wall:.2f}",
                        f"{cpu:.2f}",
                        f"{len(out) / 1e6:.2f}",
                        f"{100 * (len(out) - base_size) / base_size:+.2f}%",
                    ]
                )
                print(f"  level {level} {member_size} x{workers}: {wall:.2f} s", file=sys.stderr, flush=True)
    print(table(["level", "how", "wall s", "CPU s", "MB out", "size vs one member"], rows))
    print(f"\n- load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
