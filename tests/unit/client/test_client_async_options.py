"""slack_sdk's AsyncAuditLogsClient-only arguments on our httpx transport: session, trust_env_in_session, auth."""

from __future__ import annotations

import asyncio
import base64

import httpx
import pytest
from client_helpers import BASE, TOKEN

from airflow_provider_slack_audit.client import AsyncSlackAuditLogsClient, SlackAuditLogsConnectionError

PROXY_VARS = [f"{name}_PROXY" for name in ("HTTPS", "HTTP", "ALL", "NO")]
PROXY_VARS += [name.lower() for name in PROXY_VARS]
#: A loopback address nothing listens on: a request sent there directly is refused at once.
NOWHERE = "http://127.0.0.2:9/audit/v1/"


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch):
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


def _recording(seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"schemas": []})

    return httpx.MockTransport(handler)


def _schemas(client: AsyncSlackAuditLogsClient) -> int:
    async def go() -> int:
        async with client:
            return (await client.schemas()).status_code

    return asyncio.run(go())


# --- session ---------------------------------------------------------------------------------------


def test_an_httpx_session_sends_the_requests_and_stays_open():
    seen: list[httpx.Request] = []

    async def go() -> None:
        session = httpx.AsyncClient(transport=_recording(seen))
        async with AsyncSlackAuditLogsClient(TOKEN, session=session, base_url=BASE) as client:
            assert client.session is session
            await client.schemas()
        await client.aclose()
        assert not session.is_closed  # the caller's to close
        await session.get(BASE + "schemas")  # still usable
        await session.aclose()

    asyncio.run(go())
    request = seen[0]
    assert str(request.url) == BASE + "schemas"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"].startswith("airflow-provider-slack-audit/")
    assert "Authorization" not in seen[1].headers  # the token went with our requests only


def test_our_own_pool_is_closed_with_the_client():
    client = AsyncSlackAuditLogsClient(TOKEN, session=None)
    asyncio.run(client.aclose())
    assert client._http.is_closed


@pytest.mark.parametrize("session", [object(), "http://proxy:3128", httpx.Client()], ids=type)
def test_a_session_that_is_not_an_httpx_async_client_is_refused(session):
    with pytest.raises(TypeError, match=r"runs on httpx, not aiohttp\. Pass an httpx\.AsyncClient") as info:
        AsyncSlackAuditLogsClient(TOKEN, session=session)
    assert TOKEN not in str(info.value)


def test_an_aiohttp_session_is_refused_with_what_to_pass_instead():
    aiohttp = pytest.importorskip("aiohttp")

    async def go() -> None:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(TypeError, match=r"not aiohttp\.client\.ClientSession: this client runs on httpx"):
                AsyncSlackAuditLogsClient(TOKEN, None, None, None, BASE, session)

    asyncio.run(go())


@pytest.mark.parametrize("setting", [{"proxy": "http://proxy.example:3128"}, {"ssl": False}])
def test_proxy_and_ssl_go_to_the_session_passed_not_to_the_client(setting):
    async def go() -> None:
        async with httpx.AsyncClient() as session:
            with pytest.raises(ValueError, match=r"give them to it instead, httpx\.AsyncClient\(proxy=\.\.\., verify"):
                AsyncSlackAuditLogsClient(TOKEN, session=session, **setting)

    asyncio.run(go())


