"""OpenLineage facets of the export and reconcile operators.

Nothing here imports OpenLineage at module level: the operators call
:meth:`LineageMixin.get_openlineage_facets_on_complete` only when the openlineage provider is
installed (its listener does), and the imports happen inside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_slack_audit.export.manifest import filters_record

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import ObjectStoragePath
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_slack_audit.arguments.window import AuditWindow
    from airflow_provider_slack_audit.client import LogsQuery, SlackAuditLogsClient

#: Where the logs method lives under the API's base URL.
LOGS_METHOD = "logs"


def api_dataset_name(base_url: str) -> tuple[str, str]:
    """The input dataset of an audit logs read: (``scheme://host[:port]``, ``/audit/v1/logs``)."""
    parts = urlsplit(base_url)
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return f"{parts.scheme}://{parts.netloc}", path + LOGS_METHOD


def object_dataset_name(path: ObjectStoragePath) -> tuple[str, str]:
    """An object's dataset by OpenLineage's naming: ``s3://bucket`` + key; ``file`` + absolute path."""
    protocol = path.protocol if isinstance(path.protocol, str) else path.protocol[0]
    if protocol in ("file", "local"):
        return "file", "/" + path.path.lstrip("/")
    bucket, _, key = path.path.partition("/")
    return f"{protocol}://{bucket}", key


@dataclass
class LineageRecord:
    """What a run read and wrote, kept by ``execute`` for the facets on completion."""

    base_url: str
    window: dict[str, int]
    filters: dict[str, Any]
    #: (path, events, bytes) of each object read (the reconciled export).
    inputs: list[tuple[ObjectStoragePath, int, int]] = field(default_factory=list)
    #: (path, events, bytes) of each object written.
    outputs: list[tuple[ObjectStoragePath, int, int]] = field(default_factory=list)
    #: More fields for the run facet (e.g. the reconciliation's counts).
    details: dict[str, Any] = field(default_factory=dict)


def _run_facet_class() -> type:
    """A custom run facet carrying the window and filters (built on demand: attrs + OpenLineage's RunFacet)."""
    import attr
    from airflow.providers.common.compat.openlineage.facet import RunFacet

    @attr.define
    class SlackAuditLogsRunFacet(RunFacet):
        """The window (inclusive epoch seconds) and filters of a Slack audit logs run."""

        window: dict[str, int]
        filters: dict[str, Any]
        details: dict[str, Any] = attr.field(factory=dict)

        @staticmethod
        def _get_schema() -> str:
            return "urn:airflow-provider-slack-audit:facet:SlackAuditLogsRunFacet:1"

    return SlackAuditLogsRunFacet


class LineageMixin:
    """Gives an operator ``get_openlineage_facets_on_complete`` from the :class:`LineageRecord` its run kept."""

    _lineage: LineageRecord | None = None

    def record_lineage(
        self,
        client: SlackAuditLogsClient,
        window: AuditWindow,
        query: LogsQuery,
        *,
        inputs: list[tuple[ObjectStoragePath, int, int]] | None = None,
        outputs: list[tuple[ObjectStoragePath, int, int]] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Keep what this run read and wrote, for the facets on completion.

        :param client: the client that walked the window (its API base URL names the input dataset).
        :param window: the window read.
        :param query: the query that read it (its filters go to the run facet).
        :param inputs: (path, events, bytes) of each object read.
        :param outputs: (path, events, bytes) of each object written.
        :param details: more fields for the run facet.
        """
        self._lineage = LineageRecord(
            base_url=client.base_url,
            window={"oldest": window.oldest, "latest": window.latest},
            filters=filters_record(query),
            inputs=inputs or [],
            outputs=outputs or [],
            details=details or {},
        )

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage | None:
        """Input: the audit logs API (and any object read); output: the objects written, with row counts
        and sizes; run facet ``slackAuditLogs``: the window and filters."""
        record = self._lineage
        if record is None:
            return None
        from airflow.providers.common.compat.openlineage.facet import (
            Dataset,
            OutputDataset,
            OutputStatisticsOutputDatasetFacet,
        )
        from airflow.providers.openlineage.extractors import OperatorLineage

        namespace, name = api_dataset_name(record.base_url)
        inputs = [Dataset(namespace=namespace, name=name)]
        inputs += [Dataset(*object_dataset_name(path)) for path, _, _ in record.inputs]
        outputs = [
            OutputDataset(
                *object_dataset_name(path),
                outputFacets={"outputStatistics": OutputStatisticsOutputDatasetFacet(rowCount=rows, size=size)},
            )
            for path, rows, size in record.outputs
        ]
        facet = _run_facet_class()(window=record.window, filters=record.filters, details=record.details)
        return OperatorLineage(inputs=inputs, outputs=outputs, run_facets={"slackAuditLogs": facet})
