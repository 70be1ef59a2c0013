"""The export of a long window in one walk, written as the objects of its intervals (``split_interval``).

A run of :class:`~airflow_provider_slack_audit.operators.object_storage.SlackAuditLogsToObjectStorageOperator`
with ``split_interval=timedelta(hours=1)`` reads its whole window (a day, a month) in one walk and
writes one object per hour of it, each exactly as an hourly run of the same task would: ``path``
rendered with that hour as the data interval, the hour's window (``oldest = ceil(start)``,
``latest = ceil(end) - 1``), its own manifest, the same ids and ``ids_sha256``. Each hour is written by
the operator's own single-window code (:meth:`write_object`), fed from the walk instead of a walk of
its own, so every guarantee of an hourly run holds per hour. The storage side (routing events to
intervals, holding them until the walk is past) is :mod:`airflow_provider_slack_audit.export.split`.

Internal to the export operator; not an API.

:meta private:
"""

from __future__ import annotations

import json
from collections import ChainMap
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pendulum
from airflow.providers.common.compat.sdk import AirflowFailException, AssetAlias

from airflow_provider_slack_audit.arguments.window import AuditWindow, window_from_interval
from airflow_provider_slack_audit.client.validation import isinstance_strict
from airflow_provider_slack_audit.export.layout import REPLACING_MARKER, manifest_path
from airflow_provider_slack_audit.export.manifest import delete_if_allowed, put_atomically, sha256_of
from airflow_provider_slack_audit.export.split import SpanSplitter
from airflow_provider_slack_audit.export.writer import resolve_target
from airflow_provider_slack_audit.operators._asset import record_asset_event
from airflow_provider_slack_audit.operators.base import WindowRead

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_slack_audit.client import LogsQuery, SlackAuditLogsClient
    from airflow_provider_slack_audit.client.raw_page import RawPage
    from airflow_provider_slack_audit.export.split import ReadyInterval
    from airflow_provider_slack_audit.operators.object_storage import SlackAuditLogsToObjectStorageOperator

DAY = 86400

#: The template names that change with the interval: each interval's ``path`` is rendered with these
#: set as a run of that interval would have them (a cron data interval timetable's run: the logical
#: date is the interval's start).
INTERVAL_NAMES = (
    "data_interval_start",
    "data_interval_end",
    "logical_date",
    "execution_date",
    "ds",
    "ds_nodash",
    "ts",
    "ts_nodash",
    "ts_nodash_with_tz",
)
#: Names of the run that have no per-interval value: a ``path`` that uses one cannot name each interval's object.
RUN_ONLY_NAMES = frozenset(
    {
        "dag_run",
        "run_id",
        "ti",
        "task_instance",
        "task_instance_key_str",
        "next_ds",
        "next_ds_nodash",
        "prev_ds",
        "prev_ds_nodash",
        "tomorrow_ds",
        "tomorrow_ds_nodash",
        "yesterday_ds",
        "yesterday_ds_nodash",
        "next_execution_date",
        "prev_execution_date",
        "prev_execution_date_success",
        "prev_data_interval_start_success",
        "prev_data_interval_end_success",
        "prev_start_date_success",
        "prev_end_date_success",
        "partition_key",
        "partition_date",
    }
)


def split_seconds(value: Any) -> int | None:
    """``split_interval`` as whole seconds (None: no split), checked: it must cut days evenly.

    :param value: a ``timedelta``, a number of seconds, or None.
    """
    if value is None:
        return None
    seconds: Any = value.total_seconds() if isinstance(value, timedelta) else value
    if not isinstance_strict(seconds, (int, float)) or seconds != int(seconds) or seconds <= 0:
        raise ValueError(
            f"split_interval={value!r}: give a timedelta (or whole seconds) such as timedelta(hours=1), or None."
        )
    seconds = int(seconds)
    if DAY % seconds:
        raise ValueError(
            f"split_interval={value!r} does not divide a day evenly, so its intervals would not line up with the "
            "runs of a cron schedule. Use one that does: timedelta(minutes=15), timedelta(hours=1), "
            "timedelta(hours=6), timedelta(days=1), ..."
        )
    return seconds


def check_split_path(path: Any) -> None:
    """Refuse, when the DAG is parsed, a ``path`` that cannot name each interval's object: one without a template."""
    if not isinstance(path, str) or "{{" not in path:
        raise ValueError(
            f"path={path!r} has no template, so with split_interval every interval would go to the same object. "
            "Name each one after its interval, e.g. s3://bucket/slack/"
            "{{ data_interval_start.int_timestamp }}-{{ data_interval_end.int_timestamp - 1 }}.jsonl.gz."
        )


