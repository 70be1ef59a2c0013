"""A worker process of the shared-budget tests: exports hourly windows with the object storage operator.

Run as ``python budget_worker.py SPEC`` (SPEC: JSON with ``conn_id``, ``root`` and ``windows``); the
connection comes from ``AIRFLOW_CONN_<ID>`` as on a worker. It builds everything, prints ``ready``,
waits for a line on stdin (so that every worker starts at once), exports each window to
``<root>/<oldest>/audit.jsonl`` and prints one JSON line: each window's summary or error, and the
slots it booked in the shared budget (the server time at which each call could start).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def main(spec: dict[str, Any]) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from reliability_helpers import interval_context

    from airflow_provider_slack_audit.client.budget import SharedRequestPacer
    from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsToObjectStorageOperator

    slots: list[float] = []
    book = SharedRequestPacer.delay

    def booked(self: SharedRequestPacer) -> float:  # a spy: the slot each call of this process booked
        wait = book(self)
        slots.append(self.last_slot)
        return wait

    SharedRequestPacer.delay = booked  # type: ignore[method-assign]
    operators = [
        SlackAuditLogsToObjectStorageOperator(
            task_id=f"export_{oldest}",
            slack_audit_conn_id=spec["conn_id"],
            path=f"file://{spec['root']}/{oldest}/audit.jsonl",
            page_size=spec.get("page_size"),
        )
        for oldest, _ in spec["windows"]
    ]
    print("ready", flush=True)
    sys.stdin.readline()
    results = []
    for operator, (oldest, latest) in zip(operators, spec["windows"], strict=True):
        try:
            summary = operator.execute(interval_context(oldest, latest))
            results.append({"window": [oldest, latest], "events": summary["events"]})
        except Exception as exc:
            chain = []
            current: BaseException | None = exc
            while current is not None and len(chain) < 5:
                chain.append({"type": type(current).__name__, "message": str(current)})
                current = current.__cause__ or current.__context__
            results.append({"window": [oldest, latest], "error": chain})
    return {"results": results, "slots": slots}


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))), flush=True)
