"""The type check under every numeric argument and setting: ``isinstance``, with a bool never a number.

:meta private:

``bool`` is a subclass of ``int``, so ``isinstance(True, int)`` holds and ``max_retries=True`` or
``poll_interval=True`` would pass as 1. Every check of a count, a number of seconds or a rate in
the package (client, hook, triggers, sensor) goes through :func:`isinstance_strict`. Standard
library only: the client, which imports no Airflow, uses it too.
"""

from __future__ import annotations

from typing import Any


def isinstance_strict(value: Any, kinds: type | tuple[type, ...]) -> bool:
    """``isinstance(value, kinds)``, except that a bool is never an instance of ``int`` (or of anything).

    Args:
        value: the value to check.
        kinds: the accepted type or tuple of types, as for ``isinstance`` (``int`` for whole
            numbers, ``(int, float)`` for seconds, ``numbers.Integral``, ...).

    Returns:
        True when ``value`` is of one of ``kinds`` and is not a bool.
    """
    return isinstance(value, kinds) and not isinstance(value, bool)


__all__ = ["isinstance_strict"]
