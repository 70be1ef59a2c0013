"""What the sync and the async shared pacer have in common: the store's URI, the budget's key, the
Redis options, and the typed errors of a store that fails; no I/O.

:meta private:

The URI's password never leaves this module's objects: the pacers show :func:`redact_storage_uri`'s
form in reprs and messages, and every failure is rebuilt as a
:class:`~airflow_provider_slack_audit.client.errors.SlackAuditLogsBudgetStoreError` from the Redis
error's class and text alone (the password taken out too), raised with no cause or context.
"""

from __future__ import annotations

import hashlib
import re
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from airflow_provider_slack_audit.client.errors import SlackAuditLogsBudgetStoreError
from airflow_provider_slack_audit.client.pacing import Pacer

#: The URI schemes redis-py reads: TCP, TLS and a unix socket.
SCHEMES = ("redis", "rediss", "unix")
#: Every budget's key starts with this, so they are easy to find (and to leave alone) in a shared Redis.
KEY_PREFIX = "slack-audit:budget:"
#: Retries of one round trip after a connection error or a timeout (then the call fails, never unpaced).
STORE_RETRIES = 3
#: Their backoff (seconds): doubling from ``STORE_BACKOFF_BASE`` up to ``STORE_BACKOFF_CAP``, plus jitter.
STORE_BACKOFF_BASE = 0.25
STORE_BACKOFF_CAP = 2.0
#: Seconds to connect, and to wait for one answer: a step is one round trip.
STORE_TIMEOUT = 5.0
_KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,200}")
_INSTALL = "pip install 'airflow-provider-slack-audit[redis]'"


def check_storage_uri(uri: Any) -> str:
    """``uri`` stripped, once it is a ``redis://``, ``rediss://`` or ``unix://`` URI redis-py can read.

    Raises:
        ValueError: another scheme, no host, or a database that is not a whole number; the message
            shows the URI without its password.
    """
    if not isinstance(uri, str) or not uri.strip():
        raise ValueError(f"rate_limit_storage_uri must be a URI string like redis://host:6379/0, not {uri!r}.")
    text = uri.strip()
    fix = "Give a URI like redis://host:6379/0 (rediss:// for TLS, unix:///path/to/redis.sock for a socket)."
    shown = redact_storage_uri(text)
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - reading it checks it
    except ValueError:
        raise ValueError(
            f"rate_limit_storage_uri {shown!r} is not a URI: a port that is not a number, or a "
            f"password with #, / or ? not percent-encoded (write %23, %2F, %3F)? {fix}"
        ) from None
    if parts.scheme not in SCHEMES:
        raise ValueError(f"rate_limit_storage_uri {shown!r} is not a Redis URI. {fix}")
    if parts.scheme == "unix" and not parts.path:
        raise ValueError(f"rate_limit_storage_uri {shown!r} names no socket file. {fix}")
    if parts.scheme != "unix":
        if not parts.hostname:
            raise ValueError(f"rate_limit_storage_uri {shown!r} names no host. {fix}")
        database = parts.path.strip("/")
        if database and not database.isdigit():
            raise ValueError(
                f"rate_limit_storage_uri {shown!r}: the database ({database!r}) must be a whole number, e.g. /0. {fix}"
            )
    return text


def redact_storage_uri(uri: str) -> str:
    """``uri`` with its password (if any) replaced by ``***``: what messages, logs and reprs show.

    Read as text, not parsed: everything between ``://`` and the last ``@`` is the user info, so a
    password with characters a URI must escape (``#``, ``/``, ``?``) is hidden whole all the same.
    """
    scheme, sep, rest = uri.partition("://")
    if not sep or "@" not in rest:
        return uri
    userinfo, _, hostpart = rest.rpartition("@")
    if ":" not in userinfo:
        return uri
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{hostpart}"


