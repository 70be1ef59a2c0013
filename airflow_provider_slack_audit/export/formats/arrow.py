"""Arrow arrays from the column lists the table mappings build (pyarrow: the ``parquet`` extra).

:meta private:
"""

from __future__ import annotations

import importlib
from itertools import accumulate
from typing import Any

from airflow_provider_slack_audit.export.formats.choice import require_pyarrow

pa = require_pyarrow()
pq = importlib.import_module("pyarrow.parquet")


def text_array(lines: list[Any]) -> Any:
    """A string array of the JSON texts ``lines`` (bytes or buffers), built from one joined buffer: the bytes
    are stored exactly as given (checked to be UTF-8)."""
    offsets = pa.array(list(accumulate(map(len, lines), initial=0)), pa.int64())
    array = pa.LargeStringArray.from_buffers(len(lines), offsets.buffers()[1], pa.py_buffer(b"".join(lines)))
    array.validate(full=True)  # UTF-8, as JSON is: raises on anything else
    return array.cast(pa.string())


def nested_array(kind: Any, path: str, leaves: dict[str, list[Any]], size: int) -> Any:
    """The array of type ``kind`` at ``path`` from ``leaves`` (dotted paths -> values): structs are assembled
    from their fields' arrays; a leaf missing from ``leaves`` is all null."""
    if pa.types.is_struct(kind):
        fields = list(kind)
        children = [nested_array(f.type, f"{path}.{f.name}" if path else f.name, leaves, size) for f in fields]
        return pa.StructArray.from_arrays(children, fields=fields)
    values = leaves.get(path)
    if values is None:
        return pa.nulls(size, kind)
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    return pa.array(values, kind)


def table_of(schema: Any, leaves: dict[str, list[Any]], size: int) -> Any:
    """A table of ``schema`` from ``leaves`` (top-level columns by name, nested ones by dotted path)."""
    return pa.Table.from_arrays([nested_array(f.type, f.name, leaves, size) for f in schema], schema=schema)
