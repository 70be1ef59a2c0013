"""Checks and normalizes the query arguments of ``logs``, before any call is made."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

from airflow_provider_slack_audit.client.errors import SlackAuditLogsArgumentError

#: The API accepts at most this many action names in one query.
MAX_ACTIONS = 30
#: The API's largest page size.
MAX_LIMIT = 9999

TimeBound = int | float | str | None


def epoch_seconds(value: Any, name: str, *, round_up: bool) -> int | None:
    """``value`` as whole unix seconds, or None.

    Accepts an int, a float or a string of digits. A fractional value is rounded towards the inside
    of the inclusive range (``oldest`` up, ``latest`` down), so no event outside it is asked for.

    Args:
        value: the bound as given.
        name: the argument's name, for the message.
        round_up: True for ``oldest`` (round a fraction up), False for ``latest`` (round down).
    """
    if value is None:
        return None
    number: float | int
    if isinstance(value, bool):
        number = math.nan
    elif isinstance(value, numbers.Integral):
        number = int(value)
    elif isinstance(value, numbers.Real):
        number = float(value)
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
    else:
        number = math.nan
    if isinstance(number, float):
        if not math.isfinite(number):
            raise SlackAuditLogsArgumentError(
                f"{name} must be unix seconds as an int, a float or a string of digits "
                f"(e.g. 1700000000), not {value!r}."
            )
        number = math.ceil(number) if round_up else math.floor(number)
    if number < 0:
        raise SlackAuditLogsArgumentError(f"{name} must be unix seconds >= 0, not {value!r}.")
    return number


def check_range(oldest: int | None, latest: int | None) -> None:
    """Refuse ``oldest > latest`` (both are inclusive)."""
    if oldest is not None and latest is not None and oldest > latest:
        raise SlackAuditLogsArgumentError(
            f"oldest ({oldest}) is after latest ({latest}): both bounds are inclusive unix seconds, "
            "pass oldest <= latest."
        )


def page_limit(value: Any) -> int | None:
    """``limit`` checked to a whole number in 1..9999 (a string of digits is accepted), or None."""
    if value is None:
        return None
    number: Any = value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    if isinstance(number, bool) or not isinstance(number, numbers.Integral) or not 1 <= number <= MAX_LIMIT:
        raise SlackAuditLogsArgumentError(
            f"limit must be a whole number from 1 to {MAX_LIMIT} (the page size; {MAX_LIMIT} means fewest "
            f"calls), not {value!r}."
        )
    return int(number)


def action_names(value: str | Iterable[str] | None) -> str | None:
    """``action`` as the API's comma-separated list, checked to at most 30 non-empty names, or None."""
    if value is None:
        return None
    if isinstance(value, str):
        names = [part.strip() for part in value.split(",")]
    elif isinstance(value, Iterable) and not isinstance(value, (bytes, dict)):
        names = []
        for part in value:
            if not isinstance(part, str):
                raise SlackAuditLogsArgumentError(
                    f"action must be a string or a list of strings; {part!r} is not a string."
                )
            names.append(part.strip())
    else:
        raise SlackAuditLogsArgumentError(
            f"action must be a string (comma-separated names) or a list of names, not {type(value).__name__}."
        )
    names = list(dict.fromkeys(n for n in names if n))
    if not names:
        raise SlackAuditLogsArgumentError(
            "action is empty: pass one or more action names (see client.actions()) or None for all actions."
        )
    if len(names) > MAX_ACTIONS:
        raise SlackAuditLogsArgumentError(
            f"action has {len(names)} names; the API accepts at most {MAX_ACTIONS} in one query: "
            "split them over several queries."
        )
    return ",".join(names)


def identifier(value: Any, name: str) -> str | None:
    """``actor`` / ``entity``: a non-empty string id (e.g. ``W123AB456``), or None."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SlackAuditLogsArgumentError(f"{name} must be a non-empty id string (e.g. W123AB456), not {value!r}.")
    return value.strip()


def logs_query(
    *,
    oldest: Any = None,
    latest: Any = None,
    limit: Any = None,
    action: Any = None,
    actor: Any = None,
    entity: Any = None,
) -> dict[str, Any]:
    """The checked ``logs`` query parameters, without the ones that are None."""
    query = {
        "oldest": epoch_seconds(oldest, "oldest", round_up=True),
        "latest": epoch_seconds(latest, "latest", round_up=False),
        "limit": page_limit(limit),
        "action": action_names(action),
        "actor": identifier(actor, "actor"),
        "entity": identifier(entity, "entity"),
    }
    check_range(query["oldest"], query["latest"])
    return {k: v for k, v in query.items() if v is not None}
