"""One walk over a long span, cut into the objects of its intervals (hours, say) as the walk goes.

A backfill that walks each hour on its own pays at least one call an hour, however few events the
hour holds. :class:`SpanSplitter` lets one walk over the whole span (a day, a month) feed the objects
of every interval in it: each page's events are routed to their interval by their own ``date_create``
(never by where they sit in the walk), kept in a spool of that interval (memory up to ``spool_bytes``,
then a temporary file), and an interval is handed out (:class:`ReadyInterval`) once the walk has
moved past it, to be written by the same code that writes a window read on its own.

When an interval is complete. Slack sends pages newest first, so once an event older than an
interval's first second has been read, the interval has had all its events. Handing it out at that
moment would trust the order across pages; the splitter holds it back one page more: an interval is
handed out after the page *following* the one that went past it has been routed. An event that still
arrives for an interval already handed out (Slack broke its order by more than a page) is not put in
any other interval: the interval is named in :attr:`SpanSplitter.disordered`, and its writer must
read it again on its own (what the export operator does).

Memory. An interval's events wait only until the walk is a page past it, so what the spools hold
at once is about two pages of events, whatever the span; a dense interval that spans many pages goes
to disk past ``spool_bytes``. Events are replayed to the writer as the pages they came in (one
:class:`~airflow_provider_slack_audit.client.raw_page.RawPage` per walk page that held events of the
interval), their bytes as Slack sent them.

Internal to the export operator; not an API.

:meta private:
"""

from __future__ import annotations

import tempfile
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice, pairwise
from typing import IO, TYPE_CHECKING, Any

from airflow_provider_slack_audit.client.raw_page import RawPage, read_raw_page

if TYPE_CHECKING:
    from airflow_provider_slack_audit.arguments.window import AuditWindow

#: Bytes of an interval's events kept in memory before its spool moves to a temporary file.
DEFAULT_SPOOL_BYTES = 1 << 20
#: Bytes read from a spool at a time while an interval is replayed.
_REPLAY_READ = 1 << 20


def check_intervals(windows: Sequence[AuditWindow]) -> None:
    """Refuse intervals that are not consecutive, oldest first, sharing no second and missing none."""
    if not windows:
        raise ValueError("a span split into no interval: give at least one")
    for before, after in pairwise(windows):
        if after.oldest != before.latest + 1:
            raise ValueError(
                f"intervals {before.describe()} and {after.describe()} are not consecutive: each must start the "
                "second after the one before it ends"
            )


@dataclass
class _Spool:
    """The events of one interval routed so far: their lines in a spooled file, and how many came per page."""

    spool_bytes: int
    file: IO[bytes] | None = None
    page_counts: list[int] = field(default_factory=list)
    events: int = 0
    last_page: int = -1

    def add(self, lines: list[Any], page_number: int) -> None:
        if self.file is None:
            self.file = tempfile.SpooledTemporaryFile(max_size=self.spool_bytes, prefix="slack-audit-split-")  # noqa: SIM115
        self.file.write(b"\n".join(map(bytes, lines)) + b"\n")
        if page_number != self.last_page:
            self.page_counts.append(0)
            self.last_page = page_number
        self.page_counts[-1] += len(lines)
        self.events += len(lines)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


class ReadyInterval:
    """An interval the walk has moved past: its window and its events, to be written once.

    Iterate :meth:`pages` once; :meth:`close` frees the spool (also when the write failed).

    :param index: the interval's place in the span (0 is the oldest).
    :param window: the interval's window.
    :param spool: its events.
    """

    def __init__(self, index: int, window: AuditWindow, spool: _Spool) -> None:
        self.index = index
        self.window = window
        self._spool = spool

    @property
    def events(self) -> int:
        """How many events the interval holds."""
        return self._spool.events

    def pages(self) -> Iterator[RawPage]:
        """The interval's events, page by page as the walk read them, each event's bytes as Slack sent them."""
        spool = self._spool
        if spool.file is None:
            return
        spool.file.seek(0)
        lines = self._lines(spool.file)
        for count in spool.page_counts:
            taken = list(islice(lines, count))
            if len(taken) < count:
                raise OSError(f"the spool of {self.window.describe()} ends before its events do")
            yield _as_page(taken)

    @staticmethod
    def _lines(file: IO[bytes]) -> Iterator[bytes]:
        rest = b""
        while data := file.read(_REPLAY_READ):
            lines = (rest + data).split(b"\n")
            rest = lines.pop()
            yield from lines
        if rest:
            raise OSError("a spool of events ends in the middle of one")

    def close(self) -> None:
        """Free the spool."""
        self._spool.close()


