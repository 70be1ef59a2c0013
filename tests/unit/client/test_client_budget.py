"""The shared request budget against a real redis-server: the Lua script, the pacers, the store's failures.

The GCRA rule has one home per language (``gcra_step`` in Python, the Lua script in Redis): the first
test feeds both the same arrivals and checks they agree. A store that cannot be reached fails the call
with ``SlackAuditLogsBudgetStoreError`` after the retries: the call is never made unpaced.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import redis
from client_helpers import BASE, LOGS, TOKEN, FakeTime, page
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from airflow_provider_slack_audit.client import (
    AsyncSlackAuditLogsClient,
    RequestPacer,
    SlackAuditLogsBudgetStoreError,
    SlackAuditLogsClient,
)
from airflow_provider_slack_audit.client.budget import (
    KEY_PREFIX,
    STORE_RETRIES,
    AsyncSharedRequestPacer,
    SharedRequestPacer,
    budget_key,
    check_rate_limit_key,
    check_storage_uri,
    redact_storage_uri,
    uri_passwords,
)
from airflow_provider_slack_audit.client.budget.script import GCRA_SCRIPT, read_reply, script_arguments
from airflow_provider_slack_audit.client.pacing import gcra_step
from tests.fixtures.redis import RedisServer, running_redis

#: A password with characters a URI must escape: it must be hidden whole, escaped or not.
PASSWORD = "pa#ss/w@rd:" + "9f8e7d6c5b4a"


@pytest.fixture(scope="module")
def shared_redis() -> Iterator[RedisServer]:
    """One server for the tests that only read and write their own keys (hypothesis runs many examples)."""
    with running_redis() as server:
        yield server


def fresh_key(request: pytest.FixtureRequest, suffix: str = "") -> str:
    return KEY_PREFIX + request.node.name + suffix


# --- one rule, two homes ------------------------------------------------------------------------


arrivals = st.lists(st.floats(min_value=0, max_value=5, allow_nan=False).map(lambda g: round(g, 6)), max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    gaps=arrivals,
    rpm=st.sampled_from([1, 7, 30, 50, 120, 600, 3000]),
    burst=st.integers(min_value=1, max_value=5),
)
@example(gaps=[0.0] * 40, rpm=7, burst=1)  # 60/7 s is not whole microseconds: 40 slots back to back
def test_the_lua_script_and_the_in_process_pacer_agree_on_every_arrival_sequence(shared_redis, gaps, rpm, burst):
    """The same arrivals (times in seconds, as both see them) get the same waits from both homes of the rule."""
    client = redis.Redis.from_url(shared_redis.url())
    script = client.register_script(GCRA_SCRIPT)
    key = f"{KEY_PREFIX}agree:{rpm}:{burst}:{hash(tuple(gaps))}"
    client.delete(key)
    time = FakeTime()
    time.now = 1_765_000_000.0  # a unix time: the script's clock is the server's TIME
    interval = round(60 / rpm, 6)  # the script keeps whole microseconds (script_arguments says so)
    # The same interval in both homes: with 60/7 unrounded here, 40 back-to-back slots drift 0.4 us each.
    pacer = RequestPacer(60 / interval, burst=burst, clock=time.clock, sleep=time.sleep)
    try:
        for gap in [0.0, *gaps]:
            time.now = round(time.now + gap, 6)
            in_process = pacer.delay()
            wait, slot = read_reply(script(keys=[key], args=script_arguments(interval, burst, now=time.now)))
            assert wait == pytest.approx(in_process, abs=1e-5)
            assert slot == pytest.approx(time.now + in_process, abs=1e-5)
    finally:
        client.delete(key)
        client.close()


def test_gcra_step_is_the_rule_request_pacer_applies():
    assert gcra_step(None, 10.0, 2.0, 1) == (0.0, 12.0)
    assert gcra_step(12.0, 10.5, 2.0, 1) == (1.5, 14.0)
    assert gcra_step(14.0, 11.0, 2.0, 3) == (0.0, 16.0)  # within the burst: back to back
    assert gcra_step(14.0, 100.0, 2.0, 1) == (0.0, 102.0)  # an idle spell: no credit beyond the burst


def test_the_script_books_on_the_servers_clock_and_its_key_expires_when_idle(shared_redis, request):
    """Two pacers (two machines: neither has a clock of its own here) book slots exactly one interval apart."""
    key = fresh_key(request)
    first = SharedRequestPacer(shared_redis.url(), key, 6)  # 10 s apart
    second = SharedRequestPacer(shared_redis.url(), key, 6)
    try:
        assert first.delay() == 0
        wait = second.delay()
        assert 0 < wait <= 10
        assert second.last_slot - first.last_slot == pytest.approx(10, abs=1e-6)
        client = redis.Redis.from_url(shared_redis.url())
        # The state expires a second after the slot it holds: an idle budget leaves nothing behind.
        assert 0 < client.pttl(key) <= 21_000
        client.close()
    finally:
        first.close()
        second.close()


def test_one_key_is_one_budget_and_another_key_another(shared_redis, request):
    one = [SharedRequestPacer(shared_redis.url(), fresh_key(request, ":org1"), 6) for _ in range(3)]  # 10 s apart
    other = SharedRequestPacer(shared_redis.url(), fresh_key(request, ":org2"), 6)
    try:
        waits = [pacer.delay() for pacer in one]
        assert waits[0] == 0
        assert 0 < waits[1] < waits[2] <= 20
        assert [pacer.last_slot - one[0].last_slot for pacer in one] == pytest.approx([0, 10, 20], abs=1e-6)
        assert other.delay() == 0  # an org of its own: nothing booked on its key
    finally:
        for pacer in [*one, other]:
            pacer.close()


def test_acquire_sleeps_the_wait_the_store_gave(shared_redis, request):
    time = FakeTime()
    pacer = SharedRequestPacer(shared_redis.url(), fresh_key(request), 6, sleep=time.sleep)  # 10 s apart
    try:
        assert pacer.acquire() == 0
        first = pacer.last_slot
        waited = pacer.acquire()
        assert 0 < waited <= 10
        assert pacer.last_slot - first == pytest.approx(10, abs=1e-6)
        assert time.sleeps == [waited]
    finally:
        pacer.close()


# --- settings ---------------------------------------------------------------------------------------


def test_the_default_key_is_a_digest_of_base_url_and_token_never_the_token():
    key = budget_key(None, BASE, TOKEN)
    assert key.startswith(KEY_PREFIX)
    assert len(key) == len(KEY_PREFIX) + 32
    assert TOKEN not in key
    assert "secret" not in key
    assert key == budget_key(None, BASE, TOKEN)
    assert key != budget_key(None, BASE, TOKEN + "x")
    assert key != budget_key(None, "http://127.0.0.1:8080/audit/v1/", TOKEN)
    assert budget_key("E0123ABCD", BASE, TOKEN) == KEY_PREFIX + "E0123ABCD"


@pytest.mark.parametrize("key", ["", "   ", "with space", "x" * 201, 5, "é"])
def test_bad_rate_limit_keys_are_refused(key):
    with pytest.raises(ValueError, match="rate_limit_key must be"):
        check_rate_limit_key(key)


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("http://host:6379/0", "is not a Redis URI"),
        ("host:6379", "is not a Redis URI"),
        ("redis:///0", "names no host"),
        ("redis://host:6379/zero", "must be a whole number"),
        ("redis://host:port/0", "a port that is not a number"),
        ("unix://", "names no socket file"),
        ("", "must be a URI string"),
        (None, "must be a URI string"),
    ],
)
def test_bad_storage_uris_are_refused_saying_what_to_write(uri, problem):
    with pytest.raises(ValueError, match=problem) as err:
        check_storage_uri(uri)
    assert "redis://host:6379/0" in str(err.value)


def test_a_bad_uri_with_a_password_never_shows_it():
    for uri in (f"http://:{PASSWORD}@host/0", f"redis://:{PASSWORD}@/0", f"redis://u:{PASSWORD}@host:6379/x"):
        with pytest.raises(ValueError, match="rate_limit_storage_uri") as err:
            check_storage_uri(uri)
        assert "9f8e7d6c5b4a" not in str(err.value)


def test_the_uri_is_shown_without_its_password():
    assert redact_storage_uri("redis://h:6379/0") == "redis://h:6379/0"
    assert redact_storage_uri(f"redis://:{PASSWORD}@h:6379/0") == "redis://:***@h:6379/0"
    assert redact_storage_uri(f"rediss://user:{quote(PASSWORD, safe='')}@h:6380/2") == "rediss://user:***@h:6380/2"
    assert uri_passwords(f"redis://:{quote(PASSWORD, safe='')}@h/0") == {quote(PASSWORD, safe=""), PASSWORD}
    assert uri_passwords("redis://user@h/0") == set()


def test_a_store_needs_a_rate_and_a_key_needs_a_store():
    with pytest.raises(ValueError, match="requests_per_minute is not set"):
        SlackAuditLogsClient(TOKEN, rate_limit_storage_uri="redis://127.0.0.1:6379/0")
    with pytest.raises(ValueError, match="rate_limit_storage_uri, and that is not set"):
        SlackAuditLogsClient(TOKEN, requests_per_minute=40, rate_limit_key="E0123")
    with pytest.raises(ValueError, match="is not a Redis URI"):
        SlackAuditLogsClient(TOKEN, requests_per_minute=40, rate_limit_storage_uri="memcached://h:11211")


def test_without_a_store_pacing_stays_in_the_process():
    client = SlackAuditLogsClient(TOKEN, requests_per_minute=40)
    assert type(client.pacer) is RequestPacer
    client.close()


# --- the clients draw from it ----------------------------------------------------------------------


def test_the_sync_client_draws_every_call_from_the_shared_budget(shared_redis, requests_mock):
    requests_mock.get(LOGS, json=page([]))
    uri = shared_redis.url()
    time = FakeTime()
    clients = [
        SlackAuditLogsClient(
            TOKEN, requests_per_minute=20, rate_limit_storage_uri=uri, rate_limit_key="E_SYNC", sleep=time.sleep
        )
        for _ in range(2)
    ]
    try:
        assert isinstance(clients[0].pacer, SharedRequestPacer)
        assert clients[0].pacer.key == KEY_PREFIX + "E_SYNC"
        clients[0].logs()
        clients[1].logs()  # another client (another worker): the same budget, so it waits for the next slot
        assert 0 < clients[1].stats.waited_seconds <= 3
        assert clients[1].pacer.last_slot - clients[0].pacer.last_slot == pytest.approx(3, abs=1e-6)
        assert requests_mock.call_count == 2
    finally:
        for client in clients:
            client.close()


def test_the_async_client_draws_from_it_without_blocking_the_event_loop(redis_server, request):
    """While a step waits on the store (paused by CLIENT PAUSE), the loop keeps running other work."""

    async def scenario() -> tuple[int, float]:
        pacer = AsyncSharedRequestPacer(redis_server.url(), fresh_key(request), 600)
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        admin = redis.Redis.from_url(redis_server.url())
        try:
            await pacer.adelay()  # connected, script loaded
            admin.execute_command("CLIENT", "PAUSE", "600", "ALL")
            ticking = asyncio.ensure_future(ticker())
            ticks_before = ticks
            wait = await pacer.adelay()
            done.set()
            await ticking
            return ticks - ticks_before, wait
        finally:
            admin.close()
            await pacer.aclose()

    ticks, wait = asyncio.run(scenario())
    assert ticks >= 5  # the loop ran the ticker while the step was held by the server
    assert wait <= 0.1  # the pause spent the interval: the slot had come by the time it was booked


def test_the_async_client_builds_the_shared_pacer(shared_redis):
    async def scenario() -> AsyncSharedRequestPacer:
        client = AsyncSlackAuditLogsClient(TOKEN, requests_per_minute=40, rate_limit_storage_uri=shared_redis.url())
        async with client:
            return client.pacer

    pacer = asyncio.run(scenario())
    assert isinstance(pacer, AsyncSharedRequestPacer)
    assert pacer.key == budget_key(None, BASE, TOKEN)


# --- a store that fails ------------------------------------------------------------------------------


def chain_text(error: BaseException) -> str:
    """Everything an error shows: its message, repr, traceback, and those of its cause and context."""
    return "".join(traceback.format_exception(error)) + repr(error) + repr(error.__cause__) + repr(error.__context__)


def test_a_store_that_goes_away_fails_the_call_after_the_retries_and_sends_nothing(requests_mock):
    requests_mock.get(LOGS, json=page([]))
    with running_redis(password=PASSWORD) as server:
        uri = server.url()
        time = FakeTime()
        client = SlackAuditLogsClient(TOKEN, requests_per_minute=600, rate_limit_storage_uri=uri, sleep=time.sleep)
        try:
            client.logs()
            server.kill()
            with pytest.raises(SlackAuditLogsBudgetStoreError, match="could not be reached") as err:
                client.logs()
        finally:
            client.close()
    assert requests_mock.call_count == 1  # the second call was never made unpaced
    assert f"after {STORE_RETRIES + 1} attempts" in str(err.value)
    assert len(time.sleeps) == STORE_RETRIES  # the backoff between the attempts (the fake sleep)
    assert err.value.__cause__ is None
    assert err.value.__context__ is None
    text = chain_text(err.value) + repr(client.pacer)
    assert "redis://:***@127.0.0.1" in str(err.value)
    assert PASSWORD not in text
    assert quote(PASSWORD, safe="") not in text
    assert "9f8e7d6c5b4a" not in text


def test_the_async_pacer_fails_the_same_way(redis_server, request):
    async def scenario() -> BaseException:
        pacer = AsyncSharedRequestPacer(redis_server.url(), fresh_key(request), 600)
        try:
            await pacer.adelay()
            redis_server.kill()
            with pytest.raises(SlackAuditLogsBudgetStoreError) as err:
                await pacer.adelay()
            return err.value
        finally:
            await pacer.aclose()

    error = asyncio.run(scenario())
    assert "could not be reached to book a slot" in str(error)
    assert error.__cause__ is None
    assert error.__context__ is None


@pytest.mark.parametrize("given", ["wrong", "none"])
def test_a_wrong_or_missing_password_is_refused_at_once_saying_so(given):
    with running_redis(password=PASSWORD) as server:
        auth = f":{quote('not-' + PASSWORD, safe='')}@" if given == "wrong" else ""
        wrong = f"redis://{auth}127.0.0.1:{server.port}/0"
        time = FakeTime()
        pacer = SharedRequestPacer(wrong, KEY_PREFIX + "auth", 60, sleep=time.sleep)
        try:
            with pytest.raises(SlackAuditLogsBudgetStoreError, match="refused the credentials") as err:
                pacer.delay()
        finally:
            pacer.close()
    assert time.sleeps == []  # retrying cannot fix a password
    assert "9f8e7d6c5b4a" not in chain_text(err.value) + repr(pacer)


def test_check_proves_the_store_or_says_what_is_wrong(request):
    with running_redis() as server:
        pacer = SharedRequestPacer(server.url(), fresh_key(request), 60, sleep=FakeTime().sleep)
        try:
            pacer.check()
            client = redis.Redis.from_url(server.url())
            assert client.script_exists(pacer._script.sha) == [True]  # the script is loaded
            client.close()
            server.kill()
            with pytest.raises(SlackAuditLogsBudgetStoreError, match="could not be reached to answer PING"):
                pacer.check()
        finally:
            pacer.close()


def test_async_check_proves_the_store(redis_server, request):
    async def scenario() -> None:
        pacer = AsyncSharedRequestPacer(redis_server.url(), fresh_key(request), 60)
        try:
            await pacer.acheck()
        finally:
            await pacer.aclose()

    asyncio.run(scenario())
