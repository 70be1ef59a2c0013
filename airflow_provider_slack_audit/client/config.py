"""Checks of the client's settings and the helpers that keep secrets out of logs; no I/O.

Both transports take their settings through these functions, so a setting means the same, and is
refused with the same message, in the sync and the async client.
"""

from __future__ import annotations

import ipaddress
import math
import os
import platform
import re
import ssl as ssl_module
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import airflow_provider_slack_audit
from airflow_provider_slack_audit.client.validation import isinstance_strict

DIST_NAME = "airflow-provider-slack-audit"
#: Slack's Audit Logs API: the clients' ``base_url`` unless told otherwise (the connection form's placeholder too).
DEFAULT_BASE_URL = "https://api.slack.com/audit/v1/"
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
        raise ValueError(
            "base_url must not hold credentials (user:password@): remove them; the token travels in the "
            "Authorization header only."
        )
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


def user_agent(library: str, prefix: str | None = None, suffix: str | None = None) -> str:
    """``[prefix ]airflow-provider-slack-audit/<version> Python/<v> <library> <OS>/<release>[ suffix]``.

    Args:
        library: the HTTP library and its version, e.g. ``requests/2.32.3``.
        prefix: text before it.
        suffix: text after it.
    """
    core = (
        f"{DIST_NAME}/{airflow_provider_slack_audit.__version__} Python/{platform.python_version()} "
        f"{library} {platform.system()}/{platform.release()}"
    )
    return " ".join(part for part in (prefix, core, suffix) if part)


def proxy_from_env() -> str | None:
    """The first of HTTPS_PROXY, https_proxy, HTTP_PROXY, http_proxy that is set (as slack_sdk reads them)."""
    for name in PROXY_ENV_VARS:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def bypasses_proxy(url: str) -> bool:
    """Whether NO_PROXY (no_proxy) exempts ``url`` from a proxy read from the environment (requests' rules)."""
    import requests.utils

    return bool(requests.utils.should_bypass_proxies(url, no_proxy=None))


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


def check_timeout(timeout: Any) -> float:
    """``timeout`` as seconds > 0 (it bounds a whole call: connect, headers and body)."""
    if not isinstance_strict(timeout, (int, float)) or not 0 < timeout < math.inf:
        raise ValueError(f"timeout must be a number of seconds > 0, not {timeout!r}.")
    return float(timeout)


def check_proxy(proxy: Any) -> tuple[str | None, bool]:
    """The proxy URL to use and whether it came from the environment (then NO_PROXY applies)."""
    if proxy is not None and not isinstance(proxy, str):
        raise TypeError(f"proxy must be a URL string like http://proxy:3128, not {type(proxy).__name__}.")
    if proxy and proxy.strip():
        return proxy.strip(), False
    return proxy_from_env(), True


def check_ssl(ssl: Any) -> ssl_module.SSLContext | bool | str | None:
    """``ssl`` as given, once checked: an ``ssl.SSLContext``, True/False, an existing CA bundle path, or None."""
    if ssl is None or isinstance(ssl, (bool, ssl_module.SSLContext)):
        return ssl
    if isinstance(ssl, str):
        if not os.path.exists(ssl):
            raise ValueError(f"CA bundle {ssl!r} does not exist; give the path of an existing file or directory.")
        return ssl
    raise TypeError(f"ssl must be an ssl.SSLContext, True/False, or the path of a CA bundle, not {type(ssl).__name__}.")


def whole_number(value: Any, name: str) -> int:
    """``value`` checked to a whole number >= 0."""
    if not isinstance_strict(value, int) or value < 0:
        raise ValueError(f"{name} must be a whole number >= 0, not {value!r}.")
    return value
