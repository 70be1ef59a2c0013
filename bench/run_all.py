"""Issue 8's benchmark: throughput, memory, HTTP calls and pacing of an export, against what users write today.

Starts the emulator CLI on loopback in its own process and runs every export in a fresh child process
(``bench/_export.py``), so neither the emulator's memory nor an earlier run's counts. Sections:

1. throughput: a one-day window (``--events-per-day``, 300,000 by default: ~370,000 in that day) to
   ``.jsonl.gz`` and ``.jsonl`` through the object storage operator's ``execute()`` (with its default
   manifest, and with ``manifest=False``: what the ids digest costs); (a) slack_sdk's
   ``AuditLogsClient`` loop at ``limit=9999`` with ``json.dumps`` and ``gzip.open`` / ``open``; (b) the
   dict floor: keep-alive ``http.client``, orjson/msgspec parse and dump, a buffered write (gzip 6 in
   the same thread for ``.gz``); (c) the raw floor: the same connection, msgspec reading each page as
   ``msgspec.Raw`` entries and only ``id``/``date_create`` of each, the bytes written as they came (gzip 6
   in the same thread); and the bare fetch (how fast the emulator serves). Targets: ours .gz >= 4x
   (a)'s events/s; ours <= 1.25x (c)'s time, for .gz and plain.
2. memory: peak RSS (VmHWM) of the operator's export of the day, of a tenth of it, and of a 30-event
   export (what Airflow and the export's imports cost alone). Target: day <= 1.1x tenth, <= 150 MB.
3. calls: HTTP calls for the ~100k window with our defaults (target ``ceil(N/9999)`` plus retries) and
   slack_sdk loops at ``limit`` 100, 200 and 1000.
4. paced: an emulator limited to ``--rate-limit`` calls a minute (burst ``--rate-limit-burst``), the
   operator with ``requests_per_minute`` at that rate and ``page_size`` 1000 over the ~100k window,
   and the same without pacing. Target: wall time <= 1.15x ``calls * 60 / rate``, 429s <= 2% of calls.
5. gzip: size and CPU time of gzip levels 1, 3, 6 (ours) and 9 (``gzip.open``'s) on the ~100k file.

Usage: ``.venv/bin/python bench/run_all.py [--repeats 3] [--sections throughput,memory,calls,paced,gzip]``
Each figure is the median of ``--repeats`` runs (the runs' wall times are listed); runs of the variants
are interleaved so that a busy spell on a shared machine does not hit one variant only. Linux only.
Nothing is asserted: it prints Markdown tables (README "Performance" shows a run).
"""

from __future__ import annotations

import argparse
import gzip
import math
import os
import platform
import statistics
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import DAY0, emulator, load_average, median_run, run_export, table

DAY = (DAY0, DAY0 + 86400 - 1)
#: Six hours of the 1M/day stream: 112,759 events with the default seed (the "~100k" window).
SIX_HOURS = (DAY0, DAY0 + 6 * 3600 - 1)
#: A tenth of the day (2 h 24 min): the memory section's small window.
TENTH = (DAY0, DAY0 + 8640 - 1)
#: Six seconds: 30 events (the fixed cost of an export).
TINY = (DAY0, DAY0 + 5)

SECTIONS = ("throughput", "memory", "calls", "paced", "gzip")


def fmt_rate(events: int, wall: float) -> str:
    return f"{events / wall:,.0f}"


