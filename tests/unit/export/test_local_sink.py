"""The local sink: what a successful commit leaves beside its target."""

from __future__ import annotations

import os
import re
import time

from airflow_provider_slack_audit.export.local_sink import temporary_name_pattern
from tests.unit.export.storage_helpers import BIG, export, writer_for


def test_a_successful_local_export_removes_stale_temporaries_of_its_target_only(tmp_path):
    old = time.time() - 2 * 24 * 3600
    stale = tmp_path / ".out.jsonl.0123456789ab.partial"  # a killed run's, two days old
    other_target = tmp_path / ".other.jsonl.0123456789ab.partial"  # another target's
    not_ours = tmp_path / ".out.jsonl.backup"  # a name we never make
    for path in (stale, other_target, not_ours):
        path.write_bytes(b"partial")
        os.utime(path, (old, old))
    live = writer_for(f"file://{tmp_path}/out.jsonl").open()  # a concurrent run, still writing
    live.write_page(BIG[:10])

    export(f"file://{tmp_path}/out.jsonl", events=BIG[:100])

    names = sorted(os.listdir(tmp_path))
    assert stale.name not in names
    assert {other_target.name, not_ours.name, "out.jsonl"} <= set(names)
    assert len([n for n in names if n.startswith(".out.jsonl.") and n.endswith(".partial")]) == 1  # the live one
    live.commit()  # the live run is unharmed
    assert (tmp_path / "out.jsonl").read_bytes().count(b"\n") == 10


def test_the_temporary_names_are_of_their_target_only():
    pattern = temporary_name_pattern("out.jsonl")
    assert pattern.fullmatch(".out.jsonl.0123456789ab.partial")
    assert not pattern.fullmatch(".out.jsonl.backup")
    assert not pattern.fullmatch(".other.jsonl.0123456789ab.partial")
    assert not pattern.fullmatch(".outXjsonl.0123456789ab.partial")  # the dot is a dot, not any character
    assert re.escape("out.jsonl") in pattern.pattern
