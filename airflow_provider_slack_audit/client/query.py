"""The query of a ``logs`` range: one frozen value, checked once when it is made.

A :class:`LogsQuery` is built once (by the task, the hook or the client, from whatever the user gave)
and passed as it is down to the page walk: nothing below re-parses or re-checks it.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from typing import Any

from airflow_provider_slack_audit.client.errors import SlackAuditLogsArgumentError
from airflow_provider_slack_audit.client.validation import isinstance_strict

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
    if not isinstance_strict(number, numbers.Integral) or not 1 <= number <= MAX_LIMIT:
        raise SlackAuditLogsArgumentError(
            f"limit (page_size in the operators and the sensor) must be a whole number from 1 to {MAX_LIMIT}, "
            f"not {value!r}. Leave it unset for {MAX_LIMIT} (fewest calls)."
        )
    return int(number)


def action_names(value: str | Iterable[str] | None) -> tuple[str, ...] | None:
    """``action`` as a tuple of at most 30 distinct non-empty names, or None."""
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
            f"action lists {len(names)} action names; the API accepts at most {MAX_ACTIONS} in one query. Split "
            f"them across queries or tasks (at most {MAX_ACTIONS} each), or drop the filter and select downstream."
        )
    return tuple(names)


def known_actions(body: Any) -> frozenset[str] | None:
    """The action names in a body of the API's ``actions`` method (``{"actions": {category: [names]}}``),
    or None when the body is not of that form (categories grow over time: any category is read)."""
    categories = body.get("actions") if isinstance(body, dict) else None
    if not isinstance(categories, dict):
        return None
    names = {n for group in categories.values() if isinstance(group, list) for n in group if isinstance(n, str)}
    return frozenset(names) or None


def check_actions(names: tuple[str, ...] | None, known: Collection[str] | None) -> None:
    """Refuse action names the API does not know, naming each with the nearest known ones.

    The one home of the rule: the clients call it before a ``logs`` call with the names from the
    ``actions`` method (``known``); with ``known`` None (the list could not be read) nothing is checked
    and Slack's own ``invalid_action`` answer is what the user sees.

    :raises SlackAuditLogsArgumentError: with ``error="invalid_action"``.
    """
    if not names or not known:
        return
    unknown = [name for name in names if name not in known]
    if not unknown:
        return
    choices = sorted(known)
    parts = []
    for name in unknown:
        near = difflib.get_close_matches(name, choices, n=3, cutoff=0.6)
        parts.append(f"{name!r} (nearest: {', '.join(near)})" if near else f"{name!r} (no close match)")
    raise SlackAuditLogsArgumentError(
        f"action names {'an unknown action' if len(unknown) == 1 else f'{len(unknown)} unknown actions'}: "
        f"{'; '.join(parts)}. Slack refuses such a query (invalid_action). Names are case-sensitive; the valid "
        "ones come from the actions method (client.actions() or SlackAuditLogsHook().actions()).",
        error="invalid_action",
    )


def identifier(value: Any, name: str) -> str | None:
    """``actor`` / ``entity``: a non-empty string id (e.g. ``W123AB456``), or None."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SlackAuditLogsArgumentError(f"{name} must be a non-empty id string (e.g. W123AB456), not {value!r}.")
    return value.strip()


@dataclass(frozen=True)
class LogsQuery:
    """What to read from ``logs``: the inclusive bounds, the filters and the page size, checked.

    Built with the arguments as a user gives them; each is checked and normalized once, here
    (a bad one raises :class:`SlackAuditLogsArgumentError`, a ``ValueError``, that says what to change).

    Attributes:
        oldest: oldest ``date_create`` to include, whole unix seconds (a fraction rounds up), or None.
        latest: newest ``date_create`` to include, whole unix seconds (a fraction rounds down), or None.
        action: the action names (at most 30, duplicates dropped), from a comma-separated string or a
            list, or None for every action.
        actor: id of the user who acted, or None.
        entity: id of the target (user, channel, file, workspace, ...), or None.
        limit: page size, 1..9999, or None to let the caller choose (the walks use 9999: fewest calls).
    """

    oldest: int | None = None
    latest: int | None = None
    action: tuple[str, ...] | None = None
    actor: str | None = None
    entity: str | None = None
    limit: int | None = None

    def __post_init__(self) -> None:
        checked = {
            "oldest": epoch_seconds(self.oldest, "oldest", round_up=True),
            "latest": epoch_seconds(self.latest, "latest", round_up=False),
            "action": action_names(self.action),
            "actor": identifier(self.actor, "actor"),
            "entity": identifier(self.entity, "entity"),
            "limit": page_limit(self.limit),
        }
        check_range(checked["oldest"], checked["latest"])
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    def params(self, *, default_limit: int | None = None) -> dict[str, Any]:
        """The API's query parameters (``action`` comma-separated), without the unset ones.

        Args:
            default_limit: the page size to send when :attr:`limit` is None.
        """
        params = {
            "oldest": self.oldest,
            "latest": self.latest,
            "limit": self.limit if self.limit is not None else default_limit,
            "action": ",".join(self.action) if self.action else None,
            "actor": self.actor,
            "entity": self.entity,
        }
        return {k: v for k, v in params.items() if v is not None}

    def up_to(self, latest: int) -> LogsQuery:
        """The same query with ``latest`` moved to ``latest`` (a walk restarting after a rejected cursor)."""
        return replace(self, latest=latest)