def _as_page(lines: list[bytes]) -> RawPage:
    """``lines`` (entries as one-line JSON) read back as a page: the same bytes, their ids and date_create."""
    return read_raw_page(b'{"entries":[' + b",".join(lines) + b"]}")


class SpanSplitter:
    """Routes the pages of a newest-first walk over a span to the intervals that make it up.

    Feed every page with :meth:`add` (each returns the intervals it made ready), then call :meth:`finish`
    (the rest, newest first); :meth:`close` frees what is still held, however the walk ended.

    :param windows: the span's intervals, oldest first, consecutive (see :func:`check_intervals`). Events
        dated outside all of them must be left out before :meth:`add`.
    :param spool_bytes: bytes of an interval's events held in memory before they go to a temporary file.
    """

    def __init__(self, windows: Sequence[AuditWindow], *, spool_bytes: int = DEFAULT_SPOOL_BYTES) -> None:
        check_intervals(windows)
        if spool_bytes < 1:
            raise ValueError(f"spool_bytes={spool_bytes!r}: give a positive number of bytes.")
        self.windows = list(windows)
        self.spool_bytes = spool_bytes
        self._starts = [window.oldest for window in self.windows]
        self._spools: dict[int, _Spool] = {}
        #: Intervals handed out (or being handed out): an event for one of them is out of order.
        self._handed_out: set[int] = set()
        #: Intervals handed out before an event of theirs arrived: they must be read again on their own.
        self.disordered: set[int] = set()
        #: The oldest date_create routed so far, and as it was after the page before the last one.
        self._frontier: int | None = None
        self._held_frontier: int | None = None
        #: Where an event without a date_create goes: the interval of the event routed before it.
        self._current = len(self.windows) - 1
        self._next_unready = len(self.windows) - 1  # intervals above this index were all handed out
        self._pages = 0

    def interval_of(self, second: int) -> int:
        """The index of the interval that holds ``second``."""
        index = bisect_right(self._starts, second) - 1
        if index < 0 or second > self.windows[-1].latest:
            raise ValueError(f"date_create {second} lies outside the span; leave such events out before add()")
        return index

    def add(self, page: RawPage) -> list[ReadyInterval]:
        """Route one page's events (in their order) to their intervals; the intervals now ready, newest first."""
        routed: dict[int, list[Any]] = {}
        for line, second in zip(page.lines, page.seconds, strict=True):
            if type(second) is int:
                index = self.interval_of(second)
                self._current = index
                if self._frontier is None or second < self._frontier:
                    self._frontier = second
            else:
                index = self._current  # no date to route by: it stays where the walk is
            if index in self._handed_out:
                self.disordered.add(index)  # never into another interval: it is read again on its own
                continue
            routed.setdefault(index, []).append(line)
        for index, lines in routed.items():
            spool = self._spools.get(index)
            if spool is None:
                spool = self._spools[index] = _Spool(self.spool_bytes)
            spool.add(lines, self._pages)
        self._pages += 1
        ready = self._hand_out_above(self._held_frontier)
        self._held_frontier = self._frontier
        return ready

    def finish(self) -> list[ReadyInterval]:
        """Every interval not handed out yet, newest first (the walk has read the whole span)."""
        return self._hand_out_above(None, everything=True)

    def _hand_out_above(self, frontier: int | None, *, everything: bool = False) -> list[ReadyInterval]:
        """The intervals not handed out whose first second is newer than ``frontier``, newest first."""
        ready = []
        while self._next_unready >= 0:
            index = self._next_unready
            if not everything and (frontier is None or self.windows[index].oldest <= frontier):
                break
            self._handed_out.add(index)
            spool = self._spools.pop(index, None) or _Spool(self.spool_bytes)
            ready.append(ReadyInterval(index, self.windows[index], spool))
            self._next_unready -= 1
        return ready

    def close(self) -> None:
        """Free every spool still held (a walk that failed or was killed)."""
        for spool in self._spools.values():
            spool.close()
        self._spools.clear()
