"""How fast and how lean the emulator serves: first-page latency, export throughput, memory.

Starts the emulator CLI as a separate process (as a benchmark or demo would) and measures:

1. ``first-page``: the first page of a one-day window holding about 1,000,000 events
   (``--events-per-day 1000000``), cold (first call, blocks generated) and warm, for
   ``limit=1000`` and ``limit=9999``.
2. ``export``: every page of that day read over one keep-alive connection with
   ``limit=9999``, bodies only (how fast the server produces) and parsed with ``json``.
3. ``memory``: an emulator holding 10,000,000 events over a year (``--events-per-hour``
   10e6/8784): server RSS after start, after the first page of the whole year, after
   reading 50 pages, after a filtered query, and its peak (VmHWM).

Usage: ``.venv/bin/python bench/emulator_throughput.py [--export-hours 24] [--skip-export]``
Linux only for the memory figures (reads /proc). Prints a table; nothing is asserted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

TOKEN = "xoxp-bench-0000-not-a-real-token"
DAY0 = 1709596800  # 2024-03-05T00:00:00Z, a Tuesday


def start(*args: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_slack_audit.emulator",
            "--port",
            "0",
            "--rate-limit",
            "0",
            "--token",
            TOKEN,
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    base_url = proc.stdout.readline().strip()
    if not base_url:
        raise SystemExit("the emulator did not start")
    return proc, base_url


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used (load on the machine does not inflate it)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


class Reader:
    """A bare keep-alive HTTP reader of the logs endpoint (no client library in the way)."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.path = parts.path
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=300)

    def get(self, **params: object) -> tuple[bytes, float]:
        query = urlencode({k: v for k, v in params.items() if v is not None}, quote_via=quote)
        started = time.perf_counter()
        self.conn.request("GET", f"{self.path}logs?{query}", headers={"Authorization": f"Bearer {TOKEN}"})
        response = self.conn.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise SystemExit(f"HTTP {response.status}: {body[:200]!r}")
        return body, elapsed


def next_cursor(body: bytes) -> str:
    tail = body[body.rindex(b'"next_cursor":"') + len(b'"next_cursor":"') :]
    return tail[: tail.index(b'"')].decode()


def first_page(hours: int) -> None:
    proc, base_url = start("--events-per-day", "1000000")
    time.sleep(2)  # let the CLI's background warm-up finish: measure serving, not start-up
    try:
        reader = Reader(base_url)
        oldest, latest = DAY0, DAY0 + 86400 - 1
        print("first page of a one-day window, ~1,000,000 events/day (seconds):")
        for limit in (1000, 9999):
            for label in ("cold", "warm"):
                if label == "cold":  # a fresh day each time so nothing is cached
                    oldest += 86400
                    latest += 86400
                cpu = cpu_seconds(proc.pid)
                body, elapsed = reader.get(oldest=oldest, latest=latest, limit=limit)
                cpu = cpu_seconds(proc.pid) - cpu
                entries = body.count(b'"date_create"')
                print(
                    f"  limit={limit:<5} {label}: {elapsed:.3f} s wall, {cpu:.2f} s server CPU "
                    f"({entries} entries, {len(body) / 1e6:.1f} MB)"
                )
        if hours:
            export(reader, proc.pid, DAY0 + 7 * 86400, hours)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def export(reader: Reader, pid: int, oldest: int, hours: int) -> None:
    latest = oldest + hours * 3600 - 1
    for parse in (False, True):
        cursor, events, pages, nbytes, server_time = None, 0, 0, 0, 0.0
        started, cpu = time.perf_counter(), cpu_seconds(pid)
        while True:
            body, elapsed = reader.get(oldest=oldest, latest=latest, limit=9999, cursor=cursor)
            server_time += elapsed
            pages += 1
            nbytes += len(body)
            if parse:
                page = json.loads(body)
                events += len(page["entries"])
                cursor = page["response_metadata"]["next_cursor"]
            else:
                events += body.count(b'"date_create"')
                cursor = next_cursor(body)
            if not cursor:
                break
        total, cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu
        mode = "bodies parsed with json" if parse else "bodies only"
        print(
            f"export of {hours} h ({mode}): {events} events, {pages} pages, {nbytes / 1e6:.0f} MB in {total:.1f} s "
            f"-> {events / total:,.0f} events/s; server CPU {cpu:.1f} s = {cpu / events * 1e6:.0f} us/event "
            f"(at most {events / cpu:,.0f} events/s per core)"
        )
        oldest, latest = oldest + 86400, latest + 86400  # another day: no warm blocks


def memory() -> None:
    per_hour = 10_000_000 / 8784  # 2024 has 8784 hours
    proc, base_url = start("--events-per-hour", f"{per_hour:.3f}")
    try:
        reader = Reader(base_url)
        year = (1704067200, 1735689599)
        print(f"memory, 10,000,000 events over 2024 ({per_hour:.0f}/hour), server RSS in MiB:")
        print(f"  after start: {rss_kib(proc.pid)['VmRSS'] / 1024:.1f}")
        body, elapsed = reader.get(oldest=year[0], latest=year[1], limit=9999)
        print(f"  first page of the whole year ({elapsed:.2f} s): {rss_kib(proc.pid)['VmRSS'] / 1024:.1f}")
        cursor = next_cursor(body)
        for _ in range(50):
            body, _ = reader.get(oldest=year[0], latest=year[1], limit=9999, cursor=cursor)
            cursor = next_cursor(body)
        print(f"  after 50 pages (~500k events): {rss_kib(proc.pid)['VmRSS'] / 1024:.1f}")
        body, elapsed = reader.get(oldest=year[0], latest=year[1], limit=1000, action="anomaly")
        print(
            f"  filtered query action=anomaly over the year ({elapsed:.2f} s): {rss_kib(proc.pid)['VmRSS'] / 1024:.1f}"
        )
        print(f"  peak (VmHWM): {rss_kib(proc.pid)['VmHWM'] / 1024:.1f}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export-hours", type=int, default=24, help="hours of the 1M/day stream to export")
    parser.add_argument("--skip-export", action="store_true", help="only the first-page and memory figures")
    args = parser.parse_args()
    first_page(0 if args.skip_export else args.export_hours)
    memory()


if __name__ == "__main__":
    main()
