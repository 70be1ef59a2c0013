"""Arrow arrays from the column lists the table mappings build (pyarrow: the ``parquet`` extra).

:meta private:
"""

from __future__ import annotations

import importlib
from itertools import accumulate
from typing import Any

import msgspec

from airflow_provider_slack_audit.export.formats.choice import require_pyarrow

pa = require_pyarrow()
pq = importlib.import_module("pyarrow.parquet")
_NULL = msgspec.Raw(b"null")
#: The allocator of everything the export builds in Arrow: the C library's, which gives a row group's memory back
#: once it is written (pyarrow's default, mimalloc, keeps arenas: ~20 MB more at the peak for the same work).
POOL = pa.system_memory_pool()


def text_array(lines: list[Any]) -> Any:
    """A string array of the JSON texts ``lines`` (bytes or buffers), built from one joined buffer: the bytes
    are stored exactly as given (checked to be UTF-8)."""
    offsets = pa.array(list(accumulate(map(len, lines), initial=0)), pa.int64(), memory_pool=POOL)
    array = pa.LargeStringArray.from_buffers(len(lines), offsets.buffers()[1], pa.py_buffer(b"".join(lines)))
    array.validate(full=True)  # UTF-8, as JSON is: raises on anything else
    return array.cast(pa.string(), memory_pool=POOL)


def json_text_array(raws: list[Any]) -> Any:
    """A string array of JSON texts as sent (``details``): null where absent (empty) or JSON ``null``."""
    if 0 in map(len, raws) or _NULL in raws:
        texts = [None if not raw or raw == _NULL else bytes(raw).decode() for raw in raws]
        return pa.array(texts, pa.string(), memory_pool=POOL)
    return text_array(raws)


def nested_array(kind: Any, path: str, leaves: dict[str, list[Any]], size: int) -> Any:
    """The array of type ``kind`` at ``path`` from ``leaves`` (dotted paths -> values): structs are assembled
    from their fields' arrays; a leaf missing from ``leaves`` is all null."""
    if pa.types.is_struct(kind):
        fields = list(kind)
        children = [nested_array(f.type, f"{path}.{f.name}" if path else f.name, leaves, size) for f in fields]
        return pa.StructArray.from_arrays(children, fields=fields, memory_pool=POOL)
    values = leaves.get(path)
    if values is None:
        return pa.nulls(size, kind, memory_pool=POOL)
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    return pa.array(values, kind, memory_pool=POOL)


def table_of(schema: Any, leaves: dict[str, list[Any]], size: int) -> Any:
    """A table of ``schema`` from ``leaves`` (top-level columns by name, nested ones by dotted path)."""
    return pa.Table.from_arrays([nested_array(f.type, f.name, leaves, size) for f in schema], schema=schema)
