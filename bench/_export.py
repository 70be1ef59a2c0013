"""One export of ``[oldest, latest]`` from the emulator to a file, run as a child process by the benches.

Usage: ``_export.py VARIANT BASE_URL OUT OLDEST LATEST [--limit N] [--requests-per-minute R]``

Variants:
  ours   the object storage operator's ``execute()`` with a context (connection from the environment,
         as a worker has it): hook, client with retries, page walk, atomic writer, manifest (unless
         ``--no-manifest``); ``--format parquet`` (and ``--schema``) for a Parquet export.
  sdk    what a user writes today: slack_sdk's ``AuditLogsClient.logs`` in a cursor loop, ``json.dumps``
         per event and ``gzip.open`` (or ``open``) in text mode.
  floor  the dict floor: the least work that builds the events as Python objects: one keep-alive
         ``http.client`` connection, orjson (msgspec if orjson is missing, json if both are) to parse
         each page and dump each event, a plain buffered write (gzip at ``--gzip-level`` in the same
         thread when OUT ends in .gz).
  raw    the raw floor: the least work that copies the events as Slack sent them: the same keep-alive
         connection, msgspec decoding each page as a list of ``msgspec.Raw`` entries and only ``id``
         and ``date_create`` of each (checked against the window), the entries' bytes written one per
         line (gzip at ``--gzip-level`` in the same thread when OUT ends in .gz).
  fetch  the keep-alive fetch alone, bodies thrown away (how fast the emulator serves).

Prints one JSON line: wall and CPU seconds, peak RSS (MiB), events, HTTP calls, 429s, output bytes.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import TOKEN


def peak_rss_mib() -> float:
    """VmHWM of this process (falls back to ru_maxrss)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def ours(args: argparse.Namespace) -> dict[str, Any]:
    extra: dict[str, Any] = {"base_url": args.base_url}
    if args.requests_per_minute:
        extra["requests_per_minute"] = args.requests_per_minute
    os.environ["AIRFLOW_CONN_SLACK_AUDIT_DEFAULT"] = json.dumps(
        {"conn_type": "slack_audit", "password": TOKEN, "extra": extra}
    )
    from airflow_provider_slack_audit.operators.slack_audit import SlackAuditLogsToObjectStorageOperator

    op = SlackAuditLogsToObjectStorageOperator(
        task_id="export",
        oldest=args.oldest,
        latest=args.latest,
        page_size=args.limit,
        path=f"file://{Path(args.out).resolve()}",
        manifest=not args.no_manifest,
        format=args.format,
        schema=args.schema,
    )
    baseline = peak_rss_mib()
    started, cpu = time.perf_counter(), cpu_seconds()
    client = op.hook.client  # the client execute() uses (and closes at the end): its counters stay readable
    summary = op.execute({})
    wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    stats = client.stats
    return {
        "wall": wall,
        "cpu": cpu,
        "events": summary["events"],
        "calls": stats.calls,
        "rate_limited": stats.rate_limited,
        "bytes": summary["bytes"],
        "baseline_rss": baseline,
    }


def sdk(args: argparse.Namespace) -> dict[str, Any]:
    from slack_sdk.audit_logs import AuditLogsClient

    client = AuditLogsClient(token=TOKEN, base_url=args.base_url)
    baseline = peak_rss_mib()
    started, cpu = time.perf_counter(), cpu_seconds()
    events = calls = 0
    opener = gzip.open if args.out.endswith(".gz") else open
    with opener(args.out, "wt", encoding="utf-8") as f:
        cursor = None
        while True:
            response = client.logs(oldest=args.oldest, latest=args.latest, limit=args.limit or 1000, cursor=cursor)
            calls += 1
            for entry in response.body["entries"]:
                f.write(json.dumps(entry) + "\n")
                events += 1
            cursor = response.body.get("response_metadata", {}).get("next_cursor")
            if not cursor:
                break
    wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    return {
        "wall": wall,
        "cpu": cpu,
        "events": events,
        "calls": calls,
        "rate_limited": 0,
        "bytes": os.path.getsize(args.out),
        "baseline_rss": baseline,
    }


def _open_out(path: str, gzip_level: int) -> Any:
    """The output file: gzip at ``gzip_level`` in this thread when ``path`` ends in .gz, else a buffered file."""
    if path.endswith(".gz"):
        return gzip.GzipFile(path, "wb", compresslevel=gzip_level, mtime=0)
    return open(path, "wb")


