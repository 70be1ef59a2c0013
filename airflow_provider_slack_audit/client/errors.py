"""Typed errors of the Slack Audit Logs client, and the codes and hints their messages are made of.

Every message says what happened and what to change. No message ever contains the token:
they are built from the HTTP status, Slack's error code, the request path and scope names only.
"""

from __future__ import annotations

from typing import Any
from urllib.error import URLError

#: Slack's codes for a token, scope, plan or installation that cannot read audit logs.
AUTH_ERRORS = frozenset(
    {
        "missing_authentication",
        "invalid_authentication",
        "user_not_authorized",
        "team_not_authorized",
        "feature_not_enabled",
        "not_authed",
        "invalid_auth",
        "missing_scope",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "not_allowed_token_type",
    }
)
#: Slack documents ``rate_limited``; the real API has been seen answering ``ratelimited``.
RATE_LIMIT_ERRORS = frozenset({"ratelimited", "rate_limited"})
#: Codes that mean the request itself must change.
BAD_REQUEST_ERRORS = frozenset(
    {
        "invalid_range",
        "invalid_cursor",
        "invalid_action",
        "invalid_workspace",
        "invalid_arguments",
        "invalid_limit",
        "bad_endpoint",
        "method_not_allowed",
    }
)

ACCESS_NEEDED = (
    "The Audit Logs API needs a user token (xoxp-...) of an owner of the Enterprise Grid organization, "
    "with the auditlogs:read scope, from a Slack app installed on the organization (not on a workspace)."
)

AUTH_HINTS = {
    "missing_authentication": "No token was sent.",
    "not_authed": "No token was sent.",
    "invalid_authentication": "Slack rejected the token: it is not an org owner's user token with "
    "auditlogs:read, or it was revoked or rotated.",
    "invalid_auth": "Slack rejected the token (wrong, revoked or rotated token).",
    "token_revoked": "The token was revoked: reinstall the app on the organization and use the new token.",
    "token_expired": "The token expired: refresh it (token rotation) or reinstall the app.",
    "account_inactive": "The token belongs to a deactivated user: use an active org owner's token.",
    "not_allowed_token_type": "This kind of token cannot call the Audit Logs API (bot and app-level tokens "
    "cannot): use the installing org owner's user token (xoxp-).",
    "user_not_authorized": "The user who installed the app is not an owner of the Enterprise organization: "
    "have an org owner (Primary Owner or an Org Owner) install the app and use that user's token.",
    "team_not_authorized": "The app is installed on a workspace, not on the Enterprise organization: "
    "install it at the organization level and use the token that installation gives.",
    "feature_not_enabled": "The Audit Logs API is available only to Enterprise Grid organizations: "
    "this token's organization does not have it.",
    "missing_scope": "The token lacks the auditlogs:read scope: add it to the app's user token scopes "
    "and reinstall the app on the organization.",
}

BAD_REQUEST_HINTS = {
    "invalid_range": "oldest/latest are outside the range Slack can serve: logs start when the "
    "organization enabled audit logs (never before March 2018) and a window must not start in the future; "
    "also check oldest <= latest.",
    "invalid_cursor": "Slack rejected the cursor (expired or malformed): start the query again without "
    "a cursor (iter_pages and iter_logs recover from this on their own).",
    "invalid_action": "An action name is unknown (names are case-sensitive, e.g. user_login): the valid "
    "names come from the actions method, SlackAuditLogsHook().actions() or client.actions() (at most 30, "
    "comma-separated or a list).",
    "invalid_workspace": "The workspace given is not part of this organization.",
    "invalid_arguments": "Slack rejected the query arguments: check limit (1..9999), oldest and latest "
    "(whole unix seconds) and the filters.",
    "invalid_limit": "limit must be a whole number from 1 to 9999.",
    "bad_endpoint": "The endpoint does not exist: the paths are schemas, actions and logs under "
    "https://api.slack.com/audit/v1/; check base_url.",
    "method_not_allowed": "The Audit Logs API only accepts GET.",
}


