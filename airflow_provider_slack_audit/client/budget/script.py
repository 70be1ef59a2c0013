"""The GCRA step in Lua, run by the store in one atomic step per call: the rule's one home outside Python.

:meta private:

The same rule as :func:`~airflow_provider_slack_audit.client.pacing.gcra_step` (a test feeds both the
same arrivals and checks they agree), in whole microseconds so that Lua's numbers (doubles) hold
every value exactly. The clock is the server's ``TIME``: processes on machines whose clocks differ
book their slots on one schedule. The key expires once its state no longer matters (the slot it
holds is in the past), so an idle budget leaves nothing behind.
"""

from __future__ import annotations

from typing import Any

#: KEYS[1]: the budget's key. ARGV[1]: the interval in whole microseconds; ARGV[2]: the burst; ARGV[3]:
#: "now" in microseconds, or "" for the server's TIME (only tests give one). Returns {wait, slot} in
#: microseconds: how long the call waits, and when (server time) it may start.
GCRA_SCRIPT = """
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if now == nil then
  if redis.replicate_commands then redis.replicate_commands() end
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000000 + tonumber(time[2])
end
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local wait = tat - (burst - 1) * interval - now
if wait < 0 then wait = 0 end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.floor((next_tat - now) / 1000) + 1000)
return {wait, now + wait}
"""

_MICROS = 1_000_000


def script_arguments(interval: float, burst: int, now: float | None = None) -> list[Any]:
    """The script's ``ARGV`` for one step.

    Args:
        interval: the spacing of calls in seconds (``60 / requests_per_minute``), rounded to whole
            microseconds (a microsecond a call at most: half a second over a year of 50 calls a minute).
        burst: how many calls may start back to back after an idle spell.
        now: the time of the step in seconds; None (always, outside tests): the server's ``TIME``.
    """
    return [round(interval * _MICROS), burst, "" if now is None else round(now * _MICROS)]


def read_reply(reply: Any) -> tuple[float, float]:
    """``(wait, slot)`` in seconds from the script's reply: the wait, and the server time of the slot."""
    wait, slot = reply
    return int(wait) / _MICROS, int(slot) / _MICROS
