"""The report of ``slack-audit verify``: each check's line, the sections they stand in, the summary line, and
the escaping that keeps what a file holds from writing lines of its own.

Internal to :mod:`airflow_provider_slack_audit.cli.verify`.

:meta private:
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone

OK, FAIL, SKIP, NOTE = "ok", "FAIL", "skip", "note"

#: What a line of output must not hold as it is: control characters (a line break in a manifest's field
#: would start a line of its own) and lone surrogates (they cannot be written as UTF-8).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def printable(text: str) -> str:
    """``text`` with its control characters and lone surrogates written as Python escapes (``\\n``, ``\\ud800``)."""
    return _UNPRINTABLE.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


@dataclass(frozen=True)
class Check:
    """One check's outcome: ``ok`` and ``FAIL`` judge; ``skip`` (could not be judged, see ``FAIL`` above it)
    and ``note`` (for information) do not change the exit status."""

    status: str
    name: str
    detail: str

    def line(self) -> str:
        return printable(f"{self.status:<4} {self.name:<9} {self.detail}")


@dataclass
class Section:
    """The checks of one file (``object`` or ``late``), or of the object and its late files (``together``)."""

    kind: str
    title: str
    label: str  # how the summary names it
    checks: list[Check] = field(default_factory=list)

    def add(self, status: str, name: str, detail: str) -> None:
        self.checks.append(Check(status, name, detail))


@dataclass
class Report:
    """Everything ``verify`` found, in the order it is printed."""

    sections: list[Section] = field(default_factory=list)

    @property
    def failed(self) -> list[tuple[Section, Check]]:
        return [(s, c) for s in self.sections for c in s.checks if c.status == FAIL]

    @property
    def judged(self) -> int:
        return sum(c.status in (OK, FAIL) for s in self.sections for c in s.checks)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def lines(self) -> Iterator[str]:
        for section in self.sections:
            yield printable(f"{section.kind:<9} {section.title}")
            for check in section.checks:
                yield check.line()
        failed = self.failed
        if not failed:
            yield f"{'passed':<9} all {self.judged} checks hold"
            return
        by_file: dict[str, list[str]] = {}
        for section, check in failed:
            by_file.setdefault(section.label, []).append(check.name)
        named = "; ".join(f"{', '.join(names)} ({label})" for label, names in by_file.items())
        yield printable(f"{'failed':<9} {len(failed)} of {self.judged} checks: {named}")


def iso(second: int) -> str:
    """``second`` as UTC time, or as the number itself where it lies beyond the times ``datetime`` can show."""
    try:
        return datetime.fromtimestamp(second, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError, OSError):  # beyond time_t, or a year before 1 or after 9999
        return str(second)


def extra_lines(count: int) -> str:
    return f"{count} extra line{'' if count == 1 else 's'}"


def describe_window(oldest: int, latest: int) -> str:
    return f"[{oldest}, {latest}] ({iso(oldest)} .. {iso(latest)} inclusive)"