@dataclass(frozen=True)
class Interval:
    """One interval of the span: its data interval (as a run of it would see it), its window and its object."""

    start: Any
    end: Any
    window: AuditWindow
    path: str


def plan_intervals(
    operator: SlackAuditLogsToObjectStorageOperator, context: Mapping[str, Any], span: AuditWindow, every: int
) -> list[Interval]:
    """The intervals of ``span`` (oldest first), each with its window and its ``path`` rendered for it.

    Fails the task when the span does not start and end on interval boundaries (UTC), or when ``path``
    does not name a different object for each interval.
    """
    if span.oldest % every or (span.latest + 1) % every:
        raise AirflowFailException(
            f"The window {span.describe()} does not start and end on a boundary of split_interval "
            f"({timedelta(seconds=every)}, aligned to UTC), so its first or last object would not be the one a run "
            "of that interval writes. Give the DAG a schedule whose runs cover whole intervals (e.g. "
            "CronDataIntervalTimetable('0 0 * * *', timezone='UTC') for hourly objects), or bounds on a boundary."
        )
    template = _compiled_path(operator)
    intervals: list[Interval] = []
    seen: dict[str, AuditWindow] = {}
    for start_second in range(span.oldest, span.latest + 1, every):
        start = pendulum.from_timestamp(start_second, tz="UTC")
        end = pendulum.from_timestamp(start_second + every, tz="UTC")
        # As Airflow renders a templated field (the context as the template's parent, not copied), compiled once.
        names = ChainMap(interval_names(start, end), context)
        path = "".join(template.root_render_func(template.new_context(names, shared=True))).strip()
        window = window_from_interval(start, end)
        if path in seen:
            raise AirflowFailException(
                f"path renders to the same object ({path}) for {seen[path].describe()} and {window.describe()}: with "
                "split_interval it must name each interval's object, e.g. with {{ data_interval_start.int_timestamp }}."
            )
        seen[path] = window
        intervals.append(Interval(start, end, window, path))
    return intervals


def interval_names(start: Any, end: Any) -> dict[str, Any]:
    """The template names of :data:`INTERVAL_NAMES` as a run of ``[start, end)`` has them."""
    ts = start.isoformat()
    return {
        "data_interval_start": start,
        "data_interval_end": end,
        "logical_date": start,
        "execution_date": start,
        "ds": start.strftime("%Y-%m-%d"),
        "ds_nodash": start.strftime("%Y%m%d"),
        "ts": ts,
        "ts_nodash": start.strftime("%Y%m%dT%H%M%S"),
        "ts_nodash_with_tz": ts.replace("-", "").replace(":", ""),
    }


def _compiled_path(operator: Any) -> Any:
    """``path`` as written in the DAG, compiled by the task's Jinja environment; refused if it uses a name that
    has no value per interval."""
    template = operator.path_template
    if not isinstance(template, str):
        raise AirflowFailException(f"path={template!r}: with split_interval, give path as a (templated) string.")
    from jinja2 import meta

    env = operator.get_template_env()
    used = meta.find_undeclared_variables(env.parse(template)) & RUN_ONLY_NAMES
    if used:
        raise AirflowFailException(
            f"path uses {sorted(used)}, which belong to the whole run, not to each of its intervals: with "
            f"split_interval, name the objects with {', '.join(INTERVAL_NAMES[:2])} (or ds, ts, logical_date)."
        )
    return env.from_string(template)


class IntervalRead(WindowRead):
    """An interval's events as the walk over the span read them: what :meth:`write_object` writes.

    The same as a walk of the interval alone gives (:class:`WindowRead`), taken from the splitter. Its
    manifest names the span whose walk read it (``walked_span``), and its ``calls``, ``retries`` and
    ``rate_limited`` are that walk's so far (``client``), as the interval was committed.
    """

    def __init__(
        self,
        operator: Any,
        window: AuditWindow,
        query: LogsQuery,
        ready: ReadyInterval,
        span: AuditWindow,
        client: SlackAuditLogsClient,
    ) -> None:
        super().__init__(operator, window, query)
        self.ready = ready
        self.span = span
        self.client = client

    def __iter__(self) -> Iterator[RawPage]:
        yield from self.ready.pages()

    def finish(self) -> None:
        """Nothing to log per interval: the walk logs its progress and what it left out."""

    def write_manifest(self, *args: Any, **kwargs: Any) -> str:
        kwargs["client"] = self.client
        return super().write_manifest(
            *args, walked_span={"oldest": self.span.oldest, "latest": self.span.latest}, **kwargs
        )


