"""The operator that checks an exported window against Slack again and keeps what arrived late."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, NamedTuple

from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_slack_audit.arguments.query import unless_blank
from airflow_provider_slack_audit.arguments.window import AuditWindow, resolve_window
from airflow_provider_slack_audit.client import LogsQuery
from airflow_provider_slack_audit.export.formats.choice import ExportFormat, format_of_object
from airflow_provider_slack_audit.export.ids import IdIndex
from airflow_provider_slack_audit.export.late_files import late_files, late_name, newest_late_second, next_late_second
from airflow_provider_slack_audit.export.manifest import ExportTally, filters_record, read_manifest
from airflow_provider_slack_audit.export.scan import scan_ids
from airflow_provider_slack_audit.export.storage import TargetExistsError
from airflow_provider_slack_audit.export.writer import ExportTarget, ExportWriter, resolve_target
from airflow_provider_slack_audit.operators._lineage import LineageMixin
from airflow_provider_slack_audit.operators.base import PUBLIC_MODULE, BaseSlackAuditLogsOperator

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


#: Vanished ids listed in the log at most (all are counted).
MAX_VANISHED_LISTED = 100
#: Names a reconciliation tries for its late file when other reconciliations of the object take them first.
MAX_LATE_NAME_ATTEMPTS = 5


class _Exported(NamedTuple):
    """The object a reconciliation compares with and its manifest, as found when the window was resolved."""

    target: ExportTarget
    manifest: dict[str, Any] | None


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

    Like the export, it reads the window once ``settle_seconds`` have passed since its end, and waits for
    that moment in the triggerer when ``deferrable`` (see
    :class:`~airflow_provider_slack_audit.operators.base.BaseSlackAuditLogsOperator`); a missing object or
    a window that disagrees with its manifest fails the task before any wait.

    Returns ``{"path", "checked", "late", "vanished", "late_path"}``: ``checked`` is how many events Slack
    returned for the window, ``late_path`` the late file written (None when nothing was late).

    :param path: the exported object, as a URL (templated: the run's own object or another run's).
    :param conn_id: the Airflow connection for the storage, as for the export.
    :param fail_on_late: fail the task (after writing the late file) when late events were found.
    :param fail_on_vanished: fail the task when events of the object are no longer returned by Slack.
    """

    __module__ = PUBLIC_MODULE

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
        self._exported: _Exported | None = None

    def _query(self, context: Context, manifest: dict[str, Any] | None) -> tuple[AuditWindow, LogsQuery]:
        """The window and query: the task's own, else the manifest's; both given must agree."""
        if manifest is None:
            return super().resolve_query(context)  # the task's own window and filters
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

    def resolve_query(self, context: Context) -> tuple[AuditWindow, LogsQuery]:
        """The window and query to compare: the task's own, else those the export's manifest records (both
        given must agree). Fails at once, before any wait, when there is no object at ``path``; the object and
        its manifest found are kept for :meth:`read_window`."""
        self._exported = self._find_export()
        return self._query(context, self._exported.manifest)

    def _find_export(self) -> _Exported:
        """The object at ``path`` and its manifest (None if it has none), as they are now."""
        target = resolve_target(self.path, self.conn_id)
        # fsspec filesystems are shared in a process and cache listings and object versions: the object and
        # its late files must be read as they are now (another task may have written or replaced them).
        target.path.fs.invalidate_cache()
        if not target.path.exists():
            raise AirflowFailException(
                f"{target.url} does not exist: reconcile an object that an export wrote (check the path and that "
                "the export task succeeded)."
            )
        return _Exported(target, read_manifest(target.path, target.url))

    @property
    def _found_sha256(self) -> str | None:
        """The sha256 the manifest of the object found by :meth:`resolve_query` records; None without one."""
        manifest = self._exported.manifest if self._exported else None
        return manifest.get("sha256") if manifest else None

    def deferral_state(self) -> dict[str, Any]:
        """The sha256 of the object found (per its manifest; None without one): a resumed run must find the same."""
        return {"manifest_sha256": self._found_sha256}

    def resume_window(
        self, resolved: AuditWindow, deferred: AuditWindow, manifest_sha256: str | None = None, **state: Any
    ) -> AuditWindow:
        """The window deferred on, only while the object at ``path`` is the one found then: a reconciliation
        compares an object with its own window, so one replaced (or whose manifest went) while it waited fails
        instead of being compared with another window's events."""
        found = self._found_sha256
        if found != manifest_sha256 or resolved != deferred:
            then, now = (f"a manifest of sha256 {sha}" if sha else "no manifest" for sha in (manifest_sha256, found))
            raise AirflowFailException(
                f"{self.path} changed while this reconciliation waited for {deferred.describe()} to settle: it "
                f"found {then} then, {now} now (for {resolved.describe()}). "
                "A reconciliation compares an object with the window it was exported for: run it again."
            )
        return deferred

    def read_window(self, context: Context, window: AuditWindow, query: LogsQuery) -> dict[str, Any]:
        exported = self._exported or self._find_export()  # found by resolve_query, which runs first
        return self._reconcile(context, exported.target, exported.manifest, window, query)

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
        # late files are written in the object's format (Parquet: the same table schema)
        object_format = format_of_object(target.name, manifest)
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
                checked, writer, client = self._write_late(
                    target, sha256, window, query, index, late_target, gzip, object_format
                )
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
        self.record_lineage(
            client,
            window,
            query,
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
        object_format: ExportFormat,
    ) -> tuple[int, ExportWriter | None, Any]:
        """Read the window and write the events ``index`` lacks to ``late_target``, with its manifest.

        Returns how many events Slack returned, the late file's writer (None when nothing was late) and
        the client that walked. Raises :class:`TargetExistsError` when a file appeared at ``late_target``
        (another reconciliation): nothing of this run is left there.
        """
        checked = 0
        tally = ExportTally()
        client = self.walking_client()
        writer: ExportWriter | None = None
        read = self.read_in_window(window, query)
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
                            writer = self.open_writer(
                                late_target, overwrite=False, gzip=gzip, export_format=object_format
                            )
                            stack.enter_context(writer)
                        writer.write_raw_page(late)
                        tally.add(late.ids, late.seconds)
                    del entries, late  # let the page's bytes go before the next one is fetched
            ids_sha256 = tally.ids.hexdigest() if writer is not None else None
            read.finish()
            if writer is not None:
                read.write_manifest(
                    late_target,
                    writer,
                    tally=tally,
                    ids_sha256=ids_sha256,
                    client=client,
                    kind="late",
                    object=target.url,
                    object_sha256=sha256,
                    **object_format.manifest_fields(late_target.name),
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
