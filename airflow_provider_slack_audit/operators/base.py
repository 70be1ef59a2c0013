"""What every Slack audit logs operator shares: when to read a window, how to read it, and how to stop.

:class:`BaseSlackAuditLogsOperator` owns the flow ``execute`` -> (settle wait, deferred when asked) ->
``execute_settled`` -> :meth:`~BaseSlackAuditLogsOperator.read_window`, the kill switch (``on_kill``
also aborts the task's writer), the walk over a window's pages and the client that makes it. Each
operator only says what it does with a settled window (``read_window``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, BaseOperator, conf

from airflow_provider_slack_audit._compat import DateTimeTrigger
from airflow_provider_slack_audit.arguments.query import QUERY_TEMPLATE_FIELDS, AuditLogsQueryMixin
from airflow_provider_slack_audit.arguments.window import AuditWindow, TimeBound
from airflow_provider_slack_audit.client.validation import isinstance_strict
from airflow_provider_slack_audit.export.manifest import WrittenEvents, write_manifest_of
from airflow_provider_slack_audit.export.writer import ExportTarget, ExportWriter, open_sink
from airflow_provider_slack_audit.hooks.slack_audit import SlackAuditLogsHook
from airflow_provider_slack_audit.operators._progress import PageProgress

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_slack_audit.client import AuditLogsPage, LogsQuery, SlackAuditLogsClient
    from airflow_provider_slack_audit.client.raw_page import RawPage
    from airflow_provider_slack_audit.export.formats.choice import ExportFormat
    from airflow_provider_slack_audit.export.manifest import ExportTally


#: The operators' public module. Each operator's ``__module__`` names it (not the module the class is written
#: in), so its class path stays what users' DAGs, serialized DAGs, task loggers and settings such as
#: ``[openlineage] disabled_for_operators`` have always named.
PUBLIC_MODULE = "airflow_provider_slack_audit.operators.slack_audit"
#: Default wait after a window's end before it is read: events can reach Slack's audit log late.
DEFAULT_SETTLE_SECONDS = 120
#: How early before its window ends a run may start and still wait for it (clock skew, early triggers).
MAX_EARLY_START_SECONDS = 60
#: A deferrable task defers its settle wait only when it is longer than this; shorter waits cost less in
#: the worker than a round trip through the triggerer.
MIN_DEFER_SECONDS = 5


class TaskKilled(AirflowException):
    """``on_kill()`` was called: the task stops reading and writing."""


class BaseSlackAuditLogsOperator(AuditLogsQueryMixin, BaseOperator):
    """
    What every Slack audit logs operator shares: the connection, the window and the filters
    (``slack_audit_conn_id``, ``oldest``, ``latest``, ``action``, ``actor``, ``entity``, ``page_size``;
    see :class:`~airflow_provider_slack_audit.arguments.query.AuditLogsQueryMixin`), and when to read.

    :param settle_seconds: how long after the window's last second to wait before reading it, for events
        that reach Slack's audit log late (Slack documents no delay; collectors hold back 60 to 300 s). A
        run that starts sooner waits (see ``deferrable``); a window that ends further in the future than
        that fails, since it cannot be read whole yet. A past window neither waits nor defers.
    :param deferrable: wait for the window to settle in the triggerer (a ``DateTimeTrigger`` at the exact
        moment) instead of in a worker slot, when the wait is longer than a few seconds. Defaults to
        ``[operators] default_deferrable``.
    """

    template_fields: Sequence[str] = QUERY_TEMPLATE_FIELDS
    ui_color = "#4a154b"
    ui_fgcolor = "#ffffff"

    def __init__(
        self,
        *,
        slack_audit_conn_id: str = SlackAuditLogsHook.default_conn_name,
        oldest: TimeBound = None,
        latest: TimeBound = None,
        action: str | Iterable[str] | None = None,
        actor: str | None = None,
        entity: str | None = None,
        page_size: int | str | None = None,
        settle_seconds: float = DEFAULT_SETTLE_SECONDS,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.set_query_arguments(slack_audit_conn_id, oldest, latest, action, actor, entity, page_size)
        if not isinstance_strict(settle_seconds, (int, float)) or settle_seconds < 0:
            raise ValueError(f"settle_seconds={settle_seconds!r}: give a number of seconds, 0 or more.")
        self.settle_seconds = settle_seconds
        self.deferrable = deferrable
        self._killed: threading.Event | None = None
        self._writer: ExportWriter | None = None

    def settle_moment(self, window: AuditWindow) -> float:
        """The epoch second from which ``window`` counts as settled: its end plus ``settle_seconds``."""
        return window.latest + 1 + self.settle_seconds

    def settle_wait(self, window: AuditWindow) -> float:
        """Seconds still to wait before ``window`` may be read (0 for a past window); refuse a window still open."""
        wait = self.settle_moment(window) - time.time()
        if wait <= 0:
            return 0.0
        if wait > self.settle_seconds + MAX_EARLY_START_SECONDS:
            raise AirflowFailException(
                f"The window {window.describe()} has not ended yet, so it cannot be exported whole: Slack would "
                f"return only the events so far. Export windows that have ended (the run's data interval does), "
                f"or set latest to a past second."
            )
        return wait

    @property
    def killed(self) -> threading.Event:
        """Set by :meth:`on_kill`; made per execution (an Event cannot be copied with the task)."""
        if self._killed is None:
            self._killed = threading.Event()
        return self._killed

    def execute(self, context: Context) -> Any:
        """Resolve the window, wait for it to settle (deferring when asked), then :meth:`read_window`."""
        window, query = self.resolve_query(context)  # fails at once on bad input, before any wait
        wait = self.settle_wait(window)
        if wait > MIN_DEFER_SECONDS and self.deferrable:
            moment = datetime.fromtimestamp(self.settle_moment(window), tz=timezone.utc)
            self.log.info(
                "Deferring for %.0f s until %s, when late audit events of %s have settled",
                wait,
                moment.isoformat(),
                window.describe(),
            )
            self.defer(
                trigger=DateTimeTrigger(moment=moment),
                method_name="execute_settled",
                # resume on this window, even if "now" moved; and with what the task must find again
                kwargs={"window": [window.oldest, window.latest], **self.deferral_state()},
            )
        return self._read_when_settled(context, window, query)

    def deferral_state(self) -> dict[str, Any]:
        """JSON-safe facts, beyond the window, that a deferred task must find unchanged when it resumes; they
        come back to :meth:`resume_window` as keyword arguments. None here."""
        return {}

    def execute_settled(
        self, context: Context, event: Any = None, window: list[int] | None = None, **state: Any
    ) -> Any:
        """Read the window once it has settled (where a deferred task resumes).

        :param event: the trigger's event (unused: the trigger fires at the settle moment).
        :param window: ``[oldest, latest]`` as resolved when the task started; None resolves it again.
        :param state: what :meth:`deferral_state` saved when the task deferred.
        """
        resolved, query = self.resolve_query(context)
        if window is not None:
            resolved = self.resume_window(resolved, AuditWindow(int(window[0]), int(window[1])), **state)
            query = replace(query, oldest=resolved.oldest, latest=resolved.latest)
        return self._read_when_settled(context, resolved, query)

    def resume_window(self, resolved: AuditWindow, deferred: AuditWindow, **state: Any) -> AuditWindow:
        """The window a resumed task reads: the one it deferred on (``deferred``), even where the task's
        arguments now resolve to another (``resolved``: a window relative to "now" has moved on).

        :param state: what :meth:`deferral_state` saved; a subclass that saves something checks it here.
        """
        return deferred

    def _read_when_settled(self, context: Context, window: AuditWindow, query: LogsQuery) -> Any:
        """Wait in the worker for what is left of the settle wait (stopped by ``on_kill``), then read."""
        wait = self.settle_wait(window)
        if wait > 0:
            self.log.info("Waiting %.0f s for late audit events of %s to settle", wait, window.describe())
            if self.killed.wait(wait):
                raise TaskKilled(f"Killed while waiting for {window.describe()} to settle; nothing was read.")
        return self.read_window(context, window, query)

    def read_window(self, context: Context, window: AuditWindow, query: LogsQuery) -> Any:
        """Read the settled window and produce the task's result.

        :param context: the task's context.
        :param window: the window to read, settled.
        :param query: the query that reads it (the window's bounds and the task's filters).
        """
        raise NotImplementedError

    def on_kill(self) -> None:
        """Stop reading and throw away what the task was writing (a partial export or late file): nothing is
        left at ``path`` or beside it. Airflow calls this from the task's SIGTERM handler, so it only sets
        flags and aborts; the running ``execute`` then fails."""
        self.killed.set()
        writer = self._writer
        if writer is not None:
            writer.abort()

    def open_writer(
        self, target: ExportTarget, *, overwrite: bool, gzip: bool, export_format: ExportFormat | None = None
    ) -> ExportWriter:
        """A writer of ``target`` that :meth:`on_kill` aborts (already aborted if the task was killed).

        Nothing is created at or beside the target until the writer is opened. The caller sets
        ``self._writer`` back to None once the writer is done.

        :param target: the object to write.
        :param overwrite: replace an object at ``target``; False refuses one (also one that appears meanwhile).
        :param gzip: compress the object with gzip (JSON Lines).
        :param export_format: Parquet writes the events as rows of its table schema; None or JSON Lines as lines.
        """
        sink = open_sink(target, overwrite=overwrite)
        if export_format is not None and export_format.is_parquet:
            from airflow_provider_slack_audit.export.formats.parquet_writer import ParquetExportWriter

            writer: ExportWriter = ParquetExportWriter(sink, export_format)
        else:
            writer = ExportWriter(sink, gzip=gzip)
        self._writer = writer
        if self.killed.is_set():  # on_kill came before the writer existed
            writer.abort()
        return writer

    def walking_client(self) -> SlackAuditLogsClient:
        """The hook's client, made now: a bad connection fails the task at once, as in the walk. Keep it:
        the walk closes the hook, and the client's counters (calls, retries) go to the manifest."""
        with self.failing_fast():
            return self.hook.client

    def iter_pages(
        self, window: AuditWindow, query: LogsQuery, *, raw_entries: bool = False
    ) -> Iterator[AuditLogsPage]:
        """Every page of the window's query, bounds and filters sent with each cursor; failures that a
        retry cannot fix (a refused token, a rejected query) fail the task at once. Stops when killed.
        The hook's connections are closed when the walk ends, however it ends. With ``raw_entries`` the
        events are their JSON bytes as Slack sent them, with ids and date_create (for copying)."""
        try:
            with self.failing_fast():
                for page in self.hook.iter_pages(query, raw_entries=raw_entries):
                    if self.killed.is_set():
                        raise TaskKilled(f"Killed while reading {window.describe()}.")
                    yield page
                    del page  # not held while the next page is fetched: memory stays at one page
        finally:
            self.close_hook()

    def read_in_window(self, window: AuditWindow, query: LogsQuery) -> WindowRead:
        """The window's events as Slack sent them, page by page, without those dated outside it (see
        :class:`WindowRead`).

        :param window: the settled window.
        :param query: the query that reads it.
        """
        return WindowRead(self, window, query)


