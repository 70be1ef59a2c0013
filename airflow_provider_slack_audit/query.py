"""The filters shared by the operators and the sensor, checked before any API call."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from airflow.providers.common.compat.sdk import AirflowFailException

#: The API accepts at most this many action names in one query.
MAX_ACTIONS = 30
#: The API's largest page size.
MAX_PAGE_SIZE = 9999


@dataclass(frozen=True)
class AuditFilters:
    """Validated filters: ``action`` as a tuple of names (or None), ``page_size`` as the API's ``limit``."""

    action: tuple[str, ...] | None = None
    actor: str | None = None
    entity: str | None = None
    page_size: int | None = None


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def normalize_actions(action: str | Iterable[str] | None) -> tuple[str, ...] | None:
    """Action names from a comma-separated string or a list, at most :data:`MAX_ACTIONS`."""
    if _blank(action):
        return None
    if isinstance(action, str):
        names = [part.strip() for part in action.split(",")]
    else:
        names = [str(part).strip() for part in action]
    names = [name for name in names if name]
    if not names:
        return None
    unique = tuple(dict.fromkeys(names))
    if len(unique) > MAX_ACTIONS:
        raise AirflowFailException(
            f"action lists {len(unique)} action names; the Slack Audit Logs API accepts at most {MAX_ACTIONS} in "
            f"one query. Split them across tasks (at most {MAX_ACTIONS} each) or drop the filter and select "
            "downstream."
        )
    return unique


def validate_filters(
    action: str | Iterable[str] | None = None,
    actor: str | None = None,
    entity: str | None = None,
    page_size: int | str | None = None,
) -> AuditFilters:
    """Check and normalise the query filters (after templates are rendered).

    :param action: action names to match (any of them), as a list or a comma-separated string.
    :param actor: the id of the user who performed the action.
    :param entity: the id of the object acted on (user, channel, file, workspace, ...).
    :param page_size: events per API call, 1..9999; None lets the client choose (9999: fewest calls).
    """
    size: int | None = None
    if not _blank(page_size):
        text = str(page_size).strip()
        size = int(text) if text.isdigit() and not isinstance(page_size, bool) else None
        if size is None or not 1 <= size <= MAX_PAGE_SIZE:
            raise AirflowFailException(
                f"page_size={page_size!r} is not allowed: the API's limit is a whole number from 1 to "
                f"{MAX_PAGE_SIZE}. Leave it unset for {MAX_PAGE_SIZE} (fewest calls)."
            )
    return AuditFilters(
        action=normalize_actions(action),
        actor=None if _blank(actor) else str(actor).strip(),
        entity=None if _blank(entity) else str(entity).strip(),
        page_size=size,
    )
