"""The operator that checks an exported window against Slack again and keeps what arrived late."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, NamedTuple

from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_slack_audit.arguments.query import unless_blank
from airflow_provider_slack_audit.arguments.window import AuditWindow, resolve_window
from airflow_provider_slack_audit.client import LogsQuery
from airflow_provider_slack_audit.export.formats.choice import ExportFormat
from airflow_provider_slack_audit.export.ids import IdIndex
from airflow_provider_slack_audit.export.late_files import (
    ABANDONED_MARKER,
    EVIDENCE,
    MALFORMED,
    UNMANIFESTED,
    create_manifest,
    late_file_role,
    late_files,
    late_name,
    newest_late_second,
    next_late_second,
    read_late_manifest,
)
from airflow_provider_slack_audit.export.manifest import (
    ALTERED,
    ANOTHER_WRITE,
    ExportTally,
    FoundObject,
    build_manifest,
    filters_record,
    judge_binding,
    read_manifest,
)
from airflow_provider_slack_audit.export.scan import export_format_of, scan_object, stored_compression
from airflow_provider_slack_audit.export.storage import TargetExistsError, require_conditional_create, stored_version_of
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

    The late file holds each late event's bytes as Slack sent them, like the export, compressed as the
    object is (its manifest's ``compression``; for older manifests, its first bytes, never its name). Of
    every event only the id and ``date_create`` are decoded, and between pages only ids are kept: memory
    stays bounded (about 17 bytes an id, ~20 MB for a million events, plus one page).

    The window is the object's: its manifest's, or ``oldest``/``latest`` given to the task (both given must
    agree), never the run's data interval (a daily run checking an hourly object would call every other
    hour's event late). An object without a manifest and without both bounds fails at once. The filters
    come from the manifest too (the task's own without one; given ones must match it). When the manifest
    is there, the object's sha256 must match it: an altered object fails the task.

    Which late files count (the same rule as ``slack-audit verify`` and loaders use): those whose manifest
    names this object and its sha256. A late file found without a manifest (its reconciliation stopped
    before writing it) is marked abandoned and not counted; its events are written again.

    Like the export, it reads the window once ``settle_seconds`` have passed since its end, and waits for
    that moment in the triggerer when ``deferrable`` (see
    :class:`~airflow_provider_slack_audit.operators.base.BaseSlackAuditLogsOperator`); a missing object or
    a window that disagrees with its manifest fails the task before any wait.

    Returns ``{"path", "checked", "late", "vanished", "late_path"}``: ``checked`` is how many events Slack
    returned for the window, ``late_path`` the late file written (None when nothing was late).

    :param path: the exported object, as a URL (templated: the run's own object or another run's); a late file
        (whose manifest says it completes an object) is refused: reconcile the object it completes.
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

    def _query(self, context: Context, url: str, manifest: dict[str, Any] | None) -> tuple[AuditWindow, LogsQuery]:
        """The window and query: the manifest's, else the task's explicit ``oldest``/``latest`` (never the run's
        data interval: a run's interval is not the object's window); both given must agree."""
        if manifest is None:
            if unless_blank(self.oldest) is None or unless_blank(self.latest) is None:
                raise AirflowFailException(
                    f'{url} has no manifest (none beside it, or the "replacing" marker of an export that did not '
                    "finish), so the window it was exported for is not known, and this run's data interval may be "
                    "another window. Export the window again (with manifest=True) and reconcile it from its "
                    "manifest, or give this task the object's window as oldest and latest (both)."
                )
            return super().resolve_query(context)  # the task's explicit window, and its filters
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
        return self._query(context, self._exported.target.url, self._exported.manifest)

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
        # late files (and their manifests) are created only where none is: a store without that fails now,
        # before Slack is read, not when the first late event is found
        require_conditional_create(None if target.is_local else target.path.fs, target.url, "A late file")
        manifest = read_manifest(target.path, target.url)
        if manifest is not None and manifest.get("kind") == "late":
            # its manifest records the object's window: every event of the object would be called late here
            raise AirflowFailException(
                f"{target.url} is a late file (its manifest says it completes {manifest.get('object')}), not an "
                "exported object: compared with its window, every event of that object would be written again as "
                "late. Reconcile the object it completes; its late files are compared with it."
            )
        return _Exported(target, manifest)

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
        # as the export wrote it (its manifest), not as its name suggests; late files are written the same way
        # (a Parquet export's late files are Parquet files of its table schema)
        object_format = export_format_of(target.path, target.url, manifest)
        gzip = not object_format.is_parquet and stored_compression(target.path, target.url, manifest) == "gzip"
        for _attempt in range(MAX_LATE_NAME_ATTEMPTS):
            index = IdIndex()
            sha256, size, events = self._index_object(target, manifest, index)
            known_late, newest, evidence = self._index_late_files(target, sha256, index)
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
                # meanwhile, or marked this run's late file abandoned before its manifest was written. It may
                # hold some or all of what this run found: index the late files again and read the window
                # again, so that no event goes to two late files.
                self.log.warning(
                    "%s was written by another reconciliation of %s meanwhile (or marked abandoned by one, before "
                    "this run wrote its manifest); comparing again with the late files as they are now",
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
        vanished = self._report_vanished(target, manifest, index, evidence)
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
        self, target: ExportTarget, manifest: dict[str, Any] | None, index: IdIndex
    ) -> tuple[str, int, int]:
        """Put the object's ids in ``index`` and check its sha256 against its manifest; its (sha256, bytes, events)."""
        sha256, size, events = scan_object(target.path, target.url, manifest, on_id=index.add)
        if manifest is None:
            self.log.warning(
                "%s has no manifest: its integrity cannot be checked (export with manifest=True)", target.url
            )
        else:
            self._check_binding(target, manifest, sha256, size, "its export")
        return sha256, size, events

    @staticmethod
    def _check_binding(target: ExportTarget, manifest: dict[str, Any], sha256: str, size: int, written: str) -> None:
        """Fail unless ``manifest`` describes the file at ``target`` as measured (``sha256``, ``size``): the
        verdict of :func:`~airflow_provider_slack_audit.export.binding.judge_binding`, said as it is."""
        if judge_binding(manifest, FoundObject(size, sha256)).describes:
            return  # the bytes are the manifest's: no need to ask the store which write this is (one request less)
        binding = judge_binding(
            manifest, FoundObject(size, sha256, stored_version_of(target.path, local=target.is_local))
        )
        if binding.verdict == ANOTHER_WRITE:
            raise AirflowFailException(
                f"The manifest beside {target.url} is the manifest of another write: {binding.detail}. Nothing "
                "was altered, but no manifest describes the file now (a run was killed between it and its "
                "manifest, or something else wrote it). Export the window again."
            )
        if binding.verdict == ALTERED:
            raise AirflowFailException(
                f"{target.url} was altered after {written}: {binding.detail}. Find out who changed it; export the "
                "window again to replace it."
            )
        raise AirflowFailException(
            f"{target.url} does not match its manifest (altered after {written}, or written again): "
            f"{binding.detail}. Export the window again."
        )

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
                # Created only where nothing is: a reconciliation that found this late file without a manifest
                # (in the instant since its commit) marked it abandoned, and this one must not count it then.
                create_manifest(
                    late_target,
                    build_manifest(
                        url=late_target.url,
                        window=window,
                        filters=query,
                        tally=tally,
                        ids_sha256=ids_sha256,
                        writer=writer,
                        client=client,
                        kind="late",
                        object=target.url,
                        object_sha256=sha256,
                        object_version=writer.sink.stored_version().version,
                        **object_format.manifest_fields(late_target.name),
                    ),
                )
        finally:
            self._writer = None
            tally.close()
        return checked, writer, client

    def _index_late_files(
        self, target: ExportTarget, sha256: str, index: IdIndex
    ) -> tuple[int, int | None, list[tuple[Any, str, dict[str, Any]]]]:
        """Put the ids of the object's late files (those the rule counts: :func:`late_file_role`) in ``index``.

        A late file without a manifest is first marked abandoned (see :func:`_late_manifest`): its events are
        not the window's evidence, so they are written again if Slack returns them. Returns how many events the
        late files counted hold, the second of the newest late file listed (of any kind: its name is taken
        either way; None when there is none), and the late files counted (path, URL, manifest).
        """
        count = 0
        evidence: list[tuple[Any, str, dict[str, Any]]] = []
        lates = late_files(target.path)
        for late in lates:
            url = target.sibling(late.name).url
            manifest, role = self._late_manifest(target, late, url, sha256)
            if role == MALFORMED:
                raise AirflowFailException(
                    f"{url}.manifest.json is not a late file's manifest this provider wrote: it was "
                    f"altered. Move {url} and its manifest away (or restore them), then reconcile again."
                )
            if role != EVIDENCE:
                self.log.info("%s is not part of the evidence of %s (%s): not counted", url, target.url, role)
                continue
            late_sha256, late_size, events = scan_object(late, url, manifest, on_id=index.add)
            self._check_binding(target.sibling(late.name), manifest, late_sha256, late_size, "it was written")
            count += events
            evidence.append((late, url, manifest))
        return count, newest_late_second(lates), evidence

    def _late_manifest(
        self, target: ExportTarget, late: Any, url: str, sha256: str
    ) -> tuple[dict[str, Any] | None, str]:
        """The manifest of the late file ``late`` and its role for the object (see :func:`late_file_role`).

        A late file without a manifest gets the abandoned marker (created only where nothing is): the run that
        wrote it, if it still runs, can then no longer give it a manifest and compares again instead. If that
        run's manifest came first, it is read and judged as any other.
        """
        try:
            manifest = read_late_manifest(late)
        except ValueError:
            return None, MALFORMED
        if manifest is None:
            try:
                create_manifest(target.sibling(late.name), ABANDONED_MARKER)
            except TargetExistsError:
                target.path.fs.invalidate_cache()
                try:
                    manifest = read_late_manifest(late)  # its reconciliation wrote the manifest meanwhile
                except ValueError:
                    return None, MALFORMED
            else:
                self.log.warning(
                    "%s has no manifest (its reconciliation stopped before writing one): marked abandoned. It is "
                    "part of no window's evidence; its events are written again if Slack returns them.",
                    url,
                )
                return ABANDONED_MARKER, UNMANIFESTED
        return manifest, late_file_role(manifest, target.name, sha256)

    def _report_vanished(
        self,
        target: ExportTarget,
        manifest: dict[str, Any] | None,
        index: IdIndex,
        evidence: list[tuple[Any, str, dict[str, Any]]],
    ) -> int:
        """Count (and log the first ids of) the window's events (of the object and of the late files counted,
        ``evidence``) that Slack no longer returns."""
        vanished = index.unseen
        if not vanished:
            return 0
        listed: list[str] = []

        def note(event_id: str) -> None:
            if len(listed) < MAX_VANISHED_LISTED and not index.was_seen(event_id) and event_id not in listed:
                listed.append(event_id)

        scan_object(target.path, target.url, manifest, on_id=note)
        for late, url, late_manifest in evidence:
            if len(listed) >= MAX_VANISHED_LISTED:
                break
            scan_object(late, url, late_manifest, on_id=note)
        self.log.warning(
            "%d events of %s%s are no longer returned by Slack for its window; the first: %s",
            vanished,
            target.url,
            f" and its {len(evidence)} late file(s)" if evidence else "",
            ", ".join(listed),
        )
        return vanished