class WindowRead:
    """One walk over a settled window, as the export and the reconciliation copy it.

    Iterating gives each page's events as Slack sent them (a :class:`RawPage`), without those whose
    ``date_create`` is a whole second outside the window: Slack sent them beyond the bounds asked for,
    and the run that owns their second exports them. Progress lines are logged as pages are done;
    :meth:`finish` logs the totals and how many events were left out. Only one page is held at a time.

    :param operator: the task that reads (its walk, its log).
    :param window: the settled window.
    :param query: the query that reads it.
    """

    def __init__(self, operator: BaseSlackAuditLogsOperator, window: AuditWindow, query: LogsQuery) -> None:
        self.operator = operator
        self.window = window
        self.query = query
        self.progress = PageProgress(operator.log)
        #: Events left out so far, dated outside the window.
        self.outside = 0

    def __iter__(self) -> Iterator[RawPage]:
        # The walk is made (and closed, with the hook) here: this object holds no page after the loop ends.
        with closing(self.operator.iter_pages(self.window, self.query, raw_entries=True)) as pages:
            for page in pages:
                entries = _in_window(page.entries, self.window)
                self.outside += len(page.entries) - len(entries)
                del page
                yield entries
                self.progress.page_done(len(entries))
                del entries  # let the page's bytes go before the next one is fetched

    def finish(self) -> None:
        """Log the totals and how many events were left out (if any)."""
        self.progress.finish()
        _log_outside(self.operator.log, self.outside, self.window)

    def write_manifest(
        self,
        target: ExportTarget,
        writer: ExportWriter,
        *,
        tally: ExportTally,
        ids_sha256: str | None,
        client: SlackAuditLogsClient | None,
        **extra: Any,
    ) -> str:
        """Write the manifest of what this read's events became (see :func:`write_manifest_of`): the object
        ``writer`` committed at ``target``, with this read's window and filters; returns its URL."""
        return write_manifest_of(target, writer, self.written(tally, ids_sha256, client), **extra)

    def written(self, tally: ExportTally, ids_sha256: str | None, client: SlackAuditLogsClient | None) -> WrittenEvents:
        """What a manifest records of this read: its window and filters, with what was counted of the events
        written (``tally``, ``ids_sha256``) and the ``client`` that walked."""
        return WrittenEvents(self.window, self.query, tally, ids_sha256, client)


def _in_window(page: RawPage, window: AuditWindow) -> RawPage:
    """The page without events whose date_create is a whole second outside the window (one without it is kept)."""
    seconds = page.seconds
    if not seconds or (
        set(map(type, seconds)) == {int} and window.oldest <= min(seconds) and max(seconds) <= window.latest
    ):
        return page  # the usual page, checked without a loop per event
    return page.subset(
        i
        for i, second in enumerate(seconds)
        if not (type(second) is int and not window.oldest <= second <= window.latest)
    )


def _log_outside(log: Any, outside: int, window: AuditWindow) -> None:
    """Say how many events :func:`_in_window` left out, if any."""
    if outside:
        log.warning(
            "Left out %d events whose date_create lies outside %s: Slack sent them beyond the bounds asked for; "
            "the run that owns their second exports them.",
            outside,
            window.describe(),
        )
