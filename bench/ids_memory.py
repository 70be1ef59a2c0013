"""Time and peak memory of the manifest's ids_sha256 and of the reconciliation's id index.

For N ids (default 1,000,000, UUID-shaped like Slack's): ``SortedIdsDigest`` (sorted runs spilled to
temporary files, merged), ``IdIndex`` build and N lookups, against a plain ``set`` of the ids.
Times are measured without tracing; peaks with ``tracemalloc`` in a second pass (which is slower).

Usage: ``.venv/bin/python bench/ids_memory.py [N]``. Prints the figures; nothing is asserted but
that the digest equals ``sha256("\\n".join(sorted(ids)))``.
"""

from __future__ import annotations

import hashlib
import sys
import time
import tracemalloc
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from airflow_provider_slack_audit.export.ids import IdIndex, SortedIdsDigest

#: Ids per update: one page of the export.
PAGE = 9999


def measure(ids: list[str], trace: bool) -> dict[str, tuple[float, float]]:
    figures = {}

    def step(name, fn):
        if trace:
            tracemalloc.start()
        start = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 1e6 if trace else 0.0
        if trace:
            tracemalloc.stop()
        figures[name] = (seconds, peak)
        return result

    def digest():
        d = SortedIdsDigest()
        for start in range(0, len(ids), PAGE):  # a page at a time, as the export feeds it
            d.update(ids[start : start + PAGE])
        return d.hexdigest()

    assert step("ids_sha256", digest) == hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()

    def build():
        index = IdIndex()
        for event_id in ids:
            index.add(event_id)
        index.freeze()
        return index

    index = step("index build", build)
    assert step("lookups", lambda: all(index.mark(i) for i in ids))
    index = None  # let it go before the set is measured
    step("set of the ids", lambda: len(set(ids)))
    return figures


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    ids = [str(uuid.UUID(int=(i * 2654435761) ** 3 % (1 << 128))) for i in range(n)]
    times = measure(ids, trace=False)
    peaks = measure(ids, trace=True)
    print(f"{n:,} ids ({sum(sys.getsizeof(i) for i in ids) / 1e6:.0f} MB as Python str, not counted below)")
    for name, (seconds, _) in times.items():
        print(f"  {name:<16} {seconds:6.1f} s   peak {peaks[name][1]:6.1f} MB")


if __name__ == "__main__":
    main()
