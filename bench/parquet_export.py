"""Issue 25's benchmark: the Parquet export of the day's workload against today's ``.jsonl.gz`` export.

Starts the emulator CLI on loopback in its own process (the workload of ``bench/run_all.py``'s throughput
section: ``--events-per-day`` 300,000, ~370,000 events in the day, page 9999, every page rendered once
beforehand) and runs each export in a fresh child process (``bench/_export.py``, the operator's
``execute()``, with its manifest), so that each peak RSS is its own. Variants: the ``.jsonl.gz`` export
(today's default), the Parquet export of the flat schema, and the Parquet export of the OCSF schema. Runs of
the variants are interleaved; each figure is the median of ``--repeats`` runs.

Targets (issue 25): Parquet (flat) time <= 1.5x the ``.jsonl.gz`` export's, peak RSS < 250 MB.

Usage: ``.venv/bin/python bench/parquet_export.py [--repeats 3] [--events-per-day 300000]``
Nothing is asserted: it prints a Markdown table and the ratios. Linux only.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import DAY0, emulator, load_average, median_run, run_export, table

DAY = (DAY0, DAY0 + 86400 - 1)
VARIANTS = [
    ("operator -> .jsonl.gz (today's export)", ".jsonl.gz", {}),
    ("operator -> .parquet (flat schema)", ".parquet", {}),
    ("operator -> .parquet (OCSF schema)", ".parquet", {"schema": "ocsf"}),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--events-per-day", default="300000", help="the emulator's volume")
    args = parser.parse_args()
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label, *_ in VARIANTS}
    print(f"## bench/parquet_export.py\n\n- machine: {platform.machine()}, Python {platform.python_version()}; "
          f"load average at start: {load_average()}")  # fmt: skip
    with (
        tempfile.TemporaryDirectory() as folder,
        emulator("--events-per-day", args.events_per_day, "--rate-limit", "0", "--page-cache-mb", "3000") as (
            _,
            base_url,
        ),
    ):
        tmp = Path(folder)
        run_export(base_url, "fetch", tmp / "warm.jsonl", *DAY, limit=9999)  # every page rendered once
        for _ in range(args.repeats):
            for label, suffix, options in VARIANTS:
                runs[label].append(run_export(base_url, "ours", tmp / f"day{suffix}", *DAY, limit=9999, **options))
    rows, medians = [], {}
    for label, *_ in VARIANTS:
        r = medians[label] = median_run(runs[label])
        rows.append(
            [
                label,
                f"{r['events']:,}",
                f"{r['wall']:.1f}",
                ", ".join(map(str, r["walls"])),
                f"{r['events'] / r['wall']:,.0f}",
                f"{r['cpu_median']:.1f}",
                f"{r['bytes'] / 1e6:.0f}",
                f"{r['peak_rss']:.0f}",
            ]
        )
    print(f"\n### One day, {rows[0][1]} events, page 9999, medians of {args.repeats} runs\n")
    print(table(["export", "events", "wall s", "runs (s)", "events/s", "CPU s", "MB out", "peak RSS MB"], rows))
    gz, flat, ocsf = (medians[label] for label, *_ in VARIANTS)
    print(
        f"\n- Parquet (flat): {flat['wall'] / gz['wall']:.2f}x the .jsonl.gz export's time (target <= 1.5x); "
        f"peak RSS {flat['peak_rss']:.0f} MB (target < 250 MB)"
    )
    print(
        f"- Parquet (OCSF): {ocsf['wall'] / gz['wall']:.2f}x the .jsonl.gz export's time; "
        f"peak RSS {ocsf['peak_rss']:.0f} MB"
    )
    # Each round runs the three exports one after the other: on a shared machine, the ratio within a round
    # compares exports that met about the same load.
    for label, key in (("flat", 1), ("OCSF", 2)):
        ratios = [r["wall"] / g["wall"] for g, r in zip(runs[VARIANTS[0][0]], runs[VARIANTS[key][0]], strict=True)]
        print(f"- Parquet ({label}) / .jsonl.gz, round by round: {', '.join(f'{x:.2f}' for x in ratios)}")
    for label, *_ in VARIANTS:
        peaks = ", ".join(f"{r['peak_rss']:.0f}" for r in runs[label])
        print(f"- peak RSS MB of every run, {label}: {peaks}")
    print(f"- 1-minute load average at each run's start: {', '.join(str(x) for x in gz['loads'])} (.jsonl.gz)")
    print(f"- load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