def throughput(base_url: str, tmp: Path, repeats: int) -> list[dict[str, Any]]:
    variants = [
        ("fetch only (emulator bound)", "fetch", ".jsonl", {}),
        ("ours: operator -> .jsonl.gz", "ours", ".jsonl.gz", {}),
        ("ours: operator -> .jsonl", "ours", ".jsonl", {}),
        ("ours, manifest=False -> .jsonl.gz", "ours", ".jsonl.gz", {"no_manifest": True}),
        ("ours, manifest=False -> .jsonl", "ours", ".jsonl", {"no_manifest": True}),
        ("(a) slack_sdk loop, limit 9999 -> gzip.open", "sdk", ".jsonl.gz", {"limit": 9999}),
        ("(a) slack_sdk loop, limit 9999 -> open", "sdk", ".jsonl", {"limit": 9999}),
        ("(b) dict floor -> .jsonl.gz (gzip 6)", "floor", ".jsonl.gz", {}),
        ("(b) dict floor -> .jsonl", "floor", ".jsonl", {}),
        ("(c) raw floor -> .jsonl.gz (gzip 6, 1 thread)", "raw", ".jsonl.gz", {}),
        ("(c) raw floor -> .jsonl", "raw", ".jsonl", {}),
    ]
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label, *_ in variants}
    # Render every page of the day once: the emulator's page cache then serves them from memory,
    # so its own rendering does not weigh in the exports' times.
    run_export(base_url, "fetch", tmp / "warm.jsonl", *DAY, limit=9999)
    for _ in range(repeats):
        for label, variant, suffix, options in variants:
            runs[label].append(run_export(base_url, variant, tmp / f"out{suffix}", *DAY, **options))
            last = runs[label][-1]
            print(f"  {label}: {last['wall']:.1f} s (load {last['load']:.1f})", file=sys.stderr, flush=True)
    results = []
    for label, *_ in variants:
        r = median_run(runs[label])
        r["label"] = label
        results.append(r)
    by = {r["label"]: r for r in results}
    rows = [
        [
            r["label"],
            f"{r['events']:,}",
            r["calls"],
            f"{r['wall']:.1f}",
            ", ".join(f"{w:.1f}" for w in r["walls"]),
            ", ".join(f"{x:.1f}" for x in r["loads"]),
            fmt_rate(r["events"], r["wall"]),
            f"{r['cpu_median']:.1f}",
            f"{r['bytes'] / 1e6:.0f}" if r["bytes"] else "-",
            f"{r['peak_rss']:.0f}",
        ]
        for r in results
    ]
    events = by["ours: operator -> .jsonl.gz"]["events"]
    print(f"\n### 1. Throughput: one day, {events:,} events, page 9999\n")
    print(
        table(
            [
                "export",
                "events",
                "calls",
                "wall s (median)",
                "runs (s)",
                "load at each run's start",
                "events/s",
                "CPU s",
                "MB out",
                "peak RSS MB",
            ],
            rows,
        )
    )
    print()
    for fmt, sdk_label, raw_label in (
        ("jsonl.gz", "(a) slack_sdk loop, limit 9999 -> gzip.open", "(c) raw floor -> .jsonl.gz (gzip 6, 1 thread)"),
        ("jsonl", "(a) slack_sdk loop, limit 9999 -> open", "(c) raw floor -> .jsonl"),
    ):
        ours = by[f"ours: operator -> .{fmt}"]
        sdk, raw = by[sdk_label], by[raw_label]
        rate = ours["events"] / ours["wall"]
        print(
            f"- .{fmt}: ours {rate:,.0f} events/s = {rate / (sdk['events'] / sdk['wall']):.2f}x the slack_sdk loop"
            + (" (target >= 4x)" if fmt == "jsonl.gz" else "")
        )
        ratio = ours["wall"] / raw["wall"]
        print(f"- .{fmt}: ours {ours['wall']:.1f} s = {ratio:.2f}x the raw floor (target <= 1.25x)")
        bare = by[f"ours, manifest=False -> .{fmt}"]
        bare_ratio = bare["wall"] / raw["wall"]
        print(f"- .{fmt}: ours with manifest=False {bare['wall']:.1f} s = {bare_ratio:.2f}x the raw floor")
        if ours["calls"] != math.ceil(ours["events"] / 9999):
            print(f"- .{fmt}: ours made {ours['calls']} calls for ceil(events / 9999) = {math.ceil(events / 9999)}")
    return results


def memory(base_url: str, tmp: Path, repeats: int, day_runs: list[dict[str, Any]] | None) -> None:
    rows = []
    for label, window in (("30 events (fixed cost)", TINY), ("a tenth of the day (2.4 h)", TENTH)):
        for suffix in (".jsonl.gz", ".jsonl"):
            runs = [run_export(base_url, "ours", tmp / f"mem{suffix}", *window) for _ in range(repeats)]
            r = median_run(runs)
            peaks = [x["peak_rss"] for x in runs]
            rows.append(
                [
                    label,
                    suffix,
                    f"{r['events']:,}",
                    f"{statistics.median(peaks):.0f}",
                    f"{r['baseline_rss']:.0f}",
                    f"{r['wall']:.2f}",
                ]
            )
    if day_runs is None:
        for suffix in (".jsonl.gz", ".jsonl"):
            runs = [run_export(base_url, "ours", tmp / f"mem{suffix}", *DAY) for _ in range(repeats)]
            day_runs = (day_runs or []) + [dict(median_run(runs), label=f"ours: operator -> {suffix}")]
    for r in day_runs:
        if r["label"].startswith("ours: operator"):
            suffix = r["label"].rsplit(" ", 1)[1]
            rows.append(
                [
                    "one day",
                    suffix,
                    f"{r['events']:,}",
                    f"{r['peak_rss']:.0f}",
                    f"{r['baseline_rss']:.0f}",
                    f"{r['wall']:.2f}",
                ]
            )
    print("\n### 2. Memory: peak RSS of the operator's export (child process, Airflow imported; emulator elsewhere)\n")
    print(table(["window", "file", "events", "peak RSS MB (VmHWM)", "RSS before execute() MB", "wall s"], rows))
    peak = {(row[0], row[1]): float(row[3]) for row in rows}
    for suffix in (".jsonl.gz", ".jsonl"):
        small, big = peak[("a tenth of the day (2.4 h)", suffix)], peak[("one day", suffix)]
        print(
            f"- {suffix}: day / tenth = {big / small:.2f}x (target <= 1.1x); day peak {big:.0f} MB (target <= 150 MB)"
        )


