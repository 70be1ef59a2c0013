"""Arrow arrays from the column lists the table mappings build (pyarrow: the ``parquet`` extra).

:meta private:
"""

from __future__ import annotations

import importlib
from itertools import accumulate
from typing import Any

from airflow_provider_slack_audit.export.formats.choice import require_pyarrow
from airflow_provider_slack_audit.export.formats.events import text

pa = require_pyarrow()
pq = importlib.import_module("pyarrow.parquet")
#: The allocator of everything the export builds in Arrow: the C library's, which gives a row group's memory back
#: once it is written (pyarrow's default, mimalloc, keeps arenas: ~20 MB more at the peak for the same work).
POOL = pa.system_memory_pool()
#: The most bytes a ``string`` array's 32-bit offsets can address.
_MAX_STRING_BYTES = (1 << 31) - 1
_SECONDS = pa.timestamp("s", tz="UTC")


def string_array(values: list[Any]) -> Any:
    """A string array of the leaves ``values`` as the tables store them (:func:`~.events.text`): strings as they
    are, null as null, anything else (a number, a boolean, an object) as its JSON text.

    Lists of strings and nulls, nearly every column of every page, go to pyarrow as they are; it refuses any
    other value, and only then is the list converted value by value.
    """
    try:
        return pa.array(values, pa.string(), memory_pool=POOL)
    except pa.ArrowTypeError:
        return pa.array([text(value) for value in values], pa.string(), memory_pool=POOL)


def seconds_array(seconds: list[Any]) -> Any:
    """A ``timestamp[s, tz=UTC]`` array of ``date_create`` values: null where one is not a whole number of seconds."""
    if set(map(type, seconds)) != {int}:
        seconds = [s if type(s) is int else None for s in seconds]
    return pa.array(seconds, _SECONDS, memory_pool=POOL)


def text_array(lines: list[Any], lengths: list[int] | None = None) -> Any:
    """A string array of the JSON texts ``lines`` (bytes or buffers, their ``lengths`` if known), built from one
    joined buffer: the bytes are stored exactly as given (checked to be UTF-8)."""
    if lengths is None:
        lengths = list(map(len, lines))
    offsets = list(accumulate(lengths, initial=0))
    wide = offsets[-1] > _MAX_STRING_BYTES
    offsets_buffer = pa.array(offsets, pa.int64() if wide else pa.int32(), memory_pool=POOL).buffers()[1]
    kind = pa.LargeStringArray if wide else pa.StringArray
    array = kind.from_buffers(len(lines), offsets_buffer, pa.py_buffer(b"".join(lines)))
    array.validate(full=True)  # UTF-8, as JSON is: raises on anything else
    return array.cast(pa.string(), memory_pool=POOL) if wide else array


def json_text_array(raws: list[Any]) -> Any:
    """A string array of JSON texts as sent (``details``): null where absent (empty) or JSON ``null``."""
    lengths = list(map(len, raws))
    array = text_array(raws, lengths)
    if 0 not in lengths and 4 not in lengths:  # no text is empty or as long as ``null``
        return array
    valid = [n != 0 and (n != 4 or bytes(raw) != b"null") for n, raw in zip(lengths, raws, strict=True)]
    validity = pa.array(valid, pa.bool_(), memory_pool=POOL).buffers()[1]  # a bitmap, as a validity buffer is
    return type(array).from_buffers(len(raws), *array.buffers()[1:], null_bitmap=validity)


def nested_array(kind: Any, path: str, leaves: dict[str, Any], size: int) -> Any:
    """The array of type ``kind`` at ``path`` from ``leaves`` (dotted paths -> lists or arrays): structs are
    assembled from their fields' arrays; a leaf missing from ``leaves`` is all null."""
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


def table_of(schema: Any, leaves: dict[str, Any], size: int) -> Any:
    """A table of ``schema`` from ``leaves`` (top-level columns by name, nested ones by dotted path)."""
    return pa.Table.from_arrays([nested_array(f.type, f.name, leaves, size) for f in schema], schema=schema)
