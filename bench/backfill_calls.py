"""Issue 26's backfill benchmark: the calls and wall time of a 30-day backfill of hourly objects.

An org with ``--events-per-day`` events a day (2,000 by default) is backfilled over ``--days`` days (30) of
hourly objects, three ways, each through the object storage operator's ``execute()`` against the emulator
(in this process, rate-limited like Slack at ``--rpm`` calls a minute, with its default burst of a minute's
worth; no burst seconds, so the volume is what is asked), with the connection paced at the same
``requests_per_minute``:

1. ``month``: one run over the whole span with ``split_interval=timedelta(hours=1)`` (one walk);
2. ``daily``: one run a day with ``split_interval`` (``example_dags/example_slack_audit_backfill.py``);
3. ``hourly``: one run an hour (``example_dags/example_slack_audit_export.py``), the baseline. It makes one
   call an hour whatever the volume; it runs unpaced unless ``--pace-hourly`` (720 calls at 50 a minute
   take 15 minutes) and its time at the budget is then given as ``calls * 60 / rpm``.

For each: the calls made (``logs`` calls the emulator answered, 429s apart), the goal ``ceil(events / 9999)``
summed over the walked spans and the ratio to it (target <= 1.1), the wall time and ``calls * 60 / rpm``
(what the budget allows), and whether every hour's object and manifest equal the hourly runs' (ids,
ids_sha256, events, window, bytes). Nothing is asserted: it prints a Markdown table.

Usage: ``AIRFLOW_HOME=$(mktemp -d) .venv/bin/python bench/backfill_calls.py [--days 30] [--events-per-day 2000]
[--rpm 50] [--pace-hourly]``
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: 2024-03-01T00:00:00Z: the first hour of the backfill.
START = 1709251200
HOUR = 3600
DAY = 86400
PAGE = 9999
KEY = (
    "dt={{ data_interval_start.strftime('%Y-%m-%d') }}/hour={{ data_interval_start.strftime('%H') }}/"
    "{{ data_interval_start.int_timestamp }}-{{ data_interval_end.int_timestamp - 1 }}.jsonl.gz"
)
#: Manifest fields that say how and when an object was read and stored, not what it holds (every write of an
#: object has its own version in the store).
HOW_READ = {
    "path",
    "started_at",
    "finished_at",
    "calls",
    "retries",
    "rate_limited",
    "pages",
    "walked_span",
    "object_version",
}


def export(root: Path, oldest: int, latest: int, *, split: bool) -> None:
    """One run of the export over ``[oldest, latest]``: split into hours, or one object (an hourly run)."""
    import pendulum

    from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsToObjectStorageOperator

    operator = SlackAuditLogsToObjectStorageOperator(
        task_id="export",
        path=f"file://{root}/{KEY}",
        settle_seconds=0,
        split_interval=timedelta(hours=1) if split else None,
    )
    context = {
        "data_interval_start": pendulum.from_timestamp(oldest, tz="UTC"),
        "data_interval_end": pendulum.from_timestamp(latest + 1, tz="UTC"),
    }
    operator.render_template_fields(context)
    operator.execute(context)


def run_mode(emulator: Any, root: Path, spans: list[tuple[int, int]], *, split: bool, rpm: float) -> dict[str, Any]:
    emulator.reset()
    emulator.set_rate_limit(rpm)
    started = time.monotonic()
    for oldest, latest in spans:
        export(root, oldest, latest, split=split)
    wall = time.monotonic() - started
    stats = emulator.stats
    goal = sum(math.ceil(emulator.count(oldest, latest) / PAGE) or 1 for oldest, latest in spans)
    answered = stats.calls.get("logs", 0) - stats.rate_limited
    return {"runs": len(spans), "calls": answered, "rate_limited": stats.rate_limited, "goal": goal, "wall": wall}


def manifests(root: Path) -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(root.rglob("*.jsonl.gz.manifest.json")):
        manifest = json.loads(path.read_bytes())
        found[path.relative_to(root).as_posix()] = {k: v for k, v in manifest.items() if k not in HOW_READ}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--events-per-day", type=float, default=2000)
    parser.add_argument("--rpm", type=float, default=50, help="the org's budget: calls a minute")
    parser.add_argument(
        "--bursts-per-hour",
        type=float,
        default=0,
        help="the emulator's seconds an hour with hundreds of events (0: the volume is --events-per-day)",
    )
    parser.add_argument("--pace-hourly", action="store_true", help="run the hourly baseline at the budget too")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the operators log every hour

    from airflow_provider_slack_audit.emulator.server import Emulator
    from airflow_provider_slack_audit.operators import slack_audit  # noqa: F401  (Airflow's import is not timed)

    emulator = Emulator(
        events_per_day=args.events_per_day, bursts_per_hour=args.bursts_per_hour, page_cache_mb=64
    ).start()
    conn = emulator.airflow_conn_json(extra={"requests_per_minute": args.rpm})
    unpaced = emulator.airflow_conn_json()
    end = START + args.days * DAY - 1
    events = emulator.count(START, end)
    work = Path(tempfile.mkdtemp(prefix="slack-audit-backfill-bench-"))
    rows = []
    try:
        modes = {
            "month: one run, split_interval=1h": ([(START, end)], True),
            "daily: one run a day, split_interval=1h": (
                [(d, d + DAY - 1) for d in range(START, end, DAY)],
                True,
            ),
            "hourly: one run an hour (baseline)": ([(h, h + HOUR - 1) for h in range(START, end, HOUR)], False),
        }
        results = {}
        for name, (spans, split) in modes.items():
            paced = split or args.pace_hourly
            os.environ["AIRFLOW_CONN_SLACK_AUDIT_DEFAULT"] = conn if paced else unpaced
            results[name] = run_mode(
                emulator, work / name.split(":")[0], spans, split=split, rpm=args.rpm if paced else 0
            )
            results[name]["paced"] = paced
        reference = manifests(work / "hourly")
        for name, result in results.items():
            same = manifests(work / name.split(":")[0]) == reference
            budget = result["calls"] * 60 / args.rpm
            rows.append(
                [
                    name,
                    result["runs"],
                    result["calls"],
                    result["goal"],
                    f"{result['calls'] / result['goal']:.2f}x",
                    result["rate_limited"],
                    f"{result['wall']:.1f} s" + ("" if result["paced"] else " (unpaced)"),
                    f"{budget:.1f} s",
                    "yes" if same else "NO",
                ]
            )
    finally:
        emulator.stop()
    print(
        f"Backfill of {args.days} days ({args.days * 24} hourly objects), {events} events "
        f"({args.events_per_day:.0f}/day), budget {args.rpm:.0f} calls/min, page {PAGE}\n"
    )
    header = [
        "mode",
        "runs",
        "calls",
        "goal: sum of ceil(events/9999) per walked span",
        "calls / goal",
        "429s",
        "wall",
        "calls * 60 / rpm",
        "objects and manifests = hourly runs'",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(map(str, row)) + " |")
    print(f"\nOne walk of the month instead of one an hour: {rows[2][2] / max(rows[0][2], 1):.0f}x fewer calls.")


if __name__ == "__main__":
    main()