class SlackAuditLogsError(Exception):
    """A call to the Slack Audit Logs API failed.

    Attributes:
        status_code: the HTTP status of the last answer, or None when there was no answer
            (connection error, timeout) or the request was refused before it was sent.
        error: Slack's error code (``"invalid_cursor"``, ``"ratelimited"``, ...) or None.
        response: the last ``AuditLogsResponse``, or None.
    """

    #: The keyword arguments a pickled copy is rebuilt with, read from the attributes of the same names;
    #: a subclass with more adds its own. The response is left behind.
    _PICKLED: tuple[str, ...] = ("status_code", "error")

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error: str | None = None,
        response: Any = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error = error
        self.response = response

    def __reduce__(self) -> tuple[Any, ...]:
        # Picklable (Airflow may carry exceptions across processes).
        return (_rebuild, (type(self), str(self), {name: getattr(self, name) for name in self._PICKLED}))


def _rebuild(cls: type[SlackAuditLogsError], message: str, fields: dict[str, Any]) -> SlackAuditLogsError:
    """The error ``cls(message, **fields)``: what :meth:`SlackAuditLogsError.__reduce__` pickled."""
    return cls(message, **fields)


class SlackAuditLogsAuthError(SlackAuditLogsError):
    """The token, its scope, the app's installation or the plan cannot read audit logs. Never retried."""


class SlackAuditLogsRateLimitError(SlackAuditLogsError):
    """Slack kept answering "rate limited" (HTTP 429) after every retry."""


class SlackAuditLogsBadRequestError(SlackAuditLogsError):
    """The request must change: bad range, cursor, action, limit or other argument."""


class SlackAuditLogsArgumentError(SlackAuditLogsBadRequestError, ValueError):
    """An argument was refused by the client before any call was made."""


class SlackAuditLogsServerError(SlackAuditLogsError):
    """Slack failed: 5xx, connection errors, read timeouts, or cut or non-JSON bodies, after the retries."""


class SlackAuditLogsBudgetStoreError(SlackAuditLogsError):
    """The shared request budget's store (``rate_limit_storage_uri``) failed, after its retries.

    Raised instead of making the call: a call is never sent unpaced. The message names the store
    (without its password) and what went wrong; the error has no cause or context to leak it.
    """


class SlackAuditLogsEntryError(SlackAuditLogsError):
    """Slack sent an entry that cannot be written once as it came: not JSON, not an object, not UTF-8, or
    without a usable id. Not retried (Slack serves the same entry again); the message names the entry.

    Attributes:
        page: the page of the walk it was in (1 for the first), or None outside a walk.
        index: its position in the page's ``entries`` (0 for the first).
        offset: the byte of the body it starts at, or None when unknown.
        problem: what is wrong with it, in words.
        excerpt: the start of the entry, escaped and cut short (never the whole body).
    """

    _PICKLED = (*SlackAuditLogsError._PICKLED, "page", "index", "offset", "problem", "excerpt")

    def __init__(
        self,
        message: str,
        *,
        page: int | None = None,
        index: int | None = None,
        offset: int | None = None,
        problem: str | None = None,
        excerpt: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.page = page
        self.index = index
        self.offset = offset
        self.problem = problem
        self.excerpt = excerpt


class SlackAuditLogsConnectionError(SlackAuditLogsServerError, URLError):
    """No answer came after the retries: the connection failed, was reset or cut, or timed out.

    Also a ``urllib.error.URLError`` (and so an ``OSError``), as slack_sdk's clients raise, so code
    that catches those around slack_sdk calls keeps working. ``reason`` is the transport's own error
    (``ConnectionRefusedError``, ``RemoteDisconnected``, ``TimeoutError``, ...), rebuilt from its
    arguments alone: it holds no request, header or token, and has no traceback.

    Attributes:
        reason: the transport error (as urllib's ``URLError.reason``).
        attempts: how many attempts were made.
    """

    def __init__(self, message: str, *, reason: BaseException | str | None = None, attempts: int = 1, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.reason = reason if reason is not None else message
        self.attempts = attempts

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""
