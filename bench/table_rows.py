"""The Parquet export's rows thread alone: how long the flat and OCSF tables take per event.

Fetches ``--pages`` pages (``--limit`` events each) of the day's workload from the emulator CLI (run in its own
process, as in ``bench/parquet_export.py``), then, in this process and with nothing else running, makes each
page's tables ``--chunk`` events at a time, as the rows thread of the export does (``DECODE_ROWS``), and prints
microseconds per event for each chunk size and each way of decoding:

- ``per line``: what the export does, one msgspec call per event (``events.decode_events``);
- ``joined array``: the lines joined into one JSON array and decoded in one call (the export before 2026-12-08).

One untimed pass of each table comes first (warm-up); rounds are interleaved; each figure is the median of
``--rounds``. Nothing is asserted.

Usage: ``.venv/bin/python bench/table_rows.py [--pages 8] [--chunk 250 500 1000 2000] [--rounds 4]``
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import DAY0, TOKEN, emulator, load_average, table

from airflow_provider_slack_audit.client import SlackAuditLogsClient
from airflow_provider_slack_audit.client.raw_page import RawPage
from airflow_provider_slack_audit.export.formats import events as events_module
from airflow_provider_slack_audit.export.formats.flat import flat_table
from airflow_provider_slack_audit.export.formats.ocsf import ocsf_table

DAY = (DAY0, DAY0 + 86400 - 1)
_JOINED = msgspec.json.Decoder(list[events_module.Event]).decode


def decode_joined(lines: list[Any]) -> list[Any]:
    """The events of ``lines`` decoded as one JSON array (how the export decoded them before 2026-12-08)."""
    return _JOINED(b"[" + b",".join(lines) + b"]") if lines else []


def fetch(base_url: str, pages: int, limit: int) -> list[RawPage]:
    """The first ``pages`` pages of the day, read by the client's page walk as the export reads them."""
    found: list[RawPage] = []
    with closing(SlackAuditLogsClient(TOKEN, base_url=base_url)) as client:
        for page in client.iter_pages(oldest=DAY[0], latest=DAY[1], limit=limit, raw_entries=True):
            found.append(page.entries)
            if len(found) == pages:
                break
    return found


def per_event(pages: list[RawPage], make: Callable[..., Any], chunk: int) -> float:
    """Microseconds per event to make the tables of ``pages``, ``chunk`` events at a time."""
    count = sum(len(page) for page in pages)
    started = time.perf_counter()
    for page in pages:
        for start in range(0, len(page), chunk):
            end = start + chunk
            make(page.lines[start:end], page.ids[start:end], page.seconds[start:end])
    return (time.perf_counter() - started) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=8)
    parser.add_argument("--limit", type=int, default=9999)
    parser.add_argument("--chunk", type=int, nargs="+", default=[250, 500, 1000, 2000])
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    with emulator("--events-per-day", "300000", "--rate-limit", "0") as (_, base_url):
        pages = fetch(base_url, args.pages, args.limit)
    events = sum(len(page) for page in pages)
    print(f"## bench/table_rows.py\n\n- machine: {platform.machine()}, Python {platform.python_version()}; "
          f"load average at start: {load_average()}; {events:,} events in {len(pages)} pages")  # fmt: skip
    variants = [
        (table_name, decoding, chunk)
        for table_name in ("flat", "ocsf")
        for decoding in ("per line", "joined array")
        for chunk in args.chunk
    ]
    makers = {"flat": flat_table, "ocsf": ocsf_table}
    decoders = {"per line": events_module.decode_events, "joined array": decode_joined}
    figures: dict[tuple[str, str, int], list[float]] = {variant: [] for variant in variants}
    original = events_module.decode_events
    for make in makers.values():  # a first pass untimed: imports, caches and the allocator warm for every variant
        per_event(pages, make, args.chunk[0])
    try:
        for _ in range(args.rounds):
            for variant in variants:
                table_name, decoding, chunk = variant
                # both table modules call decode_events by the name they imported
                for module in (sys.modules[flat_table.__module__], sys.modules[ocsf_table.__module__]):
                    module.decode_events = decoders[decoding]  # type: ignore[attr-defined]
                figures[variant].append(per_event(pages, makers[table_name], chunk))
    finally:
        for module in (sys.modules[flat_table.__module__], sys.modules[ocsf_table.__module__]):
            module.decode_events = original  # type: ignore[attr-defined]
    rows = [
        [name, decoding, chunk, f"{statistics.median(values):.2f}", ", ".join(f"{v:.2f}" for v in values)]
        for (name, decoding, chunk), values in figures.items()
    ]
    print(f"\n### Microseconds per event, medians of {args.rounds} interleaved rounds\n")
    print(table(["table", "decoding", "events per chunk", "us/event", "rounds"], rows))
    print(f"\n- load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
