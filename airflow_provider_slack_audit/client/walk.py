"""The page walk of a ``logs`` range, without I/O: newest first, each entry once, and always an end.

Both clients drive one :class:`PageWalk`; only the call that fetches a page differs::

    walk = PageWalk(query, ...)
    while (params := walk.next_query()) is not None:
        page = walk.take(<the answer to GET logs with params>)
        if page is not None:  # None: Slack rejected the cursor and the walk starts over
            yield page

A walk ends: on the last page, or with a typed error on a cursor it has already sent (a cycle
A -> B -> A included), or after :data:`MAX_PAGES_WITHOUT_NEW_IDS` pages in a row that bring no
id it has not yielded. Every id yielded is remembered, exactly, until the walk ends (in bounded
memory: :mod:`.seen_ids`), so an id is yielded once whatever the cursors do: a page served again
(a cursor cycle yields nothing new before its error), an event indexed late onto a later page, a
restart. An entry without a usable id cannot be written once: the walk raises
:class:`~.errors.SlackAuditLogsEntryError` naming it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_slack_audit.client.entry_rules import UnreadableEntryError, excerpt, first_bad_id, id_problem
from airflow_provider_slack_audit.client.errors import SlackAuditLogsError, SlackAuditLogsServerError
from airflow_provider_slack_audit.client.query import MAX_LIMIT, LogsQuery
from airflow_provider_slack_audit.client.raw_page import RawPage, RawPageError, read_raw_page
from airflow_provider_slack_audit.client.response import AuditLogsResponse, entry_error, error_for_response
from airflow_provider_slack_audit.client.seen_ids import MEMORY_IDS, SeenIds
from airflow_provider_slack_audit.client.stats import ClientStats

#: Pages in a row that bring no new id before a walk gives up (Slack looping without a repeated cursor).
MAX_PAGES_WITHOUT_NEW_IDS = 20


@dataclass
class AuditLogsPage:
    """One page of a range, entries already de-duplicated.

    Attributes:
        entries: the page's events as Slack sent them, each id once across the whole walk: dicts, or
            a :class:`RawPage` (the events' bytes, ids and date_create) in a walk with ``raw_entries``.
        response: the answer the page came from.
        number: 1 for the first page, counting every page of the walk (restarts included).
        raw_count: how many entries Slack sent in this page, duplicates included.
        duplicates_dropped: how many of them were left out as repeats of an id already yielded.
        cursor: the cursor this page was asked for with (None for the first page of a walk or restart).
        next_cursor: the cursor of the next page, or None at the end.
    """

    entries: list[dict[str, Any]] | RawPage
    response: AuditLogsResponse = field(repr=False)
    number: int
    raw_count: int = 0
    duplicates_dropped: int = 0
    cursor: str | None = None
    next_cursor: str | None = None


def _bad_body(response: AuditLogsResponse, what: str) -> SlackAuditLogsServerError:
    return SlackAuditLogsServerError(
        f"{response.method} {response.path} answered HTTP {response.status_code} with {what}; "
        "the page cannot be read. Run again later.",
        status_code=response.status_code,
        response=response,
    )


class PageWalk:
    """The page walk of one ``logs`` range: what to ask next and what each answer yields (see the module).

    Entries are each yielded once across the whole walk, restarts included (see the module); the
    bounds and filters of ``query`` go with every cursor.

    Args:
        query: the checked query; its ``limit`` defaults to 9999 (fewest calls).
        max_cursor_restarts: how often the walk may start over after Slack rejected its cursor.
        logger: where a restart is logged (WARNING).
        stats: the client's counters (``cursor_restarts``).
        raw_entries: read pages entry by entry as Slack sent them (answers fetched with
            ``raw_entries``, see :mod:`.raw_page`): the same walk and de-duplication, over each
            entry's id and date_create only; ``page.entries`` is then a :class:`RawPage`.
        ids_in_memory: ids remembered in memory before they move to a temporary database
            (:class:`~.seen_ids.SeenIds`); call :meth:`close` when the walk ends.
        keep_unidentified: yield an entry (a JSON object) whose id is missing or unusable instead of
            raising :class:`~.errors.SlackAuditLogsEntryError` (logged at WARNING; never de-duplicated by
            the walk, which keys on ids). For readers that key events themselves, such as the asset
            watcher; an export, which must write each event once, keeps the default. Not with
            ``raw_entries``.

    Attributes:
        query: the query; ``latest`` moves back to the oldest second read when a rejected cursor
            restarts the walk.
        cursor: the cursor the next (or current) page is asked with; None for the first page of a
            walk or restart.
        pages: pages accepted so far, restarts included (the ``number`` of the last page).
        restarts: times the walk started over after a rejected cursor.
    """

    def __init__(
        self,
        query: LogsQuery,
        max_cursor_restarts: int = 5,
        *,
        logger: logging.Logger | None = None,
        stats: ClientStats | None = None,
        raw_entries: bool = False,
        ids_in_memory: int = MEMORY_IDS,
        keep_unidentified: bool = False,
    ) -> None:
        if keep_unidentified and raw_entries:
            raise ValueError("keep_unidentified reads decoded entries: it cannot go with raw_entries.")
        self.query = query
        self.raw_entries = raw_entries
        self.keep_unidentified = keep_unidentified
        self.max_cursor_restarts = max_cursor_restarts
        self.logger = logger or logging.getLogger(__name__)
        self.stats = stats if stats is not None else ClientStats()
        self.cursor: str | None = None
        self._sent_cursors: set[str] = set()  # the cursors of this chain (since the start or last restart)
        self._pages_without_new_ids = 0
        self.pages = 0
        self.restarts = 0
        self._seen = SeenIds(ids_in_memory)
        self._oldest_second: int | None = None  # the oldest date_create read, where a restart resumes
        self._accepted = False  # a page was accepted since the last next_query()
        self._next_cursor: str | None = None  # the next_cursor of the last accepted page
        self._status = 0  # the HTTP status of the last accepted page
        self._done = False

    def next_query(self) -> dict[str, Any] | None:
        """The query parameters of the next page, or None when the walk is over.

        Raises ``SlackAuditLogsServerError`` when the last page named as next a cursor this walk
        already sent (paging would never end), or when too many pages in a row brought nothing new.
        """
        if self._done:
            return None
        if self._accepted:
            self._accepted = False
            next_cursor = self._next_cursor
            if next_cursor is None:
                self._done = True
                return None
            if next_cursor == self.cursor or next_cursor in self._sent_cursors:
                self._done = True
                raise SlackAuditLogsServerError(
                    f"Slack answered page {self.pages} with a cursor this walk already followed: paging would never "
                    "end. Run again later; if it persists, narrow the window (oldest/latest).",
                    status_code=self._status,
                )
            if self._pages_without_new_ids >= MAX_PAGES_WITHOUT_NEW_IDS:
                self._done = True
                raise SlackAuditLogsServerError(
                    f"Slack sent {self._pages_without_new_ids} pages in a row without an event this walk had not "
                    f"read (up to page {self.pages}): paging would not end. Run again later; if it persists, "
                    "narrow the window (oldest/latest).",
                    status_code=self._status,
                )
            self.cursor = next_cursor
            self._sent_cursors.add(next_cursor)
        params = self.query.params(default_limit=MAX_LIMIT)
        if self.cursor is not None:
            params["cursor"] = self.cursor
        return params

    def restart_after(self, error: SlackAuditLogsError) -> bool:
        """Whether the walk starts over after the failed answer ``error``; if so it has been set up to.

        True when Slack rejected a cursor (``invalid_cursor``) and restarts are left: the next query
        has no cursor and ``latest`` at the oldest second already read (inclusive; the ids already
        yielded at it are dropped). False: the caller raises ``error``.
        """
        if self.cursor is None or error.error != "invalid_cursor" or self.restarts >= self.max_cursor_restarts:
            return False
        self.restarts += 1
        if self._oldest_second is not None:
            # Newest first: everything newer than this second was yielded; restart at it
            # (inclusive): the ids already yielded at it are remembered and dropped.
            self.query = self.query.up_to(self._oldest_second)
        self.cursor = None
        self._sent_cursors = set()
        return True

    def take(self, response: AuditLogsResponse) -> AuditLogsPage | None:
        """The page of the answer to :meth:`next_query`'s parameters; None when the walk starts over.

        Raises the answer's typed error when it is not a good page and no restart applies.
        """
        if response.unreadable_entry is not None:  # never a restart: Slack would send it again
            raise self._entry_error(response, response.unreadable_entry)
        error = error_for_response(response)
        if error is None:
            return self.accept(response)
        if not self.restart_after(error):
            raise error
        self.stats.cursor_restarts += 1
        self.logger.warning(
            "Slack rejected a cursor (invalid_cursor) on page %d; restarting the window at latest=%s "
            "without a cursor (restart %d of at most %d)",
            self.pages + 1,
            self.query.latest,
            self.restarts,
            self.max_cursor_restarts,
        )
        return None

    def accept(self, response: AuditLogsResponse) -> AuditLogsPage:
        """The page of a good answer to :meth:`next_query`'s parameters, repeats left out.

        Raises ``SlackAuditLogsServerError`` when the body cannot be read as a page (no entries list,
        a next_cursor that is not a string), ``SlackAuditLogsEntryError`` for an entry that is not a
        JSON object or has no usable id (see :mod:`.entry_rules`).
        """
        if self.raw_entries:
            raw_page = response.raw_page
            if raw_page is None:  # a 2xx the client could not read as a page: say why
                try:
                    raw_page = read_raw_page(response.raw_body or "")
                except UnreadableEntryError as err:
                    raise self._entry_error(response, err) from None
                except RawPageError as err:
                    raise _bad_body(response, str(err)) from None
            raw_count = len(raw_page)
            self._check_ids(response, raw_page.ids, raw_page.lines)
            keep = self._remember(raw_page.ids, raw_page.seconds)
            kept: Any = raw_page if keep is None else raw_page.subset(keep)
            next_cursor = raw_page.next_cursor
        else:
            body = response.body or {}
            entries = body.get("entries")
            if not isinstance(entries, list):
                raise _bad_body(response, "no entries list")
            for index, entry in enumerate(entries):
                if not isinstance(entry, dict):
                    problem = f"not a JSON object ({type(entry).__name__})"
                    raise self._entry_error(response, UnreadableEntryError(index, problem, excerpt=_excerpt(entry)))
            raw_count = len(entries)
            ids = [entry.get("id") for entry in entries]
            seconds = [entry.get("date_create") for entry in entries]
            unidentified = self._unidentified(response, ids, entries) if self.keep_unidentified else []
            if unidentified:
                kept = self._keep_with_unidentified(entries, ids, seconds, unidentified)
            else:
                self._check_ids(response, ids, entries)
                keep = self._remember(ids, seconds)
                kept = entries if keep is None else [entries[i] for i in keep]
            metadata = body.get("response_metadata")
            next_cursor = metadata.get("next_cursor") if isinstance(metadata, dict) else None
            if next_cursor is not None and not isinstance(next_cursor, str):
                raise _bad_body(response, f"a next_cursor that is not a string ({next_cursor!r})")
        self.pages += 1
        self._pages_without_new_ids = 0 if kept else self._pages_without_new_ids + 1
        self._accepted = True
        self._next_cursor = next_cursor or None
        self._status = response.status_code
        return AuditLogsPage(
            entries=kept,
            response=response,
            number=self.pages,
            raw_count=raw_count,
            duplicates_dropped=raw_count - len(kept),
            cursor=self.cursor,
            next_cursor=self._next_cursor,
        )

    def _entry_error(self, response: AuditLogsResponse, unreadable: UnreadableEntryError) -> SlackAuditLogsError:
        """The typed error for an entry of this page that cannot be carried; the walk is over."""
        self._done = True
        return entry_error(response, unreadable, page=self.pages + 1)

    def _check_ids(self, response: AuditLogsResponse, ids: list[Any], entries: list[Any]) -> None:
        """Refuse a page with an entry that has no usable id: it could not be written once."""
        bad = first_bad_id(ids)
        if bad is None:
            return
        index, problem = bad
        entry = entries[index]
        if isinstance(entry, dict):
            unreadable = UnreadableEntryError(index, problem, excerpt=_excerpt(entry))
        else:  # the entry's bytes as Slack sent them
            unreadable = UnreadableEntryError(index, problem, offset=response.offset_of(entry), excerpt=excerpt(entry))
        raise self._entry_error(response, unreadable)

    def _unidentified(self, response: AuditLogsResponse, ids: list[Any], entries: list[Any]) -> list[int]:
        """The positions of the entries without a usable id (``keep_unidentified``), each logged."""
        if first_bad_id(ids) is None:
            return []
        found = [i for i, value in enumerate(ids) if id_problem(value) is not None]
        for index in found:
            self.logger.warning(
                "Entry %d of page %d has %s; yielded as it is (the reader keys it by its content): %s",
                index,
                self.pages + 1,
                id_problem(ids[index]),
                _excerpt(entries[index]),
            )
        return found

    def _keep_with_unidentified(
        self, entries: list[Any], ids: list[Any], seconds: list[Any], unidentified: list[int]
    ) -> list[Any]:
        """A page's new entries by id, and every entry without a usable id, in the page's order."""
        skip = set(unidentified)
        identified = [i for i in range(len(entries)) if i not in skip]
        keep = self._remember([ids[i] for i in identified], [seconds[i] for i in identified])
        new = identified if keep is None else [identified[j] for j in keep]
        return [entries[i] for i in sorted([*new, *unidentified])]

    def _remember(self, ids: list[str], seconds: list[Any]) -> list[int] | None:
        """Which entries of a page are new (None: all), remembered from now on; notes the oldest second read."""
        if seconds:
            whole = seconds if set(map(type, seconds)) == {int} else [s for s in seconds if type(s) is int]
            if whole:
                oldest = min(whole)
                if self._oldest_second is None or oldest < self._oldest_second:
                    self._oldest_second = oldest
        return self._seen.add_new(ids)

    def close(self) -> None:
        """Let go of the ids remembered (and their temporary database); the walk is over."""
        self._done = True
        self._seen.close()


def _excerpt(entry: Any) -> str:
    """The excerpt of a decoded entry: its JSON, ASCII-escaped."""
    try:
        return excerpt(json.dumps(entry, ensure_ascii=True, default=repr))
    except (ValueError, RecursionError):
        return excerpt(repr(entry))