def uri_passwords(uri: str) -> set[str]:
    """The password in ``uri`` as written and as sent (percent-decoded); empty when there is none.

    For a secrets masker, and to take it out of a text. Read as :func:`redact_storage_uri` reads it.
    """
    _, sep, rest = uri.partition("://")
    userinfo = rest.rpartition("@")[0] if sep else ""
    if ":" not in userinfo:
        return set()
    written = userinfo.split(":", 1)[1]
    return {p for p in (written, unquote(written)) if p}


def check_rate_limit_key(key: Any) -> str:
    """A ``rate_limit_key`` as given: 1 to 200 printable ASCII characters, no spaces (e.g. the org's id).

    Raises:
        ValueError: anything else.
    """
    if not isinstance(key, str) or not _KEY_PATTERN.fullmatch(key.strip()):
        raise ValueError(
            f"rate_limit_key must be 1 to 200 printable ASCII characters without spaces (e.g. the org's id, "
            f"E0123ABCD), not {key!r}."
        )
    return key.strip()


def budget_key(rate_limit_key: str | None, base_url: str, token: str | None) -> str:
    """The Redis key of a budget: ``rate_limit_key`` if given, else a digest of the base URL and the token.

    The default is the first 32 hex digits of ``sha256(base_url + "\\n" + token)``: one budget per
    token and API, and nothing in Redis (nor in a repr) from which the token can be read back. Give
    the org's id as ``rate_limit_key`` to share one budget between connections with different tokens.
    """
    if rate_limit_key is not None:
        return KEY_PREFIX + check_rate_limit_key(rate_limit_key)
    digest = hashlib.sha256(f"{base_url}\n{token or ''}".encode()).hexdigest()[:32]
    return KEY_PREFIX + digest


def check_shared_budget(requests_per_minute: Any, storage_uri: Any, rate_limit_key: Any) -> None:
    """Refuse settings that make no budget: a store without a rate, or a key without a store.

    Raises:
        ValueError: saying which setting to add or remove.
    """
    if storage_uri is not None and requests_per_minute is None:
        raise ValueError(
            "rate_limit_storage_uri keeps a shared budget of requests_per_minute calls a minute, and "
            "requests_per_minute is not set: set it too (e.g. 40, to leave part of Slack's 50 a minute per "
            "organization to the other apps reading the audit logs)."
        )
    if rate_limit_key is not None and storage_uri is None:
        raise ValueError(
            "rate_limit_key names a shared budget, which lives in rate_limit_storage_uri, and that is not set: "
            "set it (e.g. redis://host:6379/0), or remove rate_limit_key to pace each process on its own."
        )


def import_failure() -> ImportError:
    """The error for a storage URI on an installation without redis-py."""
    return ImportError(f"rate_limit_storage_uri needs the redis library: {_INSTALL}.")


