"""The one numeric type check (a bool is never a number) and the one default base URL."""

from __future__ import annotations

import numbers

import pytest

from airflow_provider_slack_audit.client.validation import isinstance_strict


@pytest.mark.parametrize(
    ("value", "kinds", "expected"),
    [
        (1, int, True),
        (1.5, (int, float), True),
        (7, numbers.Integral, True),
        ("30", (int, float, str), True),
        (True, int, False),
        (False, (int, float), False),
        (True, numbers.Integral, False),
        (1.0, int, False),
        (None, (int, float), False),
        ("30", (int, float), False),
    ],
)
def test_isinstance_strict_is_isinstance_with_a_bool_never_a_number(value, kinds, expected):
    assert isinstance_strict(value, kinds) is expected


def test_the_default_base_url_has_one_definition():
    from airflow_provider_slack_audit.client.config import DEFAULT_BASE_URL
    from airflow_provider_slack_audit.client.core import ClientCore
    from airflow_provider_slack_audit.hooks.connection_extras import EXTRA_FIELDS

    base_url_field = next(f for f in EXTRA_FIELDS if f.name == "base_url")
    assert ClientCore.BASE_URL is DEFAULT_BASE_URL
    assert base_url_field.placeholder is DEFAULT_BASE_URL
    assert f"Empty: {DEFAULT_BASE_URL}." in base_url_field.description
