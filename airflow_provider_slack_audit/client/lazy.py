"""Names a package exports but imports only on first use (PEP 562's module ``__getattr__``).

:meta private:

The client package exports both transports and the budget package both shared pacers, yet a worker
needs requests only, the triggerer httpx only, and a client without a shared budget no redis-py:
each of those is imported when its name is first read, then kept in the package like any other.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """The ``__getattr__`` of ``package`` that imports each name of ``homes`` from its module when first read.

    Args:
        package: the exporting package's ``__name__``; a name read once is set on it, so later reads
            do not come back here.
        homes: each lazily exported name -> the module that defines it.

    Returns:
        the function to assign to the package's ``__getattr__``; any other name raises ``AttributeError``.
    """

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