class BudgetStore(Pacer):
    """The settings of one shared budget and its messages; the sync and async pacers add the I/O.

    Args:
        storage_uri: the Redis URI (``redis://[[user]:password@]host:port/db``, ``rediss://``, ``unix://``).
        key: the budget's Redis key (see :func:`budget_key`).
        requests_per_minute: the budget: calls are ``60 / requests_per_minute`` seconds apart.
        pacing: ``burst`` and ``sleep``, as :class:`~airflow_provider_slack_audit.client.pacing.Pacer` takes
            them (the async pacer awaits its slots instead of sleeping).
    """

    def __init__(self, storage_uri: str, key: str, requests_per_minute: float, **pacing: Any) -> None:
        super().__init__(requests_per_minute, **pacing)
        self.key = key
        #: Where the budget lives, as messages show it (no password).
        self.store = redact_storage_uri(check_storage_uri(storage_uri))
        #: The URI's password, taken out of any Redis error's text.
        self._secrets = uri_passwords(storage_uri)
        #: The server time (seconds) of the last slot this pacer booked: when its last call could start.
        self.last_slot: float | None = None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(store={self.store!r}, key={self.key!r}, "
            f"requests_per_minute={self.requests_per_minute!r}, burst={self.burst!r})"
        )

    @staticmethod
    def _options(retry_class: Any) -> dict[str, Any]:
        """``from_url`` arguments of the sync and the async Redis client: timeouts, and redis-py's own
        retries off (it does not retry the connect of a pooled connection): :meth:`_retrying` retries."""
        from redis.backoff import NoBackoff

        return {
            "socket_timeout": STORE_TIMEOUT,
            "socket_connect_timeout": STORE_TIMEOUT,
            "retry": retry_class(NoBackoff(), 0),
        }

    @staticmethod
    def _retrying(**overrides: Any) -> dict[str, Any]:
        """tenacity arguments for one round trip: :data:`STORE_RETRIES` retries of a connection error or a
        timeout (not of refused credentials), then the last error is raised.

        Args:
            overrides: more tenacity arguments (``sleep``).
        """
        from redis.exceptions import AuthenticationError, AuthorizationError, ConnectionError, TimeoutError
        from tenacity import retry_if_exception, stop_after_attempt, wait_exponential, wait_random

        def transient(error: BaseException) -> bool:
            refused = isinstance(error, (AuthenticationError, AuthorizationError))
            return isinstance(error, (ConnectionError, TimeoutError)) and not refused

        return {
            "retry": retry_if_exception(transient),
            "stop": stop_after_attempt(STORE_RETRIES + 1),
            "wait": wait_exponential(multiplier=STORE_BACKOFF_BASE, max=STORE_BACKOFF_CAP) + wait_random(0, 0.1),
            "reraise": True,
            **overrides,
        }

    def round_trip(self, doing: str) -> RoundTrip:
        """A :class:`RoundTrip` to the store, for ``doing`` something (``"book a slot"``)."""
        return RoundTrip(self, doing)

    def failure(self, doing: str, error: BaseException) -> SlackAuditLogsBudgetStoreError:
        """The typed error for ``error`` (a Redis error) while ``doing`` something; raise it outside any ``except``
        (as :class:`RoundTrip` does).

        Args:
            doing: what was being done, e.g. ``"book a slot"``.
            error: what redis-py raised; the URI's password is taken out should its text ever carry it.
        """
        import redis
        from redis.exceptions import AuthenticationError, AuthorizationError

        detail = f"{type(error).__name__}: {error}"
        for secret in sorted(self._secrets, key=len, reverse=True):
            detail = detail.replace(secret, "***")
        where = f"The shared request budget's store {self.store} (key {self.key})"
        if isinstance(error, (AuthenticationError, AuthorizationError)) or "NOAUTH" in str(error):
            message = (
                f"{where} refused the credentials while trying to {doing} ({detail}). Check the user and password "
                "in the connection's rate_limit_storage_uri (redis://user:password@host:6379/0)."
            )
        elif isinstance(error, (redis.ConnectionError, redis.TimeoutError)):
            message = (
                f"{where} could not be reached to {doing} after {STORE_RETRIES + 1} attempts ({detail}). No call "
                "was made: a call never goes unpaced. Check that the Redis server is up and that the connection's "
                "rate_limit_storage_uri (host, port, database) points at it."
            )
        else:
            message = (
                f"{where} failed to {doing} ({detail}). Check that rate_limit_storage_uri points at a Redis server "
                "(2.6.12 or newer, scripting allowed) and that nothing else writes to this key."
            )
        return SlackAuditLogsBudgetStoreError(message)


class RoundTrip:
    """Where the pacers talk to the store: a Redis error in the ``with`` block becomes the budget's typed error,
    raised by :meth:`raise_failure` after the block, so outside any ``except``: no Redis error (nor its
    URI) is in the chain, as its cause or its context.

    ``doing`` (what the message says was being done) may change inside the block, step by step.
    """

    def __init__(self, store: BudgetStore, doing: str) -> None:
        self.store = store
        self.doing = doing
        self.failure: SlackAuditLogsBudgetStoreError | None = None

    def __enter__(self) -> RoundTrip:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> bool:
        import redis

        if not isinstance(error, redis.RedisError):
            return False
        self.failure = self.store.failure(self.doing, error)
        return True

    def raise_failure(self) -> None:
        """Raise the typed error of a Redis error the block met; nothing when there was none."""
        if self.failure is not None:
            raise self.failure
