"""Reading an exported Parquet object back: its table schema, and its events' ids and seconds, in batches.

What the reconciliation (through :mod:`airflow_provider_slack_audit.export.scan`) and ``slack-audit verify``
need of a Parquet export or late file: no Airflow here, and pyarrow imported only when a Parquet file is read.
Only the id and time columns are read (Parquet reads columns on their own), a batch at a time.

:meta private:
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

#: What every Parquet file starts and ends with.
PARQUET_MAGIC = b"PAR1"
#: Rows read at a time.
BATCH_ROWS = 65_536
#: The id and time columns of each table schema, and the time's units in a second.
KEY_COLUMNS = {"flat": ("id", "date_create", 1), "ocsf": ("metadata.uid", "time", 1000)}
#: A timestamp column's values in a second, by unit.
_UNITS = {"s": 1, "ms": 1000, "us": 1_000_000, "ns": 1_000_000_000}


class NotAnExport(ValueError):
    """The file is not a Parquet export of this provider (or is cut or altered)."""


def open_parquet(source: Any) -> tuple[Any, str, str | None]:
    """``(ParquetFile, table schema, schema version)`` of ``source`` (a path or a seekable binary file).

    :raises NotAnExport: not Parquet, or no table schema of this provider in its metadata.
    """
    from airflow_provider_slack_audit.export.formats.choice import require_pyarrow

    require_pyarrow()
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(source)
    except Exception as err:  # pyarrow raises ArrowInvalid / OSError for a cut or foreign file
        raise NotAnExport(f"not a readable Parquet file ({err})") from None
    metadata = parquet.schema_arrow.metadata or {}
    schema = metadata.get(b"slack_audit.schema", b"").decode()
    if schema not in KEY_COLUMNS:
        raise NotAnExport("a Parquet file without this provider's table schema (slack_audit.schema) in its metadata")
    version = metadata.get(b"slack_audit.schema_version")
    return parquet, schema, version.decode() if version else None


def iter_keys(source: Any, *, batch_rows: int = BATCH_ROWS) -> Iterator[tuple[list[Any], list[Any]]]:
    """The ids and ``date_create`` seconds (None where null) of the Parquet export ``source``, batch by batch.

    :raises NotAnExport: not a Parquet export of this provider, or its columns cannot be read.
    """
    parquet, schema, _ = open_parquet(source)
    id_column, time_column, per_second = KEY_COLUMNS[schema]
    try:
        for batch in parquet.iter_batches(batch_size=batch_rows, columns=[id_column, time_column]):
            ids, times = _leaf(batch, id_column), _leaf(batch, time_column)
            # Parquet has no unit of seconds: the flat schema's date_create is stored (and read) in milliseconds
            unit = getattr(times.type, "unit", None)
            divisor = _UNITS[unit] if unit else per_second
            seconds = times.cast("int64").to_pylist()
            if divisor != 1:
                seconds = [None if t is None else t // divisor for t in seconds]
            yield ids.to_pylist(), seconds
    except NotAnExport:
        raise
    except Exception as err:
        raise NotAnExport(f"its {id_column} and {time_column} columns cannot be read ({err})") from None


def _leaf(batch: Any, dotted: str) -> Any:
    """The column ``dotted`` (``metadata.uid``: a struct's field) of a record batch."""
    head, _, rest = dotted.partition(".")
    column = batch.column(batch.schema.get_field_index(head))
    while rest:
        head, _, rest = rest.partition(".")
        column = column.field(head)
    return column


def count_rows(source: Any) -> int:
    """The rows the Parquet export ``source`` holds, from its footer."""
    parquet, _, _ = open_parquet(source)
    return int(parquet.metadata.num_rows)
