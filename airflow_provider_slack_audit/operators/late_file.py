"""A reconciliation's late file: its name, taken from the late files already there, and its events and manifest,
each created only where nothing is.

The reconcile operator calls :func:`write_late_events` once it has found the object and its window; the
evidence it compares with (the object's ids and those of its late files that count) is read by
:mod:`~airflow_provider_slack_audit.export.evidence`. Internal to the reconcile operator; not an API.

:meta private:
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_slack_audit.export.evidence import CountedLateFiles, index_late_files, index_object
from airflow_provider_slack_audit.export.ids import IdIndex
from airflow_provider_slack_audit.export.late_files import create_manifest, late_name
from airflow_provider_slack_audit.export.manifest import ExportTally, build_manifest
from airflow_provider_slack_audit.export.scan import export_format_of, stored_compression
from airflow_provider_slack_audit.export.sink import TargetExistsError

if TYPE_CHECKING:
    from airflow_provider_slack_audit.arguments.window import AuditWindow
    from airflow_provider_slack_audit.client import LogsQuery
    from airflow_provider_slack_audit.export.formats.choice import ExportFormat
    from airflow_provider_slack_audit.export.writer import ExportTarget, ExportWriter
    from airflow_provider_slack_audit.operators.reconcile import SlackAuditLogsReconcileOperator

#: Names a reconciliation tries for its late file when other reconciliations of the object take them first.
MAX_LATE_NAME_ATTEMPTS = 5


@dataclass
class LateEvents:
    """What a reconciliation compared and wrote.

    :param checked: how many events Slack returned for the window.
    :param writer: the late file's writer, committed with its manifest; None when nothing was late.
    :param late_target: the late file's name this run took (written only when ``writer`` is not None).
    :param client: the client that walked the window.
    :param index: the ids of the object and its late files counted, those Slack returned marked seen.
    :param evidence: the late files counted (path, URL, manifest).
    :param size: the object's bytes.
    :param events: the object's events.
    """

    checked: int
    writer: ExportWriter | None
    late_target: ExportTarget
    client: Any
    index: IdIndex
    evidence: CountedLateFiles
    size: int
    events: int


def write_late_events(
    operator: SlackAuditLogsReconcileOperator,
    target: ExportTarget,
    manifest: dict[str, Any] | None,
    window: AuditWindow,
    query: LogsQuery,
) -> LateEvents:
    """Compare the window with the object at ``target`` and its late files, and write what Slack now returns that
    they lack to the object's next late file.

    The name follows from the late files just indexed (:meth:`~SlackAuditLogsReconcileOperator.late_file_second`):
    a run that compared with the same ones picks it too, and only one of them can create it. The one that finds it
    taken indexes the late files again and reads the window again, under the next name, so that no event goes to
    two late files; after :data:`MAX_LATE_NAME_ATTEMPTS` names taken the task fails.
    """
    # as the export wrote it (its manifest), not as its name suggests; late files are written the same way
    # (a Parquet export's late files are Parquet files of its table schema)
    object_format = export_format_of(target.path, target.url, manifest)
    gzip = not object_format.is_parquet and stored_compression(target.path, target.url, manifest) == "gzip"
    log = operator.log
    for _attempt in range(MAX_LATE_NAME_ATTEMPTS):
        index = IdIndex()
        sha256, size, events = index_object(target, manifest, index, log)
        known_late, newest, evidence = index_late_files(target, sha256, index, log)
        if manifest is not None and isinstance(manifest.get("late_after"), int):
            # names up to the export's late_after may have been removed by it: never given again
            newest = max(newest or 0, manifest["late_after"])
        index.freeze()
        log.info(
            "Reconciling %s (%d events, %d in earlier late files) with Slack for %s",
            target.url,
            events,
            known_late,
            window.describe(),
        )
        # Named from the late files just indexed: a run that compared with the same ones picks this name too,
        # and only one of them can create it.
        name = late_name(target.name, operator.late_file_second(newest, window), gzip=gzip)
        late_target = target.sibling(name)
        try:
            checked, writer, client = _write_late(
                operator, target, sha256, window, query, index, late_target, gzip, object_format
            )
        except TargetExistsError:
            # Another reconciliation of this object compared with the same late files and wrote this name
            # meanwhile, or marked this run's late file abandoned before its manifest was written. It may
            # hold some or all of what this run found: index the late files again and read the window
            # again, so that no event goes to two late files.
            log.warning(
                "%s was written by another reconciliation of %s meanwhile (or marked abandoned by one, before "
                "this run wrote its manifest); comparing again with the late files as they are now",
                late_target.url,
                target.url,
            )
            target.path.fs.invalidate_cache()  # list the folder as it is now, not as cached before
            continue
        return LateEvents(checked, writer, late_target, client, index, evidence, size, events)
    raise AirflowFailException(
        f"{MAX_LATE_NAME_ATTEMPTS} names for the late file of {target.url} were taken by other "
        "reconciliations of it while this one ran. Run one reconciliation of an object at a time."
    )


def _write_late(
    operator: SlackAuditLogsReconcileOperator,
    target: ExportTarget,
    sha256: str,
    window: AuditWindow,
    query: LogsQuery,
    index: IdIndex,
    late_target: ExportTarget,
    gzip: bool,
    object_format: ExportFormat,
) -> tuple[int, ExportWriter | None, Any]:
    """Read the window and write the events ``index`` lacks to ``late_target``, with its manifest.

    Returns how many events Slack returned, the late file's writer (None when nothing was late) and
    the client that walked. Raises :class:`TargetExistsError` when a file appeared at ``late_target``
    (another reconciliation): nothing of this run is left there.
    """
    checked = 0
    tally = ExportTally()
    client = operator.walking_client()
    writer: ExportWriter | None = None
    read = operator.read_in_window(window, query)
    try:
        with ExitStack() as stack:
            # Late events are copied as Slack sent them, like the export's: only their id (the
            # comparison) and date_create (the manifest) are decoded; between pages only ids are kept.
            # As in the export, an event Slack dates outside the window belongs to the run that owns its
            # second, so it is neither late here nor compared (the read leaves it out).
            for entries in read:
                late = entries.subset(i for i, event_id in enumerate(entries.ids) if not index.mark(event_id))
                checked += len(entries)
                if late:
                    if writer is None:  # opened on the first late event: a run that finds none writes nothing
                        writer = operator.open_writer(
                            late_target, overwrite=False, gzip=gzip, export_format=object_format
                        )
                        stack.enter_context(writer)
                    writer.write_raw_page(late)
                    tally.add(late.ids, late.seconds)
                del entries, late  # let the page's bytes go before the next one is fetched
        ids_sha256 = tally.ids.hexdigest() if writer is not None else None
        read.finish()
        if writer is not None:
            # Created only where nothing is: a reconciliation that found this late file without a manifest
            # (in the instant since its commit) marked it abandoned, and this one must not count it then.
            late_manifest = build_manifest(
                url=late_target.url,
                writer=writer,
                written=read.written(tally, ids_sha256, client),
                object_version=writer.sink.stored_version().version,
                kind="late",
                object=target.url,
                object_sha256=sha256,
                **object_format.manifest_fields(late_target.name),
            )
            create_manifest(late_target, late_manifest)
    finally:
        operator._writer = None
        tally.close()
    return checked, writer, client