def _walk_bodies(args: argparse.Namespace, take: Callable[[bytes], tuple[int, str | None]]) -> tuple[int, int]:
    """Every page of the window on one keep-alive ``http.client`` connection, the floors' transport.

    ``take(body)`` handles one page and returns (its events, the next cursor). Returns (events, calls).
    """
    import http.client

    parts = urlsplit(args.base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=300)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    events = calls = 0
    cursor: str | None = ""
    while True:
        query = {"oldest": args.oldest, "latest": args.latest, "limit": args.limit or 9999}
        if cursor:
            query["cursor"] = cursor
        conn.request("GET", f"{parts.path}logs?{urlencode(query, quote_via=quote)}", headers=headers)
        answer = conn.getresponse()
        body = answer.read()
        calls += 1
        if answer.status != 200:
            raise SystemExit(f"HTTP {answer.status}: {body[:200]!r}")
        count, cursor = take(body)
        events += count
        del body  # let the page go before the next one is fetched
        if not cursor:
            return events, calls


def _floor_result(baseline: float, started: float, cpu: float, **counts: int) -> dict[str, Any]:
    """A floor's measurements, taken now that its output is closed (``counts``: events, calls, bytes)."""
    return {
        "wall": time.perf_counter() - started,
        "cpu": cpu_seconds() - cpu,
        "rate_limited": 0,
        "baseline_rss": baseline,
        **counts,
    }


def floor(args: argparse.Namespace, *, write: bool = True) -> dict[str, Any]:
    try:
        import orjson

        loads, dumps = orjson.loads, orjson.dumps
    except ImportError:
        try:
            import msgspec

            loads, dumps = msgspec.json.Decoder().decode, msgspec.json.Encoder().encode
        except ImportError:
            loads = json.loads
            encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

            def dumps(obj: Any) -> bytes:
                return encode(obj).encode()

    out = _open_out(args.out, args.gzip_level) if write else None

    def take(body: bytes) -> tuple[int, str | None]:
        if out is None:  # fetch only: count and find the cursor without parsing
            tail = body[body.rindex(b'"next_cursor":"') + 15 :]
            return body.count(b'"date_create"'), tail[: tail.index(b'"')].decode()
        page = loads(body)
        entries = page["entries"]
        if entries:
            out.write(b"\n".join(map(dumps, entries)) + b"\n")
        return len(entries), page["response_metadata"]["next_cursor"]

    baseline = peak_rss_mib()
    started, cpu = time.perf_counter(), cpu_seconds()
    events, calls = _walk_bodies(args, take)
    if out is not None:
        out.close()
    size = os.path.getsize(args.out) if out is not None else 0
    return _floor_result(baseline, started, cpu, events=events, calls=calls, bytes=size)


def raw_floor(args: argparse.Namespace) -> dict[str, Any]:
    import msgspec

    page_type = msgspec.defstruct("Page", [("entries", list[msgspec.Raw]), ("response_metadata", dict, {})])
    key_type = msgspec.defstruct("Key", [("id", str), ("date_create", int)])
    decode_page, decode_key = msgspec.json.Decoder(page_type).decode, msgspec.json.Decoder(key_type).decode
    out = _open_out(args.out, args.gzip_level)

    def take(body: bytes) -> tuple[int, str | None]:
        page = decode_page(body)
        for raw in page.entries:
            key = decode_key(raw)
            if not args.oldest <= key.date_create <= args.latest:
                raise SystemExit(f"event {key.id} at {key.date_create} is outside the window")
        if page.entries:
            out.write(b"\n".join(page.entries) + b"\n")
        return len(page.entries), page.response_metadata.get("next_cursor")

    baseline = peak_rss_mib()
    started, cpu = time.perf_counter(), cpu_seconds()
    events, calls = _walk_bodies(args, take)
    out.close()
    return _floor_result(baseline, started, cpu, events=events, calls=calls, bytes=os.path.getsize(args.out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variant", choices=("ours", "sdk", "floor", "raw", "fetch"))
    parser.add_argument("base_url")
    parser.add_argument("out")
    parser.add_argument("oldest", type=int)
    parser.add_argument("latest", type=int)
    parser.add_argument("--limit", type=int, help="page size (default: ours 9999, sdk 1000, floor 9999)")
    parser.add_argument("--requests-per-minute", type=float, help="ours: the connection's pacing")
    parser.add_argument("--gzip-level", type=int, default=6, help="floor, raw: gzip level of a .gz output")
    parser.add_argument("--no-manifest", action="store_true", help="ours: manifest=False (no ids digest, no manifest)")
    parser.add_argument("--format", help="ours: the operator's format (jsonl or parquet; default: by OUT's suffix)")
    parser.add_argument("--schema", help="ours: the operator's schema (Parquet: flat or ocsf)")
    args = parser.parse_args()
    if args.variant == "ours":
        result = ours(args)
    elif args.variant == "sdk":
        result = sdk(args)
    elif args.variant == "raw":
        result = raw_floor(args)
    else:
        result = floor(args, write=args.variant == "floor")
    result["peak_rss"] = peak_rss_mib()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
