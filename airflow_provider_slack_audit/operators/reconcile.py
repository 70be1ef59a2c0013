"""The operator that checks an exported window against Slack again and keeps what arrived late."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_slack_audit.arguments.query import unless_blank
from airflow_provider_slack_audit.arguments.window import AuditWindow, resolve_window
from airflow_provider_slack_audit.client import LogsQuery
from airflow_provider_slack_audit.export.evidence import report_vanished
from airflow_provider_slack_audit.export.late_files import next_late_second
from airflow_provider_slack_audit.export.manifest import filters_record, read_manifest
from airflow_provider_slack_audit.export.store_support import require_conditional_create
from airflow_provider_slack_audit.export.writer import ExportTarget, resolve_target
from airflow_provider_slack_audit.operators.base import PUBLIC_MODULE
from airflow_provider_slack_audit.operators.late_file import write_late_events
from airflow_provider_slack_audit.operators.storage_base import BaseObjectStorageOperator

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class _Exported(NamedTuple):
    """The object a reconciliation compares with and its manifest, as found when the window was resolved."""

    target: ExportTarget
    manifest: dict[str, Any] | None


class SlackAuditLogsReconcileOperator(BaseObjectStorageOperator):
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

    def __init__(
        self,
        *,
        path: str,
        conn_id: str | None = None,
        fail_on_late: bool = False,
        fail_on_vanished: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(path=path, conn_id=conn_id, **kwargs)
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
        found = write_late_events(self, target, manifest, window, query)
        writer, late_target = found.writer, found.late_target
        late_count = writer.events if writer is not None else 0
        if writer is not None:
            self.log.warning("%d late events of %s written to %s", late_count, target.url, late_target.url)
        vanished = report_vanished(target, manifest, found.index, found.evidence, self.log)
        result = {
            "path": target.url,
            "checked": found.checked,
            "late": late_count,
            "vanished": vanished,
            "late_path": late_target.url if writer is not None else None,
        }
        outputs = [(late_target.path, late_count, writer.bytes)] if writer is not None else []
        self.record_lineage(
            found.client,
            window,
            query,
            inputs=[(target.path, found.events, found.size)],
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
