"""The operator that writes a window of audit events to object storage, all or nothing."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_slack_audit.export.formats.choice import choose_format
from airflow_provider_slack_audit.export.late_files import (
    ABANDONED_MARKER,
    create_manifest,
    late_files,
    newest_late_second,
    remove_stale_late_files,
)
from airflow_provider_slack_audit.export.manifest import (
    ExportTally,
    manifest_path,
    remove_earlier_manifest,
)
from airflow_provider_slack_audit.export.scan import object_ids
from airflow_provider_slack_audit.export.storage import TargetExistsError
from airflow_provider_slack_audit.export.writer import ExportTarget, resolve_target
from airflow_provider_slack_audit.operators._asset import export_asset, record_asset_event
from airflow_provider_slack_audit.operators.base import PUBLIC_MODULE, WindowRead
from airflow_provider_slack_audit.operators.split_export import check_split_path, export_span, split_seconds
from airflow_provider_slack_audit.operators.storage_base import BaseObjectStorageOperator

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_slack_audit.arguments.window import AuditWindow
    from airflow_provider_slack_audit.client import LogsQuery


class SlackAuditLogsToObjectStorageOperator(BaseObjectStorageOperator):
    """
    Write the run's window of Slack audit log events to object storage as JSON Lines (or Parquet).

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
    :param compression: ``"infer"`` (gzip if ``path`` ends in ``.gz``), ``"gzip"`` or None for plain text. Parquet
        compresses its columns itself (zstd): leave it ``"infer"`` (or None); ``"gzip"`` is refused.
    :param format: ``"jsonl"`` (Slack's bytes, one event a line) or ``"parquet"`` (a typed table, one row an
        event, written in row groups: memory stays bounded by a row group). Default: ``"parquet"`` when ``path``
        ends in ``.parquet``, else ``"jsonl"``. Parquet needs the ``parquet`` extra
        (``airflow-provider-slack-audit[parquet]``); without it the DAG fails to load, saying so.
    :param schema: Parquet's table: ``"flat"`` (default: one versioned column per field, ``raw`` keeps each event
        as Slack sent it) or ``"ocsf"`` (OCSF 1.3 events); see the Parquet guide. Only with Parquet.
    :param overwrite: replace an existing object at ``path`` (a re-run of the window does this); False fails
        the task instead, also when another run creates the object while this one is writing (the store's
        conditional create: S3 ``If-None-Match``, GCS ``ifGenerationMatch=0``, Azure Blob ``If-None-Match``, a
        hard link locally; other stores refuse ``overwrite=False`` with an error before Slack is read).
    :param manifest: write ``<path>.manifest.json`` once the object is in place: the window, filters, counts,
        format and compression, the sha256 of the stored bytes and of the sorted event ids, and the store's
        identifier of the write (evidence that the export is whole and unaltered;
        :class:`~airflow_provider_slack_audit.operators.reconcile.SlackAuditLogsReconcileOperator` and
        ``slack-audit verify`` check it). It is written only while the object at ``path`` is still this run's:
        when another run replaced it meanwhile, the task fails and writes none. An earlier manifest is never
        removed first: a run that fails or is killed before its commit leaves the earlier object and its manifest
        as they were; one killed between its commit and its manifest leaves the earlier manifest, which readers
        then report as the "manifest of another write" (it names another write of the object).
    :param asset: the Asset this task declares and records one event on per run (extra: ``path``,
        ``events``, ``bytes``, ``oldest``, ``latest``): an ``Asset``, a URI, or an ``AssetAlias`` to name
        each object as an Asset of its own. Default: ``path`` itself when it has no template, else its
        static part (``s3://bucket/slack/{{ ds }}.jsonl`` -> ``s3://bucket/slack``), else
        ``slack-audit://<slack_audit_conn_id>/<dag_id>/<task_id>``.
    :param split_interval: read the run's whole window in one walk and write it as one object per interval
        of this length (a ``timedelta`` that divides a day, intervals aligned to UTC), each the object a run
        of that interval writes: ``path`` rendered with the interval as ``data_interval_start`` /
        ``data_interval_end`` (also ``logical_date``, ``ds``, ``ts``), the interval's window, its own
        manifest. A daily run with ``timedelta(hours=1)`` backfills 24 hourly objects in one or two calls
        instead of 24. None (default): one object for the window.
    """

    __module__ = PUBLIC_MODULE

    def __init__(
        self,
        *,
        path: str,
        conn_id: str | None = None,
        compression: str | None = "infer",
        format: str | None = None,
        schema: str | None = None,
        overwrite: bool = True,
        manifest: bool = True,
        asset: Any = None,
        split_interval: timedelta | int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(path=path, conn_id=conn_id, **kwargs)
        self.split_interval = split_seconds(split_interval)
        if self.split_interval is not None:
            check_split_path(path)
        #: ``path`` as written in the DAG (Airflow renders ``path`` for the run; a split renders it per interval).
        self.path_template = path
        choose_format(path, format, schema, compression)  # checked at parse time; again once the path is rendered
        self.format = format
        self.schema = schema
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
        outlets = list(self.outlets or [])
        # A mapped export lists its asset in partial(outlets=...) too (a mapped task declares only those when
        # the DAG is parsed): once in the list, so Airflow 2.11 (which records an event per entry) records one.
        self.outlets = outlets if self.asset in outlets else [*outlets, self.asset]

    def _mark_kept(self, target: ExportTarget, name: str, sha256: str) -> None:
        """A superseded late file the store would not let this run delete: its manifest names the earlier export's
        sha256 (loaders skip it by that), or it has none and gets the ``abandoned`` marker in its place (created
        only where nothing is, as a reconciliation creates it)."""
        late = target.sibling(name)
        marked = ""
        if not manifest_path(late.path).exists():
            with contextlib.suppress(TargetExistsError):  # its manifest or marker came first: that one stands
                create_manifest(late, ABANDONED_MARKER)
                marked = " It had no manifest: the abandoned marker now stands in its place."
        self.log.warning(
            "Could not remove %s, whose events the new %s holds (may this role delete?). Loaders skip it: its "
            "manifest names no sha256 of the object.%s",
            name,
            target.url,
            marked,
        )

    def read_window(self, context: Context, window: AuditWindow, query: LogsQuery) -> dict[str, Any]:
        if self.split_interval is not None:
            return export_span(self, context, window, query, self.split_interval)
        return self.write_object(context, window, query, path=self.path, read=self.read_in_window(window, query))

    def write_object(
        self, context: Context, window: AuditWindow, query: LogsQuery, *, path: str, read: WindowRead
    ) -> dict[str, Any]:
        """Write the events of ``read`` (the window's, read by ``query``) as the object at ``path``; its summary."""
        target = resolve_target(path, self.conn_id)
        # the path is known only now (templated): a rendered name that contradicts the format fails here
        try:
            export_format = choose_format(target.name, self.format, self.schema, self.compression)
        except ValueError as err:
            raise AirflowFailException(f"{target.url}: {err}") from None
        gzip = export_format.gzip_for(target.name)
        self.log.info(
            "Exporting Slack audit logs for %s to %s (%s)",
            window.describe(),
            target.url,
            f"Parquet, {export_format.schema} schema" if export_format.is_parquet else "gzip" if gzip else "plain",
        )
        tally = ExportTally()
        client = self.walking_client()
        writer = self.open_writer(target, overwrite=self.overwrite, gzip=gzip, export_format=export_format)
        try:
            with writer:
                # Events are copied as Slack sent them: only id (de-duplication, in the walk) and
                # date_create (the window check) are decoded; memory stays at one page of bytes.
                for entries in read:
                    writer.write_raw_page(entries)
                    if self.manifest:
                        tally.add(entries.ids, entries.seconds)
                    del entries  # let the page go before the next one is fetched
                # Nothing beside the object is touched before the commit: a run that does not commit leaves the
                # earlier object and its manifest (or another run's) as they were.
            ids_sha256 = tally.ids.hexdigest() if self.manifest else None
        finally:
            self._writer = None
            tally.close()
        read.finish()
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
            summary["manifest"] = read.write_manifest(
                target,
                writer,
                tally=tally,
                ids_sha256=ids_sha256,
                client=client,
                late_after=newest_late_second(lates),
                **export_format.manifest_fields(target.name),
            )
        elif remove_earlier_manifest(target.path, writer.sink):
            self.log.info("Removed the manifest of the earlier write of %s (manifest=False writes none)", target.url)
        stored_gzip = None if export_format.is_parquet else gzip  # None: read as the bytes say (Parquet)
        removed, kept = remove_stale_late_files(
            lates, target, writer.sha256, gzip_=gzip, object_ids=lambda: object_ids(target, stored_gzip)
        )
        for name in removed:
            self.log.info("Removed %s: it completed the earlier export of %s, now replaced", name, target.url)
        for name in kept:
            self._mark_kept(target, name, writer.sha256)
        self.log.info("Wrote %d events (%d bytes) to %s", writer.events, writer.bytes, target.url)
        self.record_lineage(client, window, query, outputs=[(target.path, writer.events, writer.bytes)])
        record_asset_event(context, self.asset, target.url, summary)
        return summary
