"""The HTTP side: base URL checks, the User-Agent, proxies, TLS, the token as auth, redaction."""

from __future__ import annotations

import ipaddress
import os
import platform
import re
import ssl as ssl_module
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

import airflow_provider_slack_audit

DIST_NAME = "airflow-provider-slack-audit"
PROXY_ENV_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")


def check_base_url(base_url: str) -> str:
    """``base_url`` with a trailing slash; https, or http to a loopback host only.

    Raises:
        ValueError: the URL is not https and not http to 127.0.0.0/8, ::1 or localhost.
    """
    if not isinstance(base_url, str) or not base_url.strip():
        raise ValueError(f"base_url must be a URL string like https://api.slack.com/audit/v1/, not {base_url!r}.")
    parts = urlsplit(base_url.strip())
    host = parts.hostname or ""
    scheme = parts.scheme.lower()
    if parts.username or parts.password:
        raise ValueError("base_url must not hold credentials: the token is passed as `token`.")
    if parts.query or parts.fragment:
        raise ValueError(f"base_url must end with the API's path (e.g. /audit/v1/), without ?query or #: {base_url!r}")
    if not host or not (scheme == "https" or (scheme == "http" and is_loopback(host))):
        raise ValueError(
            f"base_url must be https:// (e.g. https://api.slack.com/audit/v1/), or http:// to a loopback host "
            f"(127.0.0.1, ::1, localhost) for a local server; {base_url!r} would send the token unencrypted "
            "or is not a URL."
        )
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((scheme, parts.netloc, path, parts.query, ""))


def is_loopback(host: str) -> bool:
    """True for localhost and any 127.0.0.0/8 or ::1 address."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_token(token: Any) -> str | None:
    """The token with surrounding whitespace removed; refuses characters that cannot go in a header.

    The message never repeats the token.
    """
    if token is None:
        return None
    if not isinstance(token, str):
        raise TypeError(f"token must be a string (an xoxp-... user token), not {type(token).__name__}.")
    token = token.strip()
    if token and not re.fullmatch(r"[\x21-\x7e]+", token):
        raise ValueError(
            "token holds spaces, line breaks or non-ASCII characters: pass the token exactly as Slack shows it "
            "(an xoxp-... user token)."
        )
    return token or None


def user_agent(prefix: str | None = None, suffix: str | None = None) -> str:
    """``[prefix ]airflow-provider-slack-audit/<version> Python/<v> requests/<v> <OS>/<release>[ suffix]``."""
    core = (
        f"{DIST_NAME}/{airflow_provider_slack_audit.__version__} Python/{platform.python_version()} "
        f"requests/{requests.__version__} {platform.system()}/{platform.release()}"
    )
    return " ".join(part for part in (prefix, core, suffix) if part)


def proxy_from_env() -> str | None:
    """The first of HTTPS_PROXY, https_proxy, HTTP_PROXY, http_proxy that is set (as slack_sdk reads them)."""
    for name in PROXY_ENV_VARS:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def redact_url(url: str) -> str:
    """``url`` without its user:password part (for proxy URLs in logs)."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.username or parts.password:
        netloc = f"***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return url


SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


def redacted_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """``headers`` for a log line: Authorization, Proxy-Authorization and Cookie replaced by ``(redacted)``."""
    return {k: "(redacted)" if k.lower() in SECRET_HEADERS else v for k, v in headers.items()}


class BearerAuth(requests.auth.AuthBase):
    """Sets ``Authorization: Bearer <token>`` unless the request already has one; repr hides the token.

    Passing the token as ``auth`` (not as a session header) means requests never replaces it with
    ``.netrc`` credentials, and drops it, as any Authorization header, when a redirect changes host.
    """

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if "Authorization" not in request.headers:
            request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(token=***)"


class SSLContextAdapter(HTTPAdapter):
    """An adapter that makes urllib3 use a given ``ssl.SSLContext`` (what slack_sdk's ``ssl`` takes)."""

    def __init__(self, ssl_context: ssl_module.SSLContext, **kwargs: Any) -> None:
        self._ssl_context = ssl_context
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._ssl_context
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["ssl_context"] = self._ssl_context
        return super().proxy_manager_for(*args, **kwargs)


def build_session(
    *,
    ssl: ssl_module.SSLContext | bool | str | None,
    headers: Mapping[str, str],
    token: str | None,
) -> requests.Session:
    """One keep-alive session: headers, TLS settings and the token as auth.

    Args:
        ssl: an ``ssl.SSLContext``; or what requests takes for ``verify`` (True, False, a CA bundle path).
        headers: headers for every request (User-Agent included).
        token: the token, or None to send no Authorization.
    """
    session = requests.Session()
    session.headers.update(headers)
    if isinstance(ssl, ssl_module.SSLContext):
        session.mount("https://", SSLContextAdapter(ssl))
    elif isinstance(ssl, (bool, str)):
        if isinstance(ssl, str) and not os.path.exists(ssl):
            raise ValueError(f"ssl: CA bundle {ssl!r} does not exist; pass an existing file or directory.")
        session.verify = ssl
    elif ssl is not None:
        raise TypeError(
            f"ssl must be an ssl.SSLContext, True/False, or the path of a CA bundle, not {type(ssl).__name__}."
        )
    if token:
        session.auth = BearerAuth(token)
    return session
