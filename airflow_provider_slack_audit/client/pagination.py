"""Walk every page of a ``logs`` query: newest first, each entry once, memory bounded by a page."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_slack_audit.client.errors import SlackAuditLogsServerError, error_for_response
from airflow_provider_slack_audit.client.params import MAX_LIMIT, logs_query
from airflow_provider_slack_audit.client.response import AuditLogsResponse

if TYPE_CHECKING:
    from airflow_provider_slack_audit.client.api import SlackAuditLogsClient


@dataclass
class AuditLogsPage:
    """One page of a range, entries already de-duplicated.

    Attributes:
        entries: the page's events as Slack sent them (dicts), each id once across the whole walk.
        response: the answer the page came from.
        number: 1 for the first page, counting every page of the walk (restarts included).
        raw_count: how many entries Slack sent in this page, duplicates included.
        duplicates_dropped: how many of them were left out as repeats of an id already yielded.
        cursor: the cursor this page was asked for with (None for the first page of a walk or restart).
        next_cursor: the cursor of the next page, or None at the end.
    """

    entries: list[dict[str, Any]]
    response: AuditLogsResponse = field(repr=False)
    number: int
    raw_count: int = 0
    duplicates_dropped: int = 0
    cursor: str | None = None
    next_cursor: str | None = None


@dataclass
class _Seen:
    """The ids needed to drop repeats: the previous and current page, and the oldest second so far.

    ``oldest_ids`` holds the ids yielded at ``oldest_second``, the oldest ``date_create`` yielded;
    after a rejected cursor the walk restarts at that second (inclusive) and drops those ids.
    """

    previous: set[str] = field(default_factory=set)
    current: set[str] = field(default_factory=set)
    oldest_second: int | None = None
    oldest_ids: set[str] = field(default_factory=set)

    def is_repeat(self, entry_id: str, second: Any) -> bool:
        return (
            entry_id in self.current
            or entry_id in self.previous
            or (second == self.oldest_second and entry_id in self.oldest_ids)
        )

    def add(self, entry_id: str | None, second: Any) -> None:
        if entry_id is not None:
            self.current.add(entry_id)
        if isinstance(second, int) and not isinstance(second, bool):
            if self.oldest_second is None or second < self.oldest_second:
                self.oldest_second = second
                self.oldest_ids = set()
            if second == self.oldest_second and entry_id is not None:
                self.oldest_ids.add(entry_id)

    def next_page(self) -> None:
        self.previous, self.current = self.current, set()


def _bad_body(response: AuditLogsResponse, what: str) -> SlackAuditLogsServerError:
    return SlackAuditLogsServerError(
        f"{response.method} {response.path} answered HTTP {response.status_code} with {what}; "
        "the page cannot be read. Run again later.",
        status_code=response.status_code,
        response=response,
    )


def iter_pages(
    client: SlackAuditLogsClient,
    *,
    oldest: Any = None,
    latest: Any = None,
    action: Any = None,
    actor: Any = None,
    entity: Any = None,
    limit: Any = None,
    max_cursor_restarts: int = 5,
) -> Iterator[AuditLogsPage]:
    """Every page of a ``logs`` range; see :meth:`SlackAuditLogsClient.iter_pages`."""
    query = logs_query(
        oldest=oldest,
        latest=latest,
        limit=MAX_LIMIT if limit is None else limit,
        action=action,
        actor=actor,
        entity=entity,
    )
    return _walk(client, query, max_cursor_restarts)


def _walk(client: SlackAuditLogsClient, query: dict[str, Any], max_cursor_restarts: int) -> Iterator[AuditLogsPage]:
    seen = _Seen()
    cursor: str | None = None
    number = 0
    restarts = 0
    while True:
        params = dict(query)
        if cursor is not None:
            params["cursor"] = cursor
        response = client.api_call(path="logs", query_params=params)
        error = error_for_response(response)
        if error is not None:
            if cursor is not None and error.error == "invalid_cursor" and restarts < max_cursor_restarts:
                restarts += 1
                client.stats.cursor_restarts += 1
                if seen.oldest_second is not None:
                    # Newest first: everything newer than this second was yielded; restart at it
                    # (inclusive) and let `seen` drop the ids already yielded at it.
                    query["latest"] = seen.oldest_second
                client.logger.warning(
                    "Slack rejected a cursor (invalid_cursor) on page %d; restarting the window at latest=%s "
                    "without a cursor (restart %d of at most %d)",
                    number + 1,
                    query.get("latest"),
                    restarts,
                    max_cursor_restarts,
                )
                cursor = None
                continue
            raise error
        body = response.body or {}
        entries = body.get("entries")
        if not isinstance(entries, list):
            raise _bad_body(response, "no entries list")
        number += 1
        kept: list[dict[str, Any]] = []
        for entry in entries:
            if not isinstance(entry, dict):
                raise _bad_body(response, f"an entry that is not a JSON object ({type(entry).__name__})")
            entry_id = entry.get("id")
            if not isinstance(entry_id, str):
                entry_id = None  # no usable id: kept, never de-duplicated
            second = entry.get("date_create")
            if entry_id is not None and seen.is_repeat(entry_id, second):
                continue
            seen.add(entry_id, second)
            kept.append(entry)
        metadata = body.get("response_metadata")
        next_cursor = metadata.get("next_cursor") if isinstance(metadata, dict) else None
        if next_cursor is not None and not isinstance(next_cursor, str):
            raise _bad_body(response, f"a next_cursor that is not a string ({next_cursor!r})")
        next_cursor = next_cursor or None
        status = response.status_code
        yield AuditLogsPage(
            entries=kept,
            response=response,
            number=number,
            raw_count=len(entries),
            duplicates_dropped=len(entries) - len(kept),
            cursor=cursor,
            next_cursor=next_cursor,
        )
        # Hold no page while the next one is fetched: memory stays bounded by one page.
        del response, body, entries, kept
        if next_cursor is None:
            return
        if next_cursor == cursor:
            raise SlackAuditLogsServerError(
                f"Slack answered page {number} with the cursor it was asked with: paging would never end. "
                "Run again later; if it persists, narrow the window (oldest/latest).",
                status_code=status,
            )
        seen.next_page()
        cursor = next_cursor
