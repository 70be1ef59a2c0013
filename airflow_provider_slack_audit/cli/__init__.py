"""``slack-audit``: the provider's command line, for the people who check exports (no Airflow needed).

``slack-audit verify PATH`` checks an exported object and the late files beside it against their
manifests (see :mod:`.verify` and ``docs/verify.rst``). Exit status: 0 when every check holds, 1 when
one fails (one ``FAIL`` line each), 2 for a usage error. It never ends in a traceback: an error nothing
else handles becomes one ``FAIL error`` line (exit status 1).

Imports only the standard library and the package's Airflow-free parts.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from airflow_provider_slack_audit import __version__

#: Exit status: every check holds / a check failed / the command line is wrong.
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

_LOCAL_SCHEMES = ("file://", "local://")


class UsageError(Exception):
    """The command line cannot be run as given (exit status 2)."""


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``slack-audit``."""
    parser = argparse.ArgumentParser(
        prog="slack-audit",
        description="Tools for the exports of airflow-provider-slack-audit; they need no Airflow.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    verify = commands.add_parser(
        "verify",
        help="check an exported object and its late files against their manifests",
        description=(
            "Check the exported object at PATH, and the late files beside it, against their manifests: "
            "manifest present and describing this write, size, sha256, format and compression, events, ids "
            "digest, no id twice, every date_create within the window. One line per check; exit status 0 when "
            "all hold, 1 when one fails, 2 for a usage error."
        ),
        epilog=(
            "verify reads local files. For an object in S3 (or another store), copy the object, its manifest and "
            "its late files to a folder first, e.g. aws s3 cp s3://BUCKET/PREFIX/ ./copy/ --recursive "
            "--exclude '*' --include 'STEM.*' (STEM: the object's name without .jsonl[.gz]), then run "
            "slack-audit verify ./copy/NAME."
        ),
    )
    verify.add_argument("path", metavar="PATH", help="the exported object: a local path or a file:// URL")
    return parser


def local_path(text: str) -> Path:
    """The local file that ``PATH`` names: a path, or a ``file://`` URL as the provider writes them (the rest of
    the URL is the path, not percent-decoded: the manifest's ``path`` is written that way)."""
    if not text.strip():
        raise UsageError("PATH is empty: give the exported object's file, e.g. /data/slack/2024-03-01T00.jsonl.gz")
    for scheme in _LOCAL_SCHEMES:
        if text.lower().startswith(scheme):
            rest = text[len(scheme) :]
            if rest.lower().startswith("localhost/"):
                rest = rest[len("localhost") :]
            if not rest.startswith("/"):
                raise UsageError(
                    f"{text}: a file URL names an absolute path on this machine, e.g. file:///data/x.jsonl"
                )
            return Path(rest)
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise UsageError(
            f"{text}: verify reads local files, not {scheme}:// objects. Copy the object, its manifest and its late "
            f"files to a folder first (for S3: aws s3 cp s3://BUCKET/PREFIX/ ./copy/ --recursive --exclude '*' "
            "--include 'STEM.*', STEM being the object's name without .jsonl[.gz]; add --version-id with "
            "aws s3api get-object to fetch a given version), then verify the copy: slack-audit verify ./copy/NAME"
        )
    path = Path(text)
    if path.name.endswith(".manifest.json"):
        raise UsageError(f"{text} is a manifest: give the object it describes ({path.name[: -len('.manifest.json')]})")
    if path.is_dir():
        raise UsageError(f"{text} is a folder: give the exported object's file")
    return path


def run_verify(path_text: str) -> int:
    from airflow_provider_slack_audit.cli.verify import verify

    path = local_path(path_text)
    report = verify(path, path_text)
    for line in report.lines():
        print(line)
    return report.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``slack-audit`` with ``argv`` (``sys.argv[1:]`` when None); returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or a usage error argparse printed
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_usage(sys.stderr)
        print("slack-audit: error: give a command, e.g. slack-audit verify PATH", file=sys.stderr)
        return EXIT_USAGE
    try:
        return run_verify(args.path)
    except UsageError as err:
        print(f"slack-audit verify: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as err:  # a file that cannot be read (permissions, a folder that vanished)
        print(f"slack-audit verify: error: {err}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as err:  # the last line of defence: whatever the files hold, no traceback
        from airflow_provider_slack_audit.cli.verify import FAIL, Check

        print(Check(FAIL, "error", f"{type(err).__name__}: {err}").line())
        return EXIT_FAILED
