from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_slack_audit.query import AuditFilters, normalize_actions, validate_filters


def test_actions_from_string_or_list_are_deduplicated_in_order():
    assert normalize_actions("user_login, file_downloaded,user_login") == ("user_login", "file_downloaded")
    assert normalize_actions(["a", " b ", ""]) == ("a", "b")
    assert normalize_actions("") is None
    assert normalize_actions([]) is None


def test_thirty_one_actions_are_refused_before_any_call():
    assert len(normalize_actions([f"a{i}" for i in range(30)])) == 30
    with pytest.raises(AirflowFailException, match="at most 30"):
        normalize_actions([f"a{i}" for i in range(31)])


@pytest.mark.parametrize("size", [0, 10000, -1, "abc", True, 1.5])
def test_page_size_out_of_range_is_refused(size):
    with pytest.raises(AirflowFailException, match="from 1 to 9999"):
        validate_filters(page_size=size)


def test_filters_normalised():
    assert validate_filters("user_login", " W123 ", "", "200") == AuditFilters(("user_login",), "W123", None, 200)
    assert validate_filters() == AuditFilters()
