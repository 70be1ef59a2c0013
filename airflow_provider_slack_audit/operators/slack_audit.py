"""Operators that read a DAG run's window of Slack audit logs into XCom or object storage."""

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
from airflow_provider_slack_audit.hooks.slack_audit import SlackAuditLogsHook
from airflow_provider_slack_audit.operators._asset import export_asset, record_asset_event
from airflow_provider_slack_audit.operators._progress import PageProgress
from airflow_provider_slack_audit.operators._writer import ExportWriter, open_sink, resolve_target
from airflow_provider_slack_audit.task_arguments import QUERY_TEMPLATE_FIELDS, AuditLogsQueryMixin
from airflow_provider_slack_audit.windows import AuditWindow, TimeBound

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_slack_audit.client import AuditLogsPage, LogsQuery
    from airflow_provider_slack_audit.client.raw_page import RawPage


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
    see :class:`~airflow_provider_slack_audit.task_arguments.AuditLogsQueryMixin`), and when to read.

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
        if isinstance(settle_seconds, bool) or not isinstance(settle_seconds, (int, float)) or settle_seconds < 0:
            raise ValueError(f"settle_seconds={settle_seconds!r}: give a number of seconds, 0 or more.")
        self.settle_seconds = settle_seconds
        self.deferrable = deferrable
        self._killed: threading.Event | None = None

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
        window, _ = self.resolve_query(context)  # fails at once on bad input, before any wait
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
                kwargs={"window": [window.oldest, window.latest]},  # resume on this window, even if "now" moved
            )
        return self.execute_settled(context, window=[window.oldest, window.latest])

    def execute_settled(self, context: Context, event: Any = None, window: list[int] | None = None) -> Any:
        """Read the window once it has settled (also where a deferred task resumes).

        :param window: ``[oldest, latest]`` as resolved when the task started; None resolves it again.
        """
        resolved, query = self.resolve_query(context)
        if window is not None:
            resolved = AuditWindow(int(window[0]), int(window[1]))
            query = replace(query, oldest=resolved.oldest, latest=resolved.latest)
        wait = self.settle_wait(resolved)
        if wait > 0:
            self.log.info("Waiting %.0f s for late audit events of %s to settle", wait, resolved.describe())
            if self.killed.wait(wait):
                raise TaskKilled(f"Killed while waiting for {resolved.describe()} to settle; nothing was read.")
        return self.read_window(context, resolved, query)

    def read_window(self, context: Context, window: AuditWindow, query: LogsQuery) -> Any:
        """Read the settled window and produce the task's result."""
        raise NotImplementedError

    def on_kill(self) -> None:
        """Stop reading (and, for exports, throw the partial object away). Airflow calls this from the task's
        SIGTERM handler, so it only sets flags and aborts; the running ``execute`` then fails."""
        self.killed.set()

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
        finally:
            self.close_hook()


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