def withdraw_manifest(path: str, conn_id: str | None, sha256: str) -> None:
    """Take away the manifest this run wrote beside the object at ``path`` (``sha256``, this run's): the object
    lacks events, so it must not count as evidence until it is written again. Deleted where the store allows it,
    else replaced by the ``replacing`` marker (read as no manifest). Nothing is touched once the object is no
    longer this run's."""
    target = resolve_target(path, conn_id)
    if not target.path.exists() or sha256_of(target.path)[0] != sha256:
        return
    where = manifest_path(target.path)
    if where.exists() and not delete_if_allowed(where):
        put_atomically(where, json.dumps(REPLACING_MARKER).encode() + b"\n", local=target.is_local)


def export_span(
    operator: SlackAuditLogsToObjectStorageOperator,
    context: Context,
    span: AuditWindow,
    query: LogsQuery,
    every: int,
) -> dict[str, Any]:
    """Read ``span`` in one walk and write the object of each of its intervals; the run's summary.

    Each interval is committed (object, then manifest) as soon as the walk is a page past it, newest
    first; if the walk fails, the intervals committed so far are complete and stay, and nothing is
    written for the others. An interval that Slack sent an event for after it was committed (pages out
    of order) loses its manifest at once and is read again on its own at the end.
    """
    intervals = plan_intervals(operator, context, span, every)
    operator.log.info(
        "Exporting Slack audit logs for %s in one walk, as %d objects of %s each (%s .. %s)",
        span.describe(),
        len(intervals),
        timedelta(seconds=every),
        intervals[-1].path,
        intervals[0].path,
    )
    # With one Asset, the run records one event (the span's summary, below); with an alias, one per object.
    per_object_context: Mapping[str, Any] = (
        context if isinstance(operator.asset, AssetAlias) else ChainMap({"outlet_events": None}, context)
    )
    summaries: dict[int, dict[str, Any]] = {}
    splitter = SpanSplitter([interval.window for interval in intervals])
    handled_disorder: set[int] = set()

    def write(ready: ReadyInterval) -> None:
        interval = intervals[ready.index]
        hour_query = replace(query, oldest=interval.window.oldest, latest=interval.window.latest)
        try:
            summaries[ready.index] = operator.write_object(
                per_object_context,
                interval.window,
                hour_query,
                path=interval.path,
                read=IntervalRead(operator, interval.window, hour_query, ready, span, client),
            )
        finally:
            ready.close()

    def take_back_disordered() -> None:
        for index in splitter.disordered - handled_disorder:
            handled_disorder.add(index)
            if index in summaries:
                withdraw_manifest(intervals[index].path, operator.conn_id, summaries[index]["sha256"])
                operator.log.warning(
                    "Slack sent an event of %s after the walk had gone past it (pages out of order): its manifest "
                    "was removed and it is read again on its own once the walk ends",
                    intervals[index].window.describe(),
                )

    client = operator.walking_client()  # the walk's: its counters go to each interval's manifest and the summary
    walk = operator.read_in_window(span, query)
    try:
        with closing(iter(walk)) as pages:
            for page in pages:
                ready_now = splitter.add(page)
                del page
                for ready in ready_now:
                    write(ready)
                take_back_disordered()
        walk.finish()
        for ready in splitter.finish():
            write(ready)
        take_back_disordered()
    finally:
        splitter.close()
    for index in sorted(handled_disorder, reverse=True):
        interval = intervals[index]
        hour_query = replace(query, oldest=interval.window.oldest, latest=interval.window.latest)
        summaries[index] = operator.write_object(
            per_object_context,
            interval.window,
            hour_query,
            path=interval.path,
            read=operator.read_in_window(interval.window, hour_query),
        )
    objects = [summaries[index] for index in sorted(summaries, reverse=True)]
    summary = {
        "oldest": span.oldest,
        "latest": span.latest,
        "split_interval": every,
        "events": sum(s["events"] for s in objects),
        "objects": objects,
        "calls": client.stats.calls,
    }
    operator.log.info(
        "Wrote %d events to %d objects in %d calls for %s",
        summary["events"],
        len(objects),
        client.stats.calls,
        span.describe(),
    )
    operator.record_lineage(
        client,
        span,
        query,
        outputs=[(resolve_target(s["path"], operator.conn_id).path, s["events"], s["bytes"]) for s in objects],
    )
    if not isinstance(operator.asset, AssetAlias):
        extra = {key: summary[key] for key in ("oldest", "latest", "split_interval", "events", "calls")}
        record_asset_event(context, operator.asset, objects[0]["path"], {**extra, "objects": len(objects)})
    return summary
