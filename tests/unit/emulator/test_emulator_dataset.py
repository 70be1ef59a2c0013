"""The generated data: deterministic, realistic, and cheap at scale."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from emulator_helpers import HOUR, T0

from airflow_provider_slack_audit.emulator import Dataset, DatasetConfig
from airflow_provider_slack_audit.emulator.catalog import ACTION_SPECS, ENTITY_TYPES, KNOWN_ACTIONS

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset()


@pytest.fixture(scope="module")
def day(dataset) -> list[dict]:
    return dataset.events(T0, T0 + 4 * HOUR)


def test_same_seed_same_bytes_other_seed_other_data(dataset):
    again = Dataset(DatasetConfig())
    assert (
        dataset.page(oldest=T0, latest=T0 + 600, limit=None).entries
        == again.page(oldest=T0, latest=T0 + 600, limit=None).entries
    )
    other = Dataset(DatasetConfig(seed=1)).events(T0, T0 + 600)
    assert {e["id"] for e in other}.isdisjoint(e["id"] for e in dataset.events(T0, T0 + 600))


def test_ids_are_unique_and_uuid_shaped(day):
    ids = [e["id"] for e in day]
    assert len(ids) == len(set(ids))
    assert all(UUID.match(i) for i in ids)


def test_volume_is_about_a_thousand_an_hour_with_bursts(dataset):
    week = dataset.count(T0, T0 + 7 * 24 * HOUR - 1)
    assert 0.6 * 168_000 < week < 1.4 * 168_000
    assert max(c for _, c in dataset.seconds(T0 + 7 * 24 * HOUR, T0)) >= 40


def test_action_mix_is_realistic(day):
    actions = Counter(e["action"] for e in day)
    assert set(actions) <= KNOWN_ACTIONS
    assert len(actions) > 40
    assert actions.most_common(1)[0][0] in {"user_login", "file_downloaded"}
    categories = {spec.category for spec in ACTION_SPECS if spec.name in actions}
    assert {"user", "file", "channel", "huddle", "canvas"} <= categories


def test_entity_types_all_appear(dataset):
    rare = [spec.name for spec in ACTION_SPECS if spec.entity_type in {"barrier", "workflow", "role"}][:30]
    sample = dataset.events(T0 - 7 * 24 * HOUR, T0, action=rare)
    types = Counter(e["entity"]["type"] for e in sample)
    common = Counter(e["entity"]["type"] for e in dataset.events(T0, T0 + 4 * HOUR))
    assert set(ENTITY_TYPES) <= set(types) | set(common)
    for entry in sample[:50]:
        assert set(entry["entity"]) == {"type", entry["entity"]["type"]}


def test_context_variants(day):
    sessions = Counter(type(e["context"]["session_id"]).__name__ for e in day)
    assert set(sessions) == {"str", "int", "NoneType"}
    assert all({"location", "ua", "ip_address", "session_id"} <= set(e["context"]) for e in day)
    assert {e["context"]["location"]["type"] for e in day} == {"workspace", "enterprise"}
    assert any(":" in e["context"]["ip_address"] for e in day)
    app_triggered = [e for e in day if "app" in e["context"]]
    assert app_triggered
    assert all(e["context"]["app"]["id"].startswith("A") for e in app_triggered)
    assert {e["actor"]["type"] for e in day} >= {"user"}


def test_actors_include_apps_and_slack_security(dataset):
    sample = dataset.events(
        T0 - 7 * 24 * HOUR,
        T0,
        action="app_deployed,external_auth_oauth2_token_refreshed,user_password_reset_slack_security",
    )
    kinds = {e["actor"]["type"] for e in sample}
    assert kinds == {"app", "user"}
    assert any(e["actor"].get("user", {}).get("id") == "USLACKSECURITY" for e in sample)
    assert all("app" in e["context"] for e in sample if e["actor"]["type"] == "app")


def test_details_strings_arrays_and_unknown_fields(dataset, day):
    bulk = dataset.events(T0 - 4 * 24 * HOUR, T0, action="bulk_session_reset_by_admin,user_added_to_usergroup")
    shapes = {type(e["details"]["succeeded_users"]).__name__ for e in bulk}
    assert shapes == {"list", "str"}
    for entry in bulk:
        users = entry["details"]["succeeded_users"]
        assert isinstance(json.loads(users) if isinstance(users, str) else users, list)
    keys = {k for e in day for k in e["details"]}
    assert {"acting_agent", "client_surface"} <= keys  # newer than any SDK model


def test_filters_select_a_subset_of_the_unfiltered_stream(dataset, day):
    actor = day[0]["actor"]["user"]["id"]
    by_actor = dataset.events(T0, T0 + 4 * HOUR, actor=actor)
    assert by_actor == [e for e in day if e["actor"].get("user", e["actor"].get("app"))["id"] == actor]
    logins = dataset.events(T0, T0 + 4 * HOUR, action="user_login")
    assert logins == [e for e in day if e["action"] == "user_login"]


def test_span_is_respected():
    ds = Dataset(DatasetConfig(start=T0, end=T0 + 99))
    events = ds.events(T0 - HOUR, T0 + HOUR)
    assert events
    assert all(T0 <= e["date_create"] <= T0 + 99 for e in events)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": 1_000_000_000}, "2018-03-15"),
        ({"start": T0, "end": T0 - 1}, "before start"),
        ({"events_per_hour": -1}, "events_per_hour"),
    ],
)
def test_bad_config_says_what_to_change(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DatasetConfig(**kwargs)