class SlackAuditLogsOperator(BaseSlackAuditLogsOperator):
    """
    Return the run's window of Slack audit log events (newest first) to XCom.

    XCom lives in Airflow's metadata database and suits small results: a window with more than
    ``max_events`` events fails the task. Use :class:`SlackAuditLogsToObjectStorageOperator` for exports.

    :param max_events: the most events this task may return; more fails the task.
    """

    def __init__(self, *, max_events: int = 1000, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(max_events, bool) or not isinstance(max_events, int) or max_events < 0:
            raise ValueError(f"max_events={max_events!r}: give a whole number of events, 0 or more.")
        self.max_events = max_events

    def read_window(self, context: Context, window: AuditWindow, query: LogsQuery) -> list[dict[str, Any]]:
        self.log.info("Reading Slack audit logs for %s", window.describe())
        events: list[dict[str, Any]] = []
        progress = PageProgress(self.log)
        with closing(self.iter_pages(window, query)) as pages:  # closed (and the hook with it) on any exit
            for page in pages:
                events.extend(page.entries)
                progress.page_done(len(page.entries))
                if len(events) > self.max_events:
                    raise AirflowFailException(
                        f"The window {window.describe()} holds more than max_events={self.max_events} events. XCom is "
                        "kept in Airflow's metadata database and is meant for small results: write the window to a "
                        "file with SlackAuditLogsToObjectStorageOperator, narrow the filters or the schedule "
                        "interval, or raise max_events."
                    )
        progress.finish()
        return events


class SlackAuditLogsToObjectStorageOperator(BaseSlackAuditLogsOperator):
    """
    Write the run's window of Slack audit log events to object storage as JSON Lines.

    One JSON event per line, the bytes Slack sent (an event sent over several lines is put on one), newest
    first; events dated outside the window are left out (logged); gzip-compressed when the path ends in
    ``.gz`` or ``compression="gzip"``, as gzip members compressed on every core. The window is streamed
    page by page (memory stays bounded by a page).
    Nothing appears at ``path`` unless the whole window was read and written, and an earlier object there
    is left as it was on any failure or kill: on object stores the object is one upload that the store
    makes visible only when it completes; locally a temporary sibling ``.<name>.<random>.partial`` is
    renamed into place. Nothing is opened before the settle wait ends.

    :param path: where to write, as a URL Airflow's object storage understands: ``file:///data/audit.jsonl.gz``,
        ``s3://bucket/slack/audit.jsonl.gz``, ``gs://...``. Templated, so a run can write its own object.
    :param conn_id: the Airflow connection for the storage (e.g. an ``aws`` connection for ``s3://``); None
        uses the scheme's default.
    :param compression: ``"infer"`` (gzip if ``path`` ends in ``.gz``), ``"gzip"`` or None for plain text.
    :param overwrite: replace an existing object at ``path`` (a re-run of the window does this); False fails
        the task instead, also when another run creates the object while this one is writing (S3's
        conditional write, a hard link locally; other stores refuse ``overwrite=False`` with an error).
    :param asset: the Asset this task declares and records one event on per run (extra: ``path``,
        ``events``, ``bytes``, ``oldest``, ``latest``): an ``Asset``, a URI, or an ``AssetAlias`` to name
        each object as an Asset of its own. Default: ``path`` itself when it has no template, else its
        static part (``s3://bucket/slack/{{ ds }}.jsonl`` -> ``s3://bucket/slack``), else
        ``slack-audit://<slack_audit_conn_id>/<dag_id>/<task_id>``.
    """

    template_fields: Sequence[str] = (*BaseSlackAuditLogsOperator.template_fields, "path", "conn_id")

    def __init__(
        self,
        *,
        path: str,
        conn_id: str | None = None,
        compression: str | None = "infer",
        overwrite: bool = True,
        asset: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if compression not in ("infer", "gzip", None):
            raise ValueError(f'compression={compression!r}: use "infer" (by the .gz suffix), "gzip" or None.')
        self.path = path
        self.conn_id = conn_id
        self.compression = compression
        self.overwrite = overwrite
        dag = getattr(self, "dag", None) if self.has_dag() else None
        self.asset = export_asset(
            path,
            asset=asset,
            slack_audit_conn_id=self.slack_audit_conn_id,
            dag_id=getattr(dag, "dag_id", None),
            task_id=self.task_id,
        )
        self.outlets = [*(self.outlets or []), self.asset]
        self._writer: ExportWriter | None = None

    def read_window(self, context: Context, window: AuditWindow, query: LogsQuery) -> dict[str, Any]:
        target = resolve_target(self.path, self.conn_id)
        gzip = self.compression == "gzip" or (self.compression == "infer" and target.name.endswith(".gz"))
        self.log.info(
            "Exporting Slack audit logs for %s to %s (%s)", window.describe(), target.url, "gzip" if gzip else "plain"
        )
        progress = PageProgress(self.log)
        writer = self._writer = ExportWriter(open_sink(target, overwrite=self.overwrite), gzip=gzip)
        if self.killed.is_set():  # on_kill came before the writer existed
            writer.abort()
        outside = 0
        try:
            with writer:
                # Events are copied as Slack sent them: only id (de-duplication, in the walk) and
                # date_create (the window check) are decoded; memory stays at one page of bytes.
                for page in self.iter_pages(window, query, raw_entries=True):
                    entries = _in_window(page.entries, window)
                    outside += len(page.entries) - len(entries)
                    writer.write_raw_page(entries)
                    progress.page_done(len(entries))
                    del page, entries  # let the page go before the next one is fetched
        finally:
            self._writer = None
        progress.finish()
        if outside:
            self.log.warning(
                "Left out %d events whose date_create lies outside %s: Slack sent them beyond the bounds "
                "asked for; the run that owns their second exports them.",
                outside,
                window.describe(),
            )
        summary = {
            "path": target.url,
            "events": writer.events,
            "bytes": writer.bytes,
            "oldest": window.oldest,
            "latest": window.latest,
        }
        self.log.info("Wrote %d events (%d bytes) to %s", writer.events, writer.bytes, target.url)
        record_asset_event(context, self.asset, target.url, summary)
        return summary

    def on_kill(self) -> None:
        """Stop reading and throw the partial object away: nothing is left at ``path`` or beside it."""
        super().on_kill()
        writer = self._writer
        if writer is not None:
            writer.abort()
