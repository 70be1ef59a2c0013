"""The arguments every operator and the sensor take, and what they become: the hook, the window, the query.

Where the client's and the hook's typed errors become task outcomes: what a retry cannot fix
(:data:`~airflow_provider_slack_audit.hooks.final_errors.FINAL_ERRORS`, defined there) fails the task
at once (``AirflowFailException``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_slack_audit.arguments.window import AuditWindow, TimeBound, resolve_window
from airflow_provider_slack_audit.client import LogsQuery
from airflow_provider_slack_audit.hooks.final_errors import FINAL_ERRORS
from airflow_provider_slack_audit.hooks.slack_audit import SlackAuditLogsHook

if TYPE_CHECKING:
    from collections.abc import Mapping

#: The templated arguments every Slack audit logs task has.
QUERY_TEMPLATE_FIELDS = ("slack_audit_conn_id", "oldest", "latest", "action", "actor", "entity", "page_size")


class AuditLogsQueryMixin:
    """
    The arguments that pick a task's audit events, for operators and sensors alike.

    :param slack_audit_conn_id: the ``slack_audit`` connection that holds the org owner's token.
    :param oldest: first second to read (inclusive); epoch seconds, ISO-8601 or a datetime. Defaults to the
        run's ``data_interval_start``.
    :param latest: last second to read (inclusive). Defaults to one second before ``data_interval_end``,
        so consecutive runs share no second and miss none.
    :param action: only events of these actions (a list or a comma-separated string, at most 30).
    :param actor: only events performed by this user id.
    :param entity: only events on this object id (user, channel, file, workspace, ...).
    :param page_size: events per API call, 1..9999; unset lets the task choose (9999 for exports: the
        fewest calls against Slack's organisation-wide limit of about 50 calls a minute).
    """

    slack_audit_conn_id: str
    oldest: TimeBound
    latest: TimeBound
    action: str | list[str] | None
    actor: str | None
    entity: str | None
    page_size: int | str | None

    def set_query_arguments(
        self,
        slack_audit_conn_id: str,
        oldest: TimeBound,
        latest: TimeBound,
        action: str | Iterable[str] | None,
        actor: str | None,
        entity: str | None,
        page_size: int | str | None,
    ) -> None:
        """Keep the arguments as given (templates render them before execution)."""
        self.slack_audit_conn_id = slack_audit_conn_id
        self.oldest = oldest
        self.latest = latest
        self.action = list(action) if action is not None and not isinstance(action, str) else action
        self.actor = actor
        self.entity = entity
        self.page_size = page_size

    @cached_property
    def hook(self) -> SlackAuditLogsHook:
        """The hook on :attr:`slack_audit_conn_id`."""
        return SlackAuditLogsHook(slack_audit_conn_id=self.slack_audit_conn_id)

    def close_hook(self) -> None:
        """Close the hook's HTTP connections, if it was made (a later use opens new ones)."""
        hook = self.__dict__.get("hook")
        if hook is not None:
            hook.close()

    def resolve_query(self, context: Mapping[str, Any]) -> tuple[AuditWindow, LogsQuery]:
        """The run's window and its query (checked once, by the client); fails the task (no retry) on bad input.

        A templated filter that renders blank means no filter.
        """
        window = resolve_window(context, self.oldest, self.latest)
        with self.failing_fast():
            query = LogsQuery(
                oldest=window.oldest,
                latest=window.latest,
                action=unless_blank(self.action),
                actor=unless_blank(self.actor),
                entity=unless_blank(self.entity),
                limit=unless_blank(self.page_size),
            )
        return window, query

    @staticmethod
    @contextmanager
    def failing_fast() -> Iterator[None]:
        """Turn what a retry cannot fix (a refused token, a rejected query, a bad connection) into
        AirflowFailException, so the task fails at once with Slack's message instead of retrying."""
        try:
            yield
        except FINAL_ERRORS as exc:
            raise AirflowFailException(str(exc)) from exc


def unless_blank(value: Any) -> Any:
    """An argument as a task uses it: ``value``, or None when a template rendered it blank (``""``, spaces,
    an empty list or one of blanks only).

    :param value: a task argument after templates were rendered (a bound, a filter, the page size).
    """
    if isinstance(value, str) and not value.strip():
        return None
    if isinstance(value, (list, tuple)) and not [v for v in value if not (isinstance(v, str) and not v.strip())]:
        return None
    return value
