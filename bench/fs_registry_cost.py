"""What Airflow's filesystem registry costs a ``file://`` export: the day's peak RSS and wall time, with it and without.

Any ``ObjectStoragePath`` (Airflow 3.3 builds its filesystem when the path is made) calls Airflow's
``_register_filesystems()``, which imports every installed provider's filesystem module, amazon's (and with
it boto3 and botocore) included, even for ``file://``. This runs the operator's export of one day
(``bench/_export.py ours``) as the product does, and again in a process that first attaches a
``LocalFileSystem`` for ``file`` with Airflow's public ``attach()`` so that the registry is never loaded.
That second way is a measurement only: the product does not do it, because a provider may register its own
``file`` filesystem there and a pre-attached one would silently bypass it.

Usage: ``.venv/bin/python bench/fs_registry_cost.py [--repeats 3] [--events-per-day 300000]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _harness import BENCH, DAY0, emulator

#: Run ``bench/_export.py`` (argv[1:]) after attaching a local filesystem for ``file``.
PRE_ATTACHED = (
    "import runpy, sys\n"
    "from fsspec.implementations.local import LocalFileSystem\n"
    "try:\n"
    "    from airflow.sdk.io import attach\n"
    "except ImportError:  # Airflow 2\n"
    "    from airflow.io import attach\n"
    "attach('file', fs=LocalFileSystem())\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)
DAY = (DAY0, DAY0 + 86400 - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--events-per-day", default="300000")
    args = parser.parse_args()
    env = {**os.environ, "AIRFLOW_HOME": os.environ.get("AIRFLOW_HOME", str(BENCH.parent / ".airflow-bench"))}
    export = str(BENCH / "_export.py")
    ways = {
        "registry (the product)": [sys.executable, export],
        "pre-attached file fs": [sys.executable, "-c", PRE_ATTACHED, export],
    }
    print(f"## bench/fs_registry_cost.py: one day, --events-per-day {args.events_per_day}, {args.repeats} repeats\n")
    print("| way | file | events | peak RSS MB (VmHWM) | RSS before execute() MB | wall s |")
    print("|---|---|---|---|---|---|")
    with (
        emulator("--events-per-day", args.events_per_day, "--rate-limit", "0", "--page-cache-mb", "3000") as (_, url),
        tempfile.TemporaryDirectory() as tmp,
    ):
        subprocess.run([sys.executable, export, "fetch", url, f"{tmp}/warm", *map(str, DAY)], env=env, check=True,
                       capture_output=True)  # fmt: skip  (renders the day once: the emulator serves it from memory)
        for _ in range(args.repeats):
            for suffix in (".jsonl.gz", ".jsonl"):
                for way, command in ways.items():
                    out = Path(tmp) / f"out{suffix}"
                    done = subprocess.run(
                        [*command, "ours", url, str(out), *map(str, DAY)], env=env, capture_output=True, text=True
                    )
                    if done.returncode:
                        raise SystemExit(f"{way} failed:\n{done.stderr[-3000:]}")
                    r = json.loads(done.stdout.strip().splitlines()[-1])
                    out.unlink(missing_ok=True)
                    print(f"| {way} | {suffix} | {r['events']:,} | {r['peak_rss']:.0f} | {r['baseline_rss']:.0f} "
                          f"| {r['wall']:.2f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
