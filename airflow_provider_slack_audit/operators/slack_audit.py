"""Operators that read a DAG run's window of Slack audit logs into XCom or object storage."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, closing
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, BaseOperator, conf

from airflow_provider_slack_audit._compat import DateTimeTrigger
from airflow_provider_slack_audit.arguments.query import QUERY_TEMPLATE_FIELDS, AuditLogsQueryMixin, unless_blank
from airflow_provider_slack_audit.arguments.window import AuditWindow, TimeBound, resolve_window
from airflow_provider_slack_audit.client import LogsQuery
from airflow_provider_slack_audit.export.ids import IdIndex
from airflow_provider_slack_audit.export.late_files import (
    late_files,
    late_name,
    newest_late_second,
    next_late_second,
    remove_stale_late_files,
)
from airflow_provider_slack_audit.export.manifest import (
    ExportTally,
    filters_record,
    read_manifest,
    remove_manifest,
    write_manifest_of,
)
from airflow_provider_slack_audit.export.scan import object_ids, scan_ids
from airflow_provider_slack_audit.export.storage import TargetExistsError
from airflow_provider_slack_audit.export.writer import ExportTarget, ExportWriter, open_sink, resolve_target
from airflow_provider_slack_audit.hooks.slack_audit import SlackAuditLogsHook
from airflow_provider_slack_audit.operators._asset import export_asset, record_asset_event
from airflow_provider_slack_audit.operators._lineage import LineageMixin, LineageRecord
from airflow_provider_slack_audit.operators._progress import PageProgress

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
                    del page  # not held while the next page is fetched: memory stays at one page
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


def _log_outside(log: Any, outside: int, window: AuditWindow) -> None:
    """Say how many events :func:`_in_window` left out, if any."""
    if outside:
        log.warning(
            "Left out %d events whose date_create lies outside %s: Slack sent them beyond the bounds asked for; "
            "the run that owns their second exports them.",
            outside,
            window.describe(),
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


class SlackAuditLogsToObjectStorageOperator(LineageMixin, BaseSlackAuditLogsOperator):
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
    :param manifest: write ``<path>.manifest.json`` once the object is in place: the window, filters, counts,
        the sha256 of the stored bytes and of the sorted event ids (evidence that the export is whole and
        unaltered; :class:`SlackAuditLogsReconcileOperator` checks it). The manifest of an object being
        replaced is removed first, also with ``manifest=False``: a manifest never describes another object.
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
        manifest: bool = True,
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
        self.manifest = manifest
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
        tally = ExportTally()
        with self.failing_fast():  # a bad connection fails the task at once, as in the walk
            client = self.hook.client  # kept: the walk closes the hook, its counters go to the manifest
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
                    if self.manifest:
                        tally.add(entries.ids, entries.seconds)
                    progress.page_done(len(entries))
                    del page, entries  # let the page go before the next one is fetched
                # The object and its manifest are one: the manifest of the object being replaced goes before
                # the commit, and the new one is written only once the new object is in place.
                if remove_manifest(target.path, local=target.is_local):
                    self.log.info("Removed the manifest of the object being replaced at %s", target.url)
            ids_sha256 = tally.ids.hexdigest() if self.manifest else None
        finally:
            self._writer = None
            tally.close()
        progress.finish()
        _log_outside(self.log, outside, window)
        summary: dict[str, Any] = {
            "path": target.url,
            "events": writer.events,
            "bytes": writer.bytes,
            "oldest": window.oldest,
            "latest": window.latest,
            "sha256": writer.sha256,
            "ids_sha256": ids_sha256,
            "manifest": None,
        }
        # Listed once, before the manifest: it records the newest late file name (a reconciliation names its
        # late file after it, so a name removed below is never used again), and only these are removed.
        lates = late_files(target.path, gzip=gzip)
        if self.manifest:
            summary["manifest"] = write_manifest_of(
                target,
                writer,
                window=window,
                filters=query,
                tally=tally,
                ids_sha256=ids_sha256,
                client=client,
                late_after=newest_late_second(lates),
            )
        removed, kept = remove_stale_late_files(
            lates, target, writer.sha256, gzip_=gzip, object_ids=lambda: object_ids(target, gzip)
        )
        for name in removed:
            self.log.info("Removed %s: it completed the earlier export of %s, now replaced", name, target.url)
        for name in kept:
            self.log.warning(
                "Could not remove %s, whose events the new %s holds (may this role delete?). Its manifest names the "
                "earlier export's sha256, or it has none and every event of it is in the object: loaders must skip "
                "it",
                name,
                target.url,
            )
        self.log.info("Wrote %d events (%d bytes) to %s", writer.events, writer.bytes, target.url)
        self._lineage = LineageRecord(
            base_url=client.base_url,
            window={"oldest": window.oldest, "latest": window.latest},
            filters=filters_record(query),
            outputs=[(target.path, writer.events, writer.bytes)],
        )
        record_asset_event(context, self.asset, target.url, summary)
        return summary

    def on_kill(self) -> None:
        """Stop reading and throw the partial object away: nothing is left at ``path`` or beside it."""
        super().on_kill()
        writer = self._writer
        if writer is not None:
            writer.abort()


#: Vanished ids listed in the log at most (all are counted).
MAX_VANISHED_LISTED = 100
#: Names a reconciliation tries for its late file when other reconciliations of the object take them first.
MAX_LATE_NAME_ATTEMPTS = 5


class SlackAuditLogsReconcileOperator(LineageMixin, BaseSlackAuditLogsOperator):
    """
    Check an exported window against Slack again and keep what arrived late.

    Slack indexes some events late (hours, with no documented bound), so an export can miss events that
    Slack returns for the same window later. This task re-reads the window, compares ids with the object
    at ``path`` (and with the late files already written beside it) and:

    * writes the events Slack now returns that the object lacks (**late**) to a sibling
      ``<path stem>.late-<unix seconds>.jsonl[.gz]`` (all or nothing, with its own manifest); a run that
      finds nothing new writes nothing, so each late event is written once;
    * reports the events of the object that Slack no longer returns (**vanished**).

    The late file's second follows from the late files already there, never from the clock: the window's
    end for the first, one more than the newest (or than the manifest's ``late_after``, the newest name a
    re-export saw and may have removed) for each next one. Reconciliations of one object that
    overlap therefore pick the same name when they compared with the same late files, and a name is only
    ever created where none is: the one that finds it taken compares again with that file included and
    writes only what is still missing, under the next name, or nothing. Each late event is in one file.

    The late file holds each late event's bytes as Slack sent them, like the export. Of every event only
    the id and ``date_create`` are decoded, and between pages only ids are kept: memory stays bounded
    (about 17 bytes an id, ~20 MB for a million events, plus one page). The window
    and filters come from the object's manifest when the task gives none; given ones must match it. When
    the manifest is there, the object's sha256 must match it: an altered object fails the task.

    Returns ``{"path", "checked", "late", "vanished", "late_path"}``: ``checked`` is how many events Slack
    returned for the window, ``late_path`` the late file written (None when nothing was late).

    :param path: the exported object, as a URL (templated: the run's own object or another run's).
    :param conn_id: the Airflow connection for the storage, as for the export.
    :param fail_on_late: fail the task (after writing the late file) when late events were found.
    :param fail_on_vanished: fail the task when events of the object are no longer returned by Slack.
    """

    template_fields: Sequence[str] = (*BaseSlackAuditLogsOperator.template_fields, "path", "conn_id")

    def __init__(
        self,
        *,
        path: str,
        conn_id: str | None = None,
        fail_on_late: bool = False,
        fail_on_vanished: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.conn_id = conn_id
        self.fail_on_late = fail_on_late
        self.fail_on_vanished = fail_on_vanished
        self._writer: ExportWriter | None = None

    def on_kill(self) -> None:
        """Stop reading and throw a partial late file away: nothing is left beside ``path``."""
        super().on_kill()
        writer = self._writer
        if writer is not None:
            writer.abort()

    def _query(self, context: Context, manifest: dict[str, Any] | None) -> tuple[AuditWindow, LogsQuery]:
        """The window and query: the task's own, else the manifest's; both given must agree."""
        if manifest is None:
            return self.resolve_query(context)
        window = AuditWindow(int(manifest["window"]["oldest"]), int(manifest["window"]["latest"]))
        if unless_blank(self.oldest) is not None or unless_blank(self.latest) is not None:
            given = resolve_window(context, self.oldest, self.latest)
            if given != window:
                raise AirflowFailException(
                    f"The window {given.describe()} differs from the exported one {window.describe()} that the "
                    "manifest records: the comparison would report events of other seconds as late or vanished. "
                    "Leave oldest/latest unset to use the manifest's window."
                )
        rec = manifest.get("filters") or {}
        with self.failing_fast():
            query = LogsQuery(
                oldest=window.oldest,
                latest=window.latest,
                action=rec.get("action"),
                actor=rec.get("actor"),
                entity=rec.get("entity"),
                limit=unless_blank(self.page_size),
            )
            given_filters = filters_record(
                LogsQuery(
                    action=unless_blank(self.action),
                    actor=unless_blank(self.actor),
                    entity=unless_blank(self.entity),
                )
            )
        if given_filters != filters_record(LogsQuery()) and given_filters != filters_record(query):
            raise AirflowFailException(
                f"The filters {given_filters} differ from the export's {filters_record(query)} recorded in its "
                "manifest. Leave action/actor/entity unset to use the manifest's."
            )
        return window, query

    def execute(self, context: Context) -> dict[str, Any]:
        target = resolve_target(self.path, self.conn_id)
        # fsspec filesystems are shared in a process and cache listings and object versions: the object and
        # its late files must be read as they are now (another task may have written or replaced them).
        target.path.fs.invalidate_cache()
        if not target.path.exists():
            raise AirflowFailException(
                f"{target.url} does not exist: reconcile an object that an export wrote (check the path and that "
                "the export task succeeded)."
            )
        manifest = read_manifest(target.path, target.url)
        window, query = self._query(context, manifest)
        wait = self.settle_wait(window)
        if wait > 0:
            self.log.info("Waiting %.0f s for late audit events of %s to settle", wait, window.describe())
            if self.killed.wait(wait):
                raise TaskKilled(f"Killed while waiting for {window.describe()} to settle; nothing was read.")
        return self._reconcile(context, target, manifest, window, query)

    def late_file_second(self, newest: int | None, window: AuditWindow) -> int:
        """The unix second that names this run's late file, once it compared with the late files there.

        :param newest: the second of the newest late file of the object found (of any export), or the export
            manifest's ``late_after`` when that is later; None if neither.
        :param window: the window reconciled.
        :return: one after ``newest``, or the window's end for the first late file (never the clock: see
            :func:`~airflow_provider_slack_audit.export.late_files.next_late_second`).
        """
        return next_late_second(newest, window.latest)

    def _reconcile(
        self,
        context: Context,
        target: ExportTarget,
        manifest: dict[str, Any] | None,
        window: AuditWindow,
        query: LogsQuery,
    ) -> dict[str, Any]:
        gzip = target.name.endswith(".gz")
        for _attempt in range(MAX_LATE_NAME_ATTEMPTS):
            index = IdIndex()
            sha256, size, events = self._index_object(target, manifest, gzip, index)
            known_late, newest = self._index_late_files(target, sha256, gzip, index)
            if manifest is not None and isinstance(manifest.get("late_after"), int):
                # names up to the export's late_after may have been removed by it: never given again
                newest = max(newest or 0, manifest["late_after"])
            index.freeze()
            self.log.info(
                "Reconciling %s (%d events, %d in earlier late files) with Slack for %s",
                target.url,
                events,
                known_late,
                window.describe(),
            )
            # Named from the late files just indexed: a run that compared with the same ones picks this name too,
            # and only one of them can create it.
            name = late_name(target.name, self.late_file_second(newest, window), gzip=gzip)
            late_target = target.sibling(name)
            try:
                checked, writer, client = self._write_late(target, sha256, window, query, index, late_target, gzip)
            except TargetExistsError:
                # Another reconciliation of this object compared with the same late files and wrote this name
                # meanwhile. It may hold some or all of what this run found: index it with the others and
                # read the window again, so that no event goes to two late files.
                self.log.warning(
                    "%s was written by another reconciliation of %s meanwhile; comparing again with it included",
                    late_target.url,
                    target.url,
                )
                target.path.fs.invalidate_cache()  # list the folder as it is now, not as cached before
                continue
            break
        else:
            raise AirflowFailException(
                f"{MAX_LATE_NAME_ATTEMPTS} names for the late file of {target.url} were taken by other "
                "reconciliations of it while this one ran. Run one reconciliation of an object at a time."
            )
        late_count = writer.events if writer is not None else 0
        if writer is not None:
            self.log.warning("%d late events of %s written to %s", late_count, target.url, late_target.url)
        vanished = self._report_vanished(target, gzip, index)
        result = {
            "path": target.url,
            "checked": checked,
            "late": late_count,
            "vanished": vanished,
            "late_path": late_target.url if writer is not None else None,
        }
        outputs = [(late_target.path, late_count, writer.bytes)] if writer is not None else []
        self._lineage = LineageRecord(
            base_url=client.base_url,
            window={"oldest": window.oldest, "latest": window.latest},
            filters=filters_record(query),
            inputs=[(target.path, events, size)],
            outputs=outputs,
            details={k: v for k, v in result.items() if k != "path"},
        )
        self.log.info("Reconciliation of %s: %s", target.url, result)
        if late_count and self.fail_on_late:
            raise AirflowFailException(
                f"{late_count} events of {window.describe()} reached Slack after the export (kept in "
                f"{late_target.url}); fail_on_late=True fails the task."
            )
        if vanished and self.fail_on_vanished:
            raise AirflowFailException(
                f"{vanished} events of {target.url} are no longer returned by Slack for {window.describe()}; "
                "fail_on_vanished=True fails the task."
            )
        return result

    def _index_object(
        self, target: ExportTarget, manifest: dict[str, Any] | None, gzip: bool, index: IdIndex
    ) -> tuple[str, int, int]:
        """Put the object's ids in ``index`` and check its sha256 against its manifest; its (sha256, bytes, events)."""
        sha256, size, events = scan_ids(target.path, target.url, gzip_=gzip, on_id=index.add)
        if manifest is None:
            self.log.warning(
                "%s has no manifest: its integrity cannot be checked (export with manifest=True)", target.url
            )
        elif sha256 != manifest["sha256"] or size != manifest.get("bytes", size):
            raise AirflowFailException(
                f"{target.url} was altered after its export: its sha256 is {sha256} ({size} bytes), its manifest "
                f"records {manifest['sha256']} ({manifest.get('bytes')} bytes). Find out who changed it; export "
                "the window again to replace it."
            )
        return sha256, size, events

    def _write_late(
        self,
        target: ExportTarget,
        sha256: str,
        window: AuditWindow,
        query: LogsQuery,
        index: IdIndex,
        late_target: ExportTarget,
        gzip: bool,
    ) -> tuple[int, ExportWriter | None, Any]:
        """Read the window and write the events ``index`` lacks to ``late_target``, with its manifest.

        Returns how many events Slack returned, the late file's writer (None when nothing was late) and
        the client that walked. Raises :class:`TargetExistsError` when a file appeared at ``late_target``
        (another reconciliation): nothing of this run is left there.
        """
        checked = outside = 0
        tally = ExportTally()
        with self.failing_fast():  # a bad connection fails the task at once, as in the walk
            client = self.hook.client  # kept: the walk closes the hook, its counters go to the manifest
        writer: ExportWriter | None = None
        progress = PageProgress(self.log)
        try:
            with ExitStack() as stack:
                # Late events are copied as Slack sent them, like the export's: only their id (the
                # comparison) and date_create (the manifest) are decoded; between pages only ids are kept.
                for page in self.iter_pages(window, query, raw_entries=True):
                    # As in the export: an event Slack dates outside the window belongs to the run that owns
                    # its second, so it is neither late here nor compared.
                    entries = _in_window(page.entries, window)
                    outside += len(page.entries) - len(entries)
                    late = entries.subset(i for i, event_id in enumerate(entries.ids) if not index.mark(event_id))
                    checked += len(entries)
                    if late:
                        if writer is None:  # opened on the first late event: a run that finds none writes nothing
                            writer = self._writer = ExportWriter(open_sink(late_target, overwrite=False), gzip=gzip)
                            if self.killed.is_set():
                                writer.abort()
                            stack.enter_context(writer)
                        writer.write_raw_page(late)
                        tally.add(late.ids, late.seconds)
                    progress.page_done(len(entries))
                    del page, entries, late  # let the page's bytes go before the next one is fetched
            ids_sha256 = tally.ids.hexdigest() if writer is not None else None
            progress.finish()
            _log_outside(self.log, outside, window)
            if writer is not None:
                write_manifest_of(
                    late_target,
                    writer,
                    window=window,
                    filters=query,
                    tally=tally,
                    ids_sha256=ids_sha256,
                    client=client,
                    kind="late",
                    object=target.url,
                    object_sha256=sha256,
                )
        finally:
            self._writer = None
            tally.close()
        return checked, writer, client

    def _index_late_files(
        self, target: ExportTarget, sha256: str, gzip: bool, index: IdIndex
    ) -> tuple[int, int | None]:
        """Put the ids of the late files already written for this object in ``index``.

        Returns how many events they hold and the second of the newest late file listed (of this export or
        an earlier one: its name is taken either way), None when there is none.
        """
        count = 0
        lates = late_files(target.path, gzip=gzip)
        for late in lates:
            url = target.sibling(late.name).url
            late_manifest = read_manifest(late, url)
            if late_manifest is not None and late_manifest.get("object_sha256") not in (None, sha256):
                self.log.warning("%s completes an earlier export of %s, not this one: ignored", url, target.url)
                continue
            late_sha256, _, events = scan_ids(late, url, gzip_=gzip, on_id=index.add)
            if late_manifest is None:
                self.log.warning("%s has no manifest (a reconciliation stopped before writing it)", url)
            elif late_sha256 != late_manifest["sha256"]:
                raise AirflowFailException(
                    f"{url} was altered after it was written: its sha256 is {late_sha256}, its manifest records "
                    f"{late_manifest['sha256']}."
                )
            count += events
        return count, newest_late_second(lates)

    def _report_vanished(self, target: ExportTarget, gzip: bool, index: IdIndex) -> int:
        """Count (and log the first ids of) the exported events Slack no longer returns."""
        vanished = index.unseen
        if not vanished:
            return 0
        listed: list[str] = []

        def note(event_id: str) -> None:
            if len(listed) < MAX_VANISHED_LISTED and not index.was_seen(event_id) and event_id not in listed:
                listed.append(event_id)

        scan_ids(target.path, target.url, gzip_=gzip, on_id=note)
        self.log.warning(
            "%d events of %s are no longer returned by Slack for its window; the first: %s",
            vanished,
            target.url,
            ", ".join(listed),
        )
        return vanished
