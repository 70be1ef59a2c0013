"""How long each trigger's first poll holds a fresh triggerer's event loop (target: under 0.1 s, GC aside).

The triggerer runs every trigger on one event loop and warns when a step holds it for more than 0.2 s.
Each run starts a new interpreter that has loaded the triggerer's runner, imports the trigger by its
classpath and runs ``run()`` against the emulator until its first event (the probe of
``tests/fixtures/trigger_probe.py``, whose test asserts that no import or TLS set-up of ours happens on
the loop). This prints the loop's longest stall, with and without cyclic-GC passes (a full pass holds
the GIL whoever starts it), per case and run. Run it on an idle machine: a loaded one stalls any loop.

Usage: ``.venv/bin/python bench/trigger_first_poll.py [--repeats 5]``. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from airflow_provider_slack_audit.emulator.server import Emulator  # noqa: E402
from tests.fixtures.trigger_probe import CASES, run_first_poll  # noqa: E402

#: The longest one step of a first poll may hold the loop, GC passes aside (the triggerer warns at 0.2 s).
TARGET_SECONDS = 0.1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per case (default 5)")
    args = parser.parse_args()
    now = int(time.time())
    emulator = Emulator(start=now - 3600, end="now", events_per_hour=36_000, rate_limit=0).start()
    try:
        cases = [c for c in sorted(CASES) if c != "event_trigger" or _airflow_3()]
        print("| case | longest stall, GC aside (s) | longest stall (s) | target (s) |\n|---|---|---|---|")
        for case in cases:
            runs = [run_first_poll(case, emulator.airflow_conn_json()) for _ in range(args.repeats)]
            outside = [r["longest_stall_outside_gc"] for r in runs]
            total = [r["longest_stall"] for r in runs]
            print(
                f"| {case} | median {statistics.median(outside):.3f}, max {max(outside):.3f} "
                f"| median {statistics.median(total):.3f}, max {max(total):.3f} | {TARGET_SECONDS} |"
            )
    finally:
        emulator.stop()


def _airflow_3() -> bool:
    import airflow
    from packaging.version import Version

    return Version(airflow.__version__).major >= 3


if __name__ == "__main__":
    main()
