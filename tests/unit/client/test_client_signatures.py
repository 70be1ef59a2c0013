"""The drop-in claim, checked: our clients' constructors and slack_sdk's methods have slack_sdk's signatures.

slack_sdk's parameters come first, by the same names, kinds, defaults and order (a positional call
means the same); ours follow, keyword-only. Compared against the slack_sdk installed in the venv.
"""

from __future__ import annotations

import inspect
import random

import pytest

from airflow_provider_slack_audit.client import AsyncSlackAuditLogsClient, SlackAuditLogsClient

audit_logs = pytest.importorskip("slack_sdk.audit_logs")
async_audit_logs = pytest.importorskip("slack_sdk.audit_logs.async_client")  # needs aiohttp

PAIRS = [
    pytest.param(SlackAuditLogsClient, audit_logs.AuditLogsClient, id="sync"),
    pytest.param(AsyncSlackAuditLogsClient, async_audit_logs.AsyncAuditLogsClient, id="async"),
]
METHODS = ["schemas", "actions", "logs", "api_call"]


def _shape(function) -> list[tuple[str, inspect._ParameterKind, object]]:
    """Each parameter's name, kind and default, in order (annotations differ by transport: not compared)."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


@pytest.mark.parametrize(("ours", "theirs"), PAIRS)
def test_the_constructor_starts_with_slack_sdks_parameters(ours, theirs):
    expected = _shape(theirs.__init__)
    got = _shape(ours.__init__)
    assert got[: len(expected)] == expected
    # ours follow by name only (keyword-only, or the async client's **options for the core's): a positional call
    # cannot reach them
    by_name = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.VAR_KEYWORD)
    assert all(kind in by_name for _, kind, _ in got[len(expected) :])


@pytest.mark.parametrize(("ours", "theirs"), PAIRS)
@pytest.mark.parametrize("method", METHODS)
def test_the_methods_have_slack_sdks_parameters(ours, theirs, method):
    assert _shape(getattr(ours, method)) == _shape(getattr(theirs, method))


@pytest.mark.parametrize(("ours", "theirs"), PAIRS)
def test_a_positional_call_binds_as_in_slack_sdk(ours, theirs):
    values = tuple(f"v{i}" for i in range(len(inspect.signature(theirs.__init__).parameters) - 1))
    expected = inspect.signature(theirs.__init__).bind(None, *values).arguments
    got = inspect.signature(ours.__init__).bind(None, *values).arguments
    assert got == expected


def test_both_clients_take_the_same_options_beyond_slack_sdk():
    """The async client hands its options to the core: each keyword-only option of the sync client, given to
    both, leaves both in the same state; an unknown one is refused by both."""
    options = {
        "max_retries": 2, "max_retry_wait": 3.0, "max_total_wait": 9.0, "requests_per_minute": 120.0,
        "max_cursor_restarts": 1, "max_body_bytes": 1_000_000, "sleep": lambda s: None, "clock": lambda: 0.0,
        "wall_clock": lambda: 0.0, "rng": random.Random(1),
        "rate_limit_storage_uri": "redis://127.0.0.1:6379/0", "rate_limit_key": "E0123",  # nothing connects yet
    }  # fmt: skip
    keyword_only = [
        p.name
        for p in inspect.signature(SlackAuditLogsClient.__init__).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    assert sorted(keyword_only) == sorted(options)  # a new option: add it here
    sync, asynchronous = SlackAuditLogsClient("xoxp-1", **options), AsyncSlackAuditLogsClient("xoxp-1", **options)
    state = ("max_body_bytes", "max_cursor_restarts", "retry_settings", "_sleep", "_clock", "_wall_clock", "_rng")
    assert [getattr(asynchronous, name) for name in state] == [getattr(sync, name) for name in state]
    assert asynchronous.pacer.interval == sync.pacer.interval
    assert (asynchronous.pacer.key, asynchronous.pacer.store) == (sync.pacer.key, sync.pacer.store)
    for client in (SlackAuditLogsClient, AsyncSlackAuditLogsClient):
        with pytest.raises(TypeError, match="max_retires"):
            client("xoxp-1", max_retires=2)


def test_the_async_clients_methods_return_awaitables_as_slack_sdks_coroutines_do():
    assert all(inspect.iscoroutinefunction(getattr(async_audit_logs.AsyncAuditLogsClient, m)) for m in METHODS)
    client = AsyncSlackAuditLogsClient(None)
    for method in METHODS:
        call = getattr(client, method)(path="schemas") if method == "api_call" else getattr(client, method)()
        assert inspect.isawaitable(call)
        call.close()  # never sent
