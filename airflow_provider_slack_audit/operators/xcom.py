"""The operator that returns a window of audit events to XCom."""

from __future__ import annotations

from contextlib import closing
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_slack_audit.client.validation import isinstance_strict
from airflow_provider_slack_audit.operators._progress import PageProgress
from airflow_provider_slack_audit.operators.base import PUBLIC_MODULE, BaseSlackAuditLogsOperator

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_slack_audit.arguments.window import AuditWindow
    from airflow_provider_slack_audit.client import LogsQuery


class SlackAuditLogsOperator(BaseSlackAuditLogsOperator):
    """
    Return the run's window of Slack audit log events (newest first) to XCom.

    XCom lives in Airflow's metadata database and suits small results: a window with more than
    ``max_events`` events fails the task. Use
    :class:`~airflow_provider_slack_audit.operators.object_storage.SlackAuditLogsToObjectStorageOperator`
    for exports.

    :param max_events: the most events this task may return; more fails the task.
    """

    __module__ = PUBLIC_MODULE

    def __init__(self, *, max_events: int = 1000, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance_strict(max_events, int) or max_events < 0:
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
