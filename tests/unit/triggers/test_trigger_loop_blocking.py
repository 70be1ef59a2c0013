"""Both triggers' first poll in a fresh triggerer-like process: no first-use work of ours on the event loop.

The triggerer runs every trigger on one shared event loop and warns when a step holds it for more
than 0.2 s. What only the first trigger of a process pays (imports, the TLS trust store) is what it
hits, so each case runs in a new interpreter that has loaded the triggerer's runner module, imports
the trigger class by its classpath (as the triggerer does, on the loop), then runs ``run()`` against
the emulator until its first event (:mod:`tests.fixtures.trigger_probe`). The probe records every
module imported and every TLS trust-store load made on the loop thread during ``run()``: this test
asserts there are none of ours. How long the loop was held is a timing, which depends on the machine's
load: ``bench/trigger_first_poll.py`` prints it against its target (0.1 s, GC passes aside).
"""

from __future__ import annotations

import json
import time

import pytest

from tests.fixtures.dag_runs import AIRFLOW_3
from tests.fixtures.trigger_probe import CASES, run_first_poll


def _airflow_lookup(module: str) -> bool:
    """Imports Airflow itself makes inside ``BaseHook.aget_connection`` (its connection lookup): not ours."""
    return module.startswith("airflow.") or module == "asgiref" or module.startswith("asgiref.")


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_first_poll_in_a_fresh_triggerer_imports_nothing_of_ours_on_the_loop(case, slack_audit_emulator_factory):
    if case == "event_trigger" and not AIRFLOW_3:
        pytest.skip("asset watchers (BaseEventTrigger) need Airflow 3")
    now = int(time.time())
    emulator = slack_audit_emulator_factory(start=now - 3600, end="now", events_per_hour=36_000)
    probe = run_first_poll(case, emulator.airflow_conn_json())
    print(case, json.dumps(probe))  # the figures, for `pytest -s`

    assert probe["count"] >= 1, "the first poll found no event: the probe measured nothing"
    ours = [m for m in probe["imported_on_loop"] if not _airflow_lookup(m)]
    assert ours == [], f"modules first imported on the event loop during the first poll: {ours}"
    assert probe["tls_setup_on_loop"] == [], "the TLS trust store was loaded on the event loop during the first poll"