def calls(base_url: str, tmp: Path) -> None:
    rows = []
    ours = run_export(base_url, "ours", tmp / "calls.jsonl", *SIX_HOURS)
    n = ours["events"]
    rows.append(
        ["ours (defaults: page_size 9999)", f"{n:,}", ours["calls"], math.ceil(n / 9999), f"{ours['wall']:.1f}"]
    )
    for limit in (100, 200, 1000):
        r = run_export(base_url, "sdk", tmp / "calls.jsonl", *SIX_HOURS, limit=limit)
        rows.append(
            [f"slack_sdk loop, limit {limit}", f"{r['events']:,}", r["calls"], math.ceil(n / limit), f"{r['wall']:.1f}"]
        )
    print("\n### 3. HTTP calls to export the ~100k window\n")
    print(table(["client", "events", "calls", "ceil(N/limit)", "wall s"], rows))
    print(
        f"- at Slack's ~50 calls/min: ours {ours['calls'] / 50:.1f} min of the org's budget; "
        f"limit 100 {rows[1][2] / 50:.0f} min, limit 1000 {rows[3][2] / 50:.1f} min"
    )


def paced(tmp: Path, rate: float, burst: int, page_size: int) -> None:
    rows = []
    with emulator("--events-per-day", "1000000", "--rate-limit", f"{rate:g}", "--rate-limit-burst", str(burst)) as (
        _,
        base_url,
    ):
        for label, rpm in ((f"ours, requests_per_minute={rate:g}", rate), ("ours, no pacing", None)):
            time.sleep(burst * 60 / rate + 1)  # the emulator's bucket full again: each run starts alike
            r = run_export(
                base_url, "ours", tmp / "paced.jsonl.gz", *SIX_HOURS, limit=page_size, requests_per_minute=rpm
            )
            first_try = r["calls"] - r["rate_limited"]
            ideal = first_try * 60 / rate
            rows.append(
                [
                    label,
                    f"{r['events']:,}",
                    r["calls"],
                    r["rate_limited"],
                    f"{100 * r['rate_limited'] / r['calls']:.1f}%",
                    f"{r['wall']:.1f}",
                    f"{ideal:.1f}",
                    f"{r['wall'] / ideal:.2f}",
                ]
            )
    print(f"\n### 4. Paced: emulator limited to {rate:g} calls/min (burst {burst}), page_size {page_size}\n")
    print(
        table(
            ["run", "events", "HTTP calls", "429s", "429 share", "wall s", "ideal s (pages x 60/rate)", "wall / ideal"],
            rows,
        )
    )
    print("- targets for the paced run: wall / ideal <= 1.15, 429s <= 2% of calls")


def gzip_levels(base_url: str, tmp: Path) -> None:
    sample = tmp / "sample.jsonl"
    run_export(base_url, "floor", sample, *SIX_HOURS, keep=True)
    data = sample.read_bytes()
    sample.unlink()
    rows = []
    for level in (1, 3, 6, 9):
        cpu = []
        for _ in range(3):
            started = time.process_time()
            out = gzip.compress(data, compresslevel=level, mtime=0)
            cpu.append(time.process_time() - started)
        zlib.decompress(out, 31)
        per_million = statistics.median(cpu) / (data.count(b"\n") / 1e6)
        rows.append([level, f"{len(out) / 1e6:.1f}", f"{len(data) / len(out):.2f}", f"{per_million:.1f}"])
    print(f"\n### 5. gzip level on the ~100k file ({len(data) / 1e6:.0f} MB of JSON Lines)\n")
    print(table(["level", "MB", "ratio", "CPU s per 1M events"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure; the median is shown")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated, of {', '.join(SECTIONS)}")
    parser.add_argument("--events-per-day", default="300000", help="the emulator's volume")
    parser.add_argument("--rate-limit", type=float, default=300, help="paced: the emulator's calls a minute")
    parser.add_argument("--rate-limit-burst", type=int, default=5, help="paced: calls the emulator allows at once")
    parser.add_argument("--paced-page-size", type=int, default=1000, help="paced: events per call")
    args = parser.parse_args()
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    try:
        import msgspec  # noqa: F401

        fast = "msgspec"
    except ImportError:
        fast = "json (msgspec not installed)"
    print(f"## bench/run_all.py, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    print(
        f"- machine: {os.cpu_count()} CPUs, {platform.machine()}, Linux {platform.release()}, Python "
        f"{platform.python_version()}; JSON: {fast}; load average at start: {load_average()}"
    )
    print(f"- medians of {args.repeats} runs; every export in its own process, the emulator in another")
    day_runs = None
    with tempfile.TemporaryDirectory(prefix="slack-audit-bench-") as name:
        tmp = Path(name)
        if set(sections) & {"throughput", "memory", "calls", "gzip"}:
            with emulator("--events-per-day", args.events_per_day, "--rate-limit", "0", "--page-cache-mb", "3000") as (
                _,
                base_url,
            ):
                if "throughput" in sections:
                    day_runs = throughput(base_url, tmp, args.repeats)
                if "memory" in sections:
                    memory(base_url, tmp, args.repeats, day_runs)
                if "calls" in sections:
                    calls(base_url, tmp)
                if "gzip" in sections:
                    gzip_levels(base_url, tmp)
        if "paced" in sections:
            paced(tmp, args.rate_limit, args.rate_limit_burst, args.paced_page_size)
    print(f"\n- load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