def test_an_environment_proxy_is_left_to_the_session(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy.example:3128")
    seen: list[httpx.Request] = []

    async def go() -> None:
        session = httpx.AsyncClient(transport=_recording(seen))
        async with session, AsyncSlackAuditLogsClient(TOKEN, session=session, base_url=BASE) as client:
            await client.schemas()

    asyncio.run(go())
    assert len(seen) == 1


# --- trust_env_in_session: who reads the proxy from the environment -------------------------------


def test_by_default_an_environment_proxy_is_applied_as_the_sync_client_applies_it(loopback, monkeypatch):
    # The first of HTTPS_PROXY, https_proxy, HTTP_PROXY, http_proxy, for every request (http ones too).
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{loopback.port}")
    client = AsyncSlackAuditLogsClient(TOKEN, base_url=NOWHERE)
    assert client.trust_env_in_session is False
    assert not client._http.trust_env  # httpx reads nothing else from the environment either
    assert _schemas(client) == 200
    assert loopback.seen[0].path == NOWHERE + "schemas"  # an absolute URL: the loopback server was the proxy


def test_by_default_no_proxy_is_respected(loopback, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert _schemas(AsyncSlackAuditLogsClient(TOKEN, base_url=loopback.base_url)) == 200
    assert loopback.seen[0].path == "/audit/v1/schemas"  # sent directly


def test_by_default_httpx_own_proxy_variables_are_not_read(loopback, monkeypatch):
    monkeypatch.setenv("ALL_PROXY", f"http://127.0.0.1:{loopback.port}")  # httpx reads it; slack_sdk, requests don't
    with pytest.raises(SlackAuditLogsConnectionError):
        _schemas(AsyncSlackAuditLogsClient(TOKEN, base_url=NOWHERE, max_retries=0))
    assert loopback.seen == []


def test_trust_env_in_session_lets_httpx_read_the_environment(loopback, monkeypatch):
    monkeypatch.setenv("ALL_PROXY", f"http://127.0.0.1:{loopback.port}")
    client = AsyncSlackAuditLogsClient(TOKEN, base_url=NOWHERE, trust_env_in_session=True)
    assert client._http.trust_env
    assert _schemas(client) == 200
    assert loopback.seen[0].path == NOWHERE + "schemas"


def test_an_explicit_proxy_wins_over_the_environment_with_trust_env_in_session(loopback, monkeypatch):
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")  # nothing listens there
    client = AsyncSlackAuditLogsClient(
        TOKEN, base_url=NOWHERE, proxy=f"http://127.0.0.1:{loopback.port}", trust_env_in_session=True
    )
    assert _schemas(client) == 200
    assert loopback.seen[0].path == NOWHERE + "schemas"


@pytest.mark.parametrize("value", [1, "yes", None])
def test_trust_env_in_session_is_a_bool(value):
    with pytest.raises(TypeError, match="trust_env_in_session must be True or False"):
        AsyncSlackAuditLogsClient(TOKEN, trust_env_in_session=value)


# --- auth ------------------------------------------------------------------------------------------


def _basic(user: bytes, password: bytes) -> str:
    return "Basic " + base64.b64encode(user + b":" + password).decode()


def _sent_with(auth, **kwargs) -> httpx.Request:
    seen: list[httpx.Request] = []

    async def go() -> None:
        session = httpx.AsyncClient(transport=_recording(seen))
        async with session, AsyncSlackAuditLogsClient(None, session=session, base_url=BASE, auth=auth, **kwargs) as c:
            await c.schemas()

    asyncio.run(go())
    return seen[0]


def test_httpx_basic_auth_is_sent_with_every_request():
    auth = httpx.BasicAuth("gateway", "pässword")
    assert _sent_with(auth).headers["Authorization"] == _basic(b"gateway", "pässword".encode())


@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
def test_aiohttp_basic_auth_is_converted_with_its_encoding():
    aiohttp = pytest.importorskip("aiohttp")
    auth = aiohttp.BasicAuth("gateway", "pässword")  # latin1, aiohttp's default
    assert _sent_with(auth).headers["Authorization"] == auth.encode() == _basic(b"gateway", "pässword".encode("latin1"))


def test_basic_auth_on_our_own_pool(monkeypatch):
    seen: list[httpx.Request] = []
    client = AsyncSlackAuditLogsClient(None, base_url=BASE, auth=httpx.BasicAuth("u", "p"))
    asyncio.run(client.aclose())
    client._http = httpx.AsyncClient(transport=_recording(seen))
    _schemas(client)
    assert seen[0].headers["Authorization"] == _basic(b"u", b"p")


@pytest.mark.parametrize("auth", [("u", "p"), "u:p", {"login": "u"}], ids=type)
def test_other_auth_is_refused_naming_what_is_accepted(auth):
    with pytest.raises(TypeError, match=r"auth must be an httpx\.BasicAuth \(or an aiohttp\.BasicAuth, converted\)"):
        AsyncSlackAuditLogsClient(None, auth=auth)


def test_basic_auth_and_a_token_are_not_combined():
    with pytest.raises(ValueError, match="both set the Authorization header") as info:
        AsyncSlackAuditLogsClient(TOKEN, auth=httpx.BasicAuth("u", "p"))
    assert TOKEN not in str(info.value)


def test_the_new_settings_keep_the_token_out_of_reprs():
    async def go() -> None:
        async with httpx.AsyncClient() as session:
            client = AsyncSlackAuditLogsClient(TOKEN, session=session, trust_env_in_session=True)
            assert TOKEN not in repr(client)
            assert TOKEN not in repr(vars(client).get("auth"))

    asyncio.run(go())
