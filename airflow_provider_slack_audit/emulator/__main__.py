"""``slack-audit-emulator``: serve the Slack Audit Logs API emulator until Ctrl-C or SIGTERM.

The first line on stdout is the base URL (``http://127.0.0.1:8765/audit/v1/``), flushed at once so
a script can read it (useful with ``--port 0``). Everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence

from airflow_provider_slack_audit.emulator.dataset import DEFAULT_EVENTS_PER_HOUR
from airflow_provider_slack_audit.emulator.faults import FAULT_KINDS, parse_fault
from airflow_provider_slack_audit.emulator.server import DEFAULT_TOKEN, ERROR_TOKENS, Emulator


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``slack-audit-emulator``."""
    p = argparse.ArgumentParser(
        prog="slack-audit-emulator",
        description="Serve a local emulator of Slack's Audit Logs API at http://HOST:PORT/audit/v1/.",
        epilog="Tokens that emulate refusals: "
        + ", ".join(f"{tok} -> {code}" for tok, (code, _) in ERROR_TOKENS.items()),
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    p.add_argument("--port", type=int, default=8765, help="TCP port; 0 picks a free one (default: %(default)s)")
    p.add_argument(
        "--token",
        default=DEFAULT_TOKEN,
        help="the token logs accepts as 'Authorization: Bearer <token>' (default: a fake xoxp- value)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the generated events (default: %(default)s)")
    p.add_argument("--start", default="2024-01-01T00:00:00Z", help="first second with events (ISO-8601 or unix)")
    p.add_argument(
        "--end",
        default="2024-12-31T23:59:59Z",
        help="last second with events (inclusive; ISO-8601 or unix), or 'now' for a live stream",
    )
    volume = p.add_mutually_exclusive_group()
    volume.add_argument(
        "--events-per-hour", type=float, help=f"average events per hour (default: {DEFAULT_EVENTS_PER_HOUR:g})"
    )
    volume.add_argument("--events-per-day", type=float, help="average events per day (e.g. 1000000)")
    p.add_argument("--bursts-per-hour", type=float, default=0.25, help="burst seconds per hour (default: %(default)s)")
    p.add_argument(
        "--ingest-lag", type=int, default=0, help="max seconds before an event shows up (default: %(default)s)"
    )
    p.add_argument(
        "--rate-limit",
        type=float,
        default=50,
        help="calls per minute, org-wide (default: %(default)s, Slack's Tier 3); 0 turns it off",
    )
    p.add_argument("--rate-limit-burst", type=int, help="calls allowed at once (default: a minute's worth)")
    p.add_argument(
        "--rate-limit-error",
        choices=("ratelimited", "rate_limited"),
        default="ratelimited",
        help="error code in 429 bodies (default: %(default)s)",
    )
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND[:key=value,...]",
        help=f"inject a fault on every matching call, e.g. http_503:probability=0.05 or "
        f"reset:count=3; kinds: {', '.join(sorted(FAULT_KINDS))}; keys: count, skip, endpoint, "
        "cursor_only, probability, delay, retry_after, duplicates, error (repeatable)",
    )
    p.add_argument(
        "--page-cache-mb",
        type=float,
        default=0,
        help="keep this many MB of rendered logs pages and answer repeated queries from memory, for "
        "benchmarks (default: %(default)s = off)",
    )
    p.add_argument("--verbose", "-v", action="store_true", help="log every request on stderr")
    return p


#: The options handed to :class:`Emulator` as they are (their ``dest`` is the argument's name).
_EMULATOR_OPTIONS = (
    "host",
    "port",
    "token",
    "seed",
    "start",
    "end",
    "events_per_hour",
    "events_per_day",
    "bursts_per_hour",
    "ingest_lag",
    "rate_limit",
    "rate_limit_burst",
    "rate_limit_error",
    "page_cache_mb",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``slack-audit-emulator``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr
    )
    try:
        faults = [parse_fault(text) for text in args.fault]
        emulator = Emulator(**{name: getattr(args, name) for name in _EMULATOR_OPTIONS}, faults=faults)
    except (ValueError, TypeError) as exc:
        parser.error(str(exc))
    try:
        emulator.start()
    except OSError as exc:
        print(f"slack-audit-emulator: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # Render the shared fragments in the background: the first big pages are then as fast as later ones.
    threading.Thread(target=emulator.dataset.warm, name="slack-audit-emulator-warm", daemon=True).start()
    cfg = emulator.dataset.config
    try:  # a signal from here on stops the server cleanly, even one that arrives while the banner is printed
        # Both stop it, whatever the process inherited: a shell starts a background job with SIGINT ignored,
        # and Python then installs no KeyboardInterrupt handler of its own ("Ctrl-C stops" must hold there too).
        signal.signal(signal.SIGTERM, _terminate)
        signal.signal(signal.SIGINT, _terminate)
        print(emulator.base_url, flush=True)
        print(
            f"slack-audit-emulator: serving {emulator.base_url} (seed {cfg.seed}, "
            f"{cfg.events_per_hour:g} events/hour, rate limit "
            f"{args.rate_limit:g}/min{'' if args.rate_limit else ' = off'}); Ctrl-C stops",
            file=sys.stderr,
            flush=True,
        )
        signal.pause() if hasattr(signal, "pause") else _wait_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
        print("slack-audit-emulator: stopped", file=sys.stderr, flush=True)
    return 0


def _wait_forever() -> None:  # pragma: no cover - Windows has no signal.pause
    threading.Event().wait()


if __name__ == "__main__":
    sys.exit(main())
