"""Peak memory (RSS) and time of a page walk that remembers every id it yielded, for windows of N ids.

Each run is a fresh process that walks N ids (UUID-shaped, as Slack's) in pages of 9999 through
``PageWalk.accept`` (raw pages, as the export reads them), so its peak RSS is the walk's alone:

* ``walk``: the walk as shipped (``client.seen_ids``: a set up to 100,000 ids, then a temporary
  SQLite database);
* ``set``: the same pages, every id kept in one Python ``set`` (what "remember everything in
  memory" would cost), for comparison.

Usage: ``.venv/bin/python bench/walk_ids_memory.py [N ...]`` (default 200000 1000000). Prints one
line per run: peak RSS, and the CPU seconds of the walk (or the set) alone, pages made and read
apart; nothing is asserted but that each walk yields every id once.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGE = 9999
NAMESPACE = uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")


def page_body(first: int, count: int, second: int) -> bytes:
    ids = (str(uuid.uuid5(NAMESPACE, str(n))) for n in range(first, first + count))
    entries = b",".join(b'{"id":"%s","date_create":%d,"action":"user_login"}' % (i.encode(), second) for i in ids)
    return b'{"entries":[' + entries + b'],"response_metadata":{"next_cursor":"c%d"}}' % first


def child(mode: str, total: int) -> None:
    from airflow_provider_slack_audit.client.query import LogsQuery
    from airflow_provider_slack_audit.client.response import AuditLogsResponse
    from airflow_provider_slack_audit.client.walk import PageWalk

    walk = PageWalk(LogsQuery(oldest=1, latest=2_000_000_000), raw_entries=True)
    seen: set[str] = set()
    yielded = 0
    seconds = 0.0  # CPU seconds of the walk (or the set) alone, not of making the pages
    walk.next_query()
    for first in range(0, total, PAGE):
        count = min(PAGE, total - first)
        body = page_body(first, count, 1_700_000_000 - first // PAGE)
        response = AuditLogsResponse(
            url="https://x/audit/v1/logs", status_code=200, raw_body=body, headers={}, raw_entries=True
        )
        start = time.process_time()
        if mode == "walk":
            page = walk.accept(response)
            yielded += len(page.entries)
            walk._accepted = False  # the next page without asking for its cursor
        else:
            ids = response.raw_page.ids
            seen.update(ids)
            yielded += len(ids)
        seconds += time.process_time() - start
    walk.close()
    assert yielded == total
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{mode:5} N={total:>9,}  peak RSS {peak_mb:7.1f} MB  {seconds:6.2f} CPU s  ({total / seconds:,.0f} ids/s)")


def main(sizes: list[int]) -> None:
    baseline = subprocess.run(
        [
            sys.executable,
            "-c",
            "import resource, airflow_provider_slack_audit.client.walk;"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    print(f"python + the client imported: peak RSS {float(baseline.stdout):.1f} MB")
    for total in sizes:
        for mode in ("walk", "set"):
            subprocess.run([sys.executable, __file__, "--child", mode, str(total)], check=True, cwd=ROOT)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], int(sys.argv[3]))
    else:
        main([int(a) for a in sys.argv[1:]] or [200_000, 1_000_000])
