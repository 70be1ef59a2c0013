"""Operators that read a DAG run's window of Slack audit logs into XCom or object storage."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException, BaseOperator

from airflow_provider_slack_audit.hooks.slack_audit import SlackAuditLogsHook
from airflow_provider_slack_audit.operators._progress import PageProgress
from airflow_provider_slack_audit.operators._writer import (
    AtomicJsonLinesWriter,
    export_asset_outlet,
    resolve_target,
)
from airflow_provider_slack_audit.query import AuditFilters
from airflow_provider_slack_audit.task_arguments import QUERY_TEMPLATE_FIELDS, AuditLogsQueryMixin
from airflow_provider_slack_audit.windows import AuditWindow, TimeBound

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_slack_audit.client import AuditLogsPage
    from airflow_provider_slack_audit.client.raw_page import RawPage


#: Default wait after a window's end before it is read: events can reach Slack's audit log late.
DEFAULT_SETTLE_SECONDS = 120
#: How early before its window ends a run may start and still wait for it (clock skew, early triggers).
MAX_EARLY_START_SECONDS = 60


class BaseSlackAuditLogsOperator(AuditLogsQueryMixin, BaseOperator):
    """
    What every Slack audit logs operator shares: the connection, the window and the filters
    (``slack_audit_conn_id``, ``oldest``, ``latest``, ``action``, ``actor``, ``entity``, ``page_size``;
    see :class:`~airflow_provider_slack_audit.task_arguments.AuditLogsQueryMixin`), and when to read.

    :param settle_seconds: how long after the window's last second to wait before reading it, for events
        that reach Slack's audit log late (Slack documents no delay; collectors hold back 60 to 300 s). A
        run that starts sooner waits in the worker; a window that ends further in the future than that
        fails, since it cannot be read whole yet.
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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.set_query_arguments(slack_audit_conn_id, oldest, latest, action, actor, entity, page_size)
        if isinstance(settle_seconds, bool) or not isinstance(settle_seconds, (int, float)) or settle_seconds < 0:
            raise ValueError(f"settle_seconds={settle_seconds!r}: give a number of seconds, 0 or more.")
        self.settle_seconds = settle_seconds

    def wait_until_settled(self, window: AuditWindow) -> None:
        """Wait until ``settle_seconds`` have passed since the window's end; refuse a window still open."""
        wait = window.latest + 1 + self.settle_seconds - time.time()
        if wait <= 0:
            return
        if wait > self.settle_seconds + MAX_EARLY_START_SECONDS:
            raise AirflowFailException(
                f"The window {window.describe()} has not ended yet, so it cannot be exported whole: Slack would "
                f"return only the events so far. Export windows that have ended (the run's data interval does), "
                f"or set latest to a past second."
            )
        self.log.info("Waiting %.0f s for late audit events of %s to settle", wait, window.describe())
        time.sleep(wait)

    def iter_pages(
        self, window: AuditWindow, filters: AuditFilters, *, raw_entries: bool = False
    ) -> Iterator[AuditLogsPage]:
        """Every page of the window, oldest bound and filters sent with each cursor; failures that a
        retry cannot fix (a refused token, a rejected query) fail the task at once. With ``raw_entries``
        the events are their JSON bytes as Slack sent them, with id and date_create (for copying)."""
        self.wait_until_settled(window)
        with self.failing_fast():
            yield from self.hook.iter_pages(
                window.oldest,
                window.latest,
                action=filters.action,
                actor=filters.actor,
                entity=filters.entity,
                page_size=filters.page_size,
                raw_entries=raw_entries,
            )


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

    def execute(self, context: Context) -> list[dict[str, Any]]:
        window, filters = self.resolve_query(context)
        self.log.info("Reading Slack audit logs for %s", window.describe())
        events: list[dict[str, Any]] = []
        progress = PageProgress(self.log)
        for page in self.iter_pages(window, filters):
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

    One JSON event per line, the bytes Slack sent (an event Slack sent over several lines is written
    on one, whitespace out), newest first; events outside the window are left out; gzip-compressed when the path ends in
    ``.gz`` or ``compression="gzip"``. The window is streamed page by page (memory stays bounded by a page),
    into a temporary sibling of ``path`` that is moved onto ``path`` only once the whole window was read and
    written: on any failure nothing appears at ``path`` and an earlier file there is left as it was.

    :param path: where to write, as a URL Airflow's object storage understands: ``file:///data/audit.jsonl.gz``,
        ``s3://bucket/slack/audit.jsonl.gz``, ``gs://...``. Templated, so a run can write its own object.
    :param conn_id: the Airflow connection for the storage (e.g. an ``aws`` connection for ``s3://``); None
        uses the scheme's default.
    :param compression: ``"infer"`` (gzip if ``path`` ends in ``.gz``), ``"gzip"`` or None for plain text.
    :param overwrite: replace an existing object at ``path`` (a re-run of the window does this); False fails
        the task instead.
    """

    template_fields: Sequence[str] = (*BaseSlackAuditLogsOperator.template_fields, "path", "conn_id")

    def __init__(
        self,
        *,
        path: str,
        conn_id: str | None = None,
        compression: str | None = "infer",
        overwrite: bool = True,
        **kwargs: Any,
    ) -> None:
        outlet = export_asset_outlet(path, kwargs.get("task_id", "export"), kwargs.get("dag"))
        kwargs["outlets"] = [*(kwargs.get("outlets") or []), outlet]
        super().__init__(**kwargs)
        if compression not in ("infer", "gzip", None):
            raise ValueError(f'compression={compression!r}: use "infer" (by the .gz suffix), "gzip" or None.')
        self.path = path
        self.conn_id = conn_id
        self.compression = compression
        self.overwrite = overwrite
        self._outlet = outlet

    def execute(self, context: Context) -> dict[str, Any]:
        window, filters = self.resolve_query(context)
        target = resolve_target(self.path, self.conn_id)
        gzip = self.compression == "gzip" or (self.compression == "infer" and target.name.endswith(".gz"))
        self.log.info(
            "Exporting Slack audit logs for %s to %s (%s)", window.describe(), target.url, "gzip" if gzip else "plain"
        )
        progress = PageProgress(self.log)
        outside = 0
        with AtomicJsonLinesWriter(target, gzip=gzip, overwrite=self.overwrite) as writer:
            # Events are copied as Slack sent them: only id (de-duplication, in the walk) and
            # date_create (the window check) are decoded; memory stays at one page of bytes.
            for page in self.iter_pages(window, filters, raw_entries=True):
                entries = _in_window(page.entries, window)
                outside += len(page.entries) - len(entries)
                writer.write_raw_page(entries)
                progress.page_done(len(entries))
                del page, entries  # let the page go before the next one is fetched
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
        self._record_asset_event(context, target.url, summary)
        return summary

    def _record_asset_event(self, context: Context, url: str, summary: dict[str, Any]) -> None:
        outlet_events = context.get("outlet_events")
        if outlet_events is None:
            return
        if hasattr(self._outlet, "uri"):
            outlet_events[self._outlet].extra.update(summary)
        else:  # an alias: the path was templated, so the object is only known now
            from airflow.providers.common.compat.sdk import Asset

            outlet_events[self._outlet].add(Asset(url), extra=summary)
