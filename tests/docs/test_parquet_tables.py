"""The Parquet guide's tables are the code's: the flat schema's columns and the OCSF mapping, row for row.

``docs/howto/parquet.rst`` writes them out as ``csv-table`` directives (named ``flat-schema`` and
``ocsf-mapping``); this test renders the code's tables the same way and compares, so neither can change
alone. It also gives the guide's DuckDB query to the end-to-end test that runs it.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from airflow_provider_slack_audit.export.formats.flat import COLUMNS
from airflow_provider_slack_audit.export.formats.ocsf import (
    ACTION_CLASSES,
    ACTIVITIES,
    CLASSES,
    FALLBACK,
    SEVERITIES,
    STATUSES,
)

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "howto" / "parquet.rst"


def directive_body(name: str) -> list[str]:
    """The content lines of the directive with ``:name: <name>`` in the guide (options and blank lines left out)."""
    lines = GUIDE.read_text().splitlines()
    (start,) = [i for i, line in enumerate(lines) if line.strip() == f":name: {name}"]
    body = []
    for line in lines[start + 1 :]:
        if line and not line.startswith("   "):
            break
        if line.strip() and not line.strip().startswith(":"):
            body.append(line[3:])
    return body


def csv_rows(name: str) -> list[list[str]]:
    return [[cell.strip() for cell in row] for row in csv.reader(directive_body(name), skipinitialspace=True)]


def test_the_guides_flat_schema_is_the_codes():
    assert csv_rows("flat-schema") == [[c.name, c.type, c.source] for c in COLUMNS]


def test_the_guides_ocsf_mapping_is_the_codes():
    expected = [
        [
            action,
            f"{m.class_uid} {CLASSES[m.class_uid][0]}",
            f"{m.activity_id} {ACTIVITIES[(m.class_uid, m.activity_id)]}",
            str(m.class_uid * 100 + m.activity_id),
            STATUSES[m.status_id] if m.status_id else "-",
            SEVERITIES[m.severity_id],
        ]
        for action, m in ACTION_CLASSES.items()
    ]
    assert csv_rows("ocsf-mapping") == expected


def test_the_guide_names_the_fallback_as_the_code_does():
    text = re.sub(r"\s+", " ", GUIDE.read_text())
    assert f"API Activity ({FALLBACK.class_uid}), activity Other ({FALLBACK.activity_id})" in text
    assert f"``type_uid`` {FALLBACK.class_uid * 100 + FALLBACK.activity_id}" in text


def duckdb_query() -> str:
    """The guide's DuckDB query (``tests/e2e/test_export_parquet.py`` runs it on an export)."""
    return "\n".join(directive_body("duckdb-hourly-counts"))
