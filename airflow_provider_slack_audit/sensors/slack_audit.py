"""Wait until audit events that match a filter exist in a DAG run's window."""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import closing
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    BaseSensorOperator,
    PokeReturnValue,
    conf,
)

from airflow_provider_slack_audit.arguments.query import QUERY_TEMPLATE_FIELDS, AuditLogsQueryMixin
from airflow_provider_slack_audit.arguments.window import AuditWindow, TimeBound
from airflow_provider_slack_audit.client.validation import isinstance_strict
from airflow_provider_slack_audit.hooks.final_errors import is_final_kind
from airflow_provider_slack_audit.hooks.slack_audit import SlackAuditLogsHook
from airflow_provider_slack_audit.triggers.matching import DEFAULT_MAX_EVENTS_RETURNED, MatchCollector
from airflow_provider_slack_audit.triggers.slack_audit import SlackAuditLogsTrigger

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_slack_audit.client import LogsQuery


class SlackAuditLogsSensor(AuditLogsQueryMixin, BaseSensorOperator):
    """Succeed once at least ``min_events`` audit events match the filters in the run's window.

    The window is the one the operators use: the run's data interval ``[start, end)`` as inclusive
    whole seconds, or explicit ``oldest`` / ``latest``. The newest ``max_events_returned`` matches
    (unique by id) are returned to XCom. A window that has not ended yet is read up to the current
    second, so a sensor can wait for an event that has not happened.

    Works in ``poke`` and ``reschedule`` mode (``poke_interval``, ``timeout``, ``soft_fail``,
    ``exponential_backoff`` as for any sensor) and with ``deferrable=True``, where
    :class:`SlackAuditLogsTrigger` polls from the triggerer every ``poll_interval`` seconds until the
    sensor's ``timeout``.

    :param slack_audit_conn_id: the Slack Audit Logs connection (token as password).
    :param oldest: explicit first second of the window (epoch seconds, ISO-8601 or datetime,
        inclusive); default: the run's ``data_interval_start``. Templated.
    :param latest: explicit last second of the window (inclusive); default: the second before
        ``data_interval_end``. Templated.
    :param action: action names to match (any of them), a list or a comma-separated string, at
        most 30; None matches every action. Templated.
    :param actor: only events performed by this user id. Templated.
    :param entity: only events on this object id (user, channel, app, workspace, ...). Templated.
    :param page_size: events per API call, 1..9999; None: ``max(min_events, max_events_returned)``
        (capped at 9999), enough to decide in one call when the window holds that many. Templated.
    :param min_events: how many distinct matching events make the sensor succeed (at least 1).
    :param max_events_returned: how many of the newest matching events go to XCom (0 for none);
        the sensor reads at most ``max(min_events, max_events_returned)`` events per check.
    :param deferrable: wait in the triggerer instead of holding a worker slot; default from
        ``[operators] default_deferrable``.
    :param poll_interval: seconds between checks made by the trigger in deferrable mode; default:
        ``poke_interval``. ``exponential_backoff`` and ``max_wait`` apply to it as to pokes.
    """

    template_fields: Sequence[str] = QUERY_TEMPLATE_FIELDS
    ui_color = "#f3e9f7"

    def __init__(
        self,
        *,
        slack_audit_conn_id: str = SlackAuditLogsHook.default_conn_name,
        oldest: TimeBound = None,
        latest: TimeBound = None,
        action: str | list[str] | None = None,
        actor: str | None = None,
        entity: str | None = None,
        page_size: int | None = None,
        min_events: int = 1,
        max_events_returned: int = DEFAULT_MAX_EVENTS_RETURNED,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance_strict(min_events, int) or min_events < 1:
            raise ValueError(f"min_events={min_events!r}: give a whole number of events, 1 or more.")
        if not isinstance_strict(max_events_returned, int) or max_events_returned < 0:
            raise ValueError(
                f"max_events_returned={max_events_returned!r}: give a whole number, 0 or more "
                "(XCom is for small data; keep it in the hundreds)."
            )
        if poll_interval is not None and (isinstance(poll_interval, bool) or not poll_interval > 0):
            raise ValueError(f"poll_interval={poll_interval!r}: give a number of seconds greater than 0.")
        self.set_query_arguments(slack_audit_conn_id, oldest, latest, action, actor, entity, page_size)
        self.min_events = min_events
        self.max_events_returned = max_events_returned
        self.deferrable = deferrable
        self.poll_interval = float(poll_interval) if poll_interval is not None else self.poke_interval
        #: What this try's pokes saw, for the line that says why the sensor gives up: (window, matches, pokes).
        self._pokes_seen: tuple[str, int, int] | None = None

    def _collect(self, window: AuditWindow, query: LogsQuery) -> MatchCollector:
        collector = MatchCollector(self.min_events, self.max_events_returned)
        poke_query = collector.query_for(query)
        if poke_query is None:
            self.log.info("The window %s has not begun yet: nothing can match.", window.describe())
            return collector
        try:
            with self.failing_fast(), closing(self.hook.iter_events(poke_query)) as events:
                for entry in events:
                    if collector.add(entry):
                        break
        finally:
            self.close_hook()
        return collector

    def poke(self, context: Context) -> PokeReturnValue:
        """Check the window once: done when ``min_events`` match; the newest matches go to XCom."""
        window, query = self.resolve_query(context)
        found = self._collect(window, query)
        self.log.info(
            "%d of %d required audit event(s) match in %s",
            found.count,
            self.min_events,
            window.describe(),
        )
        pokes = self._pokes_seen[2] + 1 if self._pokes_seen else 1
        self._pokes_seen = (window.describe(), found.count, pokes)
        return PokeReturnValue(is_done=found.done, xcom_value=found.returned if found.done else None)

    def execute(self, context: Context) -> Any:
        """Poke or reschedule as any sensor; when deferrable, check once, then defer to the trigger."""
        if not self.deferrable:
            try:
                return super().execute(context)
            except (AirflowSensorTimeout, AirflowSkipException) as exc:
                if self._pokes_seen:  # a timeout (or a soft-failed one): say what the pokes saw
                    window, count, pokes = self._pokes_seen
                    self._log_why_it_stops(exc.__cause__ or exc, window, count, f"{pokes} poke(s)")
                raise
        try:
            window, query = self.resolve_query(context)
            found = self._collect(window, query)
        except AirflowFailException as exc:
            self._fail_or_skip(exc)
        if found.done:
            self.log.info("%d audit event(s) already match in %s", found.count, window.describe())
            return found.returned
        self.log.info(
            "%d of %d audit event(s) match in %s; deferring, polling every %.1f s for up to %.0f s",
            found.count,
            self.min_events,
            window.describe(),
            self.poll_interval,
            self.timeout,
        )
        self.defer(
            trigger=SlackAuditLogsTrigger(
                oldest=window.oldest,
                latest=window.latest,
                slack_audit_conn_id=self.slack_audit_conn_id,
                action=list(query.action) if query.action else None,
                actor=query.actor,
                entity=query.entity,
                page_size=query.limit,
                min_events=self.min_events,
                max_events_returned=self.max_events_returned,
                poll_interval=self.poll_interval,
                timeout_at=time.time() + self.timeout,
                exponential_backoff=self.exponential_backoff,
                max_wait=self.max_wait.total_seconds() if self.max_wait else None,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def _log_why_it_stops(self, reason: object, window: str, count: int | None, checks: str) -> None:
        """Say why the sensor stops without its events: with soft_fail Airflow itself logs only "Skipping task."."""
        self.log.warning(
            "Giving up (the task will be %s): %s of %d required audit event(s) matched action=%s actor=%s "
            "entity=%s in %s after %s, within the sensor's timeout of %.0f s. %s",
            "skipped: soft_fail=True" if self.soft_fail else "failed",
            "?" if count is None else count,
            self.min_events,
            self.action or "any",
            self.actor or "any",
            self.entity or "any",
            window,
            checks,
            self.timeout,
            reason,
        )

    def _fail_or_skip(self, exc: BaseException) -> NoReturn:
        """Raise ``exc``, or skip as the sensor's ``soft_fail`` / ``never_fail`` ask."""
        if self.soft_fail:
            raise AirflowSkipException(f"Skipping due to soft_fail: {exc}") from exc
        if getattr(self, "never_fail", False):
            raise AirflowSkipException(f"Skipping due to never_fail: {exc}") from exc
        raise exc

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Turn the trigger's event into the same result as poke mode, or the matching failure.

        ``soft_fail`` turns a timeout or an error into a skip (Airflow's sensor machinery does it).
        """
        if not event:
            raise AirflowException("The Slack Audit Logs trigger ended without an event; run the task again.")
        status = event.get("status")
        if status == "success":
            self.log.info(
                "%d audit event(s) match in [%s, %s] after %s poll(s) in the triggerer",
                event.get("count"),
                event.get("oldest"),
                event.get("latest"),
                event.get("polls"),
            )
            return event.get("events", [])
        message = str(event.get("message") or event)
        self._log_why_it_stops(
            message,
            f"[{event.get('oldest')}, {event.get('latest')}]",
            event.get("count"),
            f"{event.get('polls', '?')} poll(s) in the triggerer",
        )
        if status == "timeout":
            raise AirflowSensorTimeout(f"Sensor has timed out: {message}")
        if status == "error" and is_final_kind(event.get("kind")):  # a retry cannot fix it: fail without retries
            raise AirflowFailException(message)
        raise AirflowException(message)
