"""The ``format``, ``schema`` and ``compression`` of an export, checked once into an :class:`ExportFormat`.

Checked when the operator is built (at DAG parse time), so a misspelt format, a schema without Parquet, gzip
around Parquet or a missing pyarrow is an import error of the DAG, not a failed run at night. Standard
library only: ``slack-audit verify`` and the layout rules may read it where Airflow is not installed.

:meta private:
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any

from airflow_provider_slack_audit.export.layout import PARQUET_SUFFIX

#: The formats an export can be written as.
FORMATS = ("jsonl", "parquet")
#: The table schemas of a Parquet export.
SCHEMAS = ("flat", "ocsf")
#: What to install for Parquet.
PARQUET_EXTRA = "airflow-provider-slack-audit[parquet]"
#: The codec of a Parquet export's column chunks (Parquet compresses inside the file).
PARQUET_CODEC = "zstd"


class MissingParquetSupport(ImportError):
    """Parquet was asked for and pyarrow cannot be imported."""


def _missing(err: object) -> MissingParquetSupport:
    return MissingParquetSupport(
        f"format='parquet' needs pyarrow, which is not installed ({err}). Install the extra: "
        f"pip install '{PARQUET_EXTRA}'."
    )


def require_pyarrow() -> Any:
    """pyarrow, imported; a :class:`MissingParquetSupport` that names the extra to install if it is missing."""
    try:
        return importlib.import_module("pyarrow")
    except ImportError as err:
        raise _missing(err) from None


def check_pyarrow() -> None:
    """Fail with :class:`MissingParquetSupport` unless pyarrow can be imported, without importing it (a DAG
    file that asks for Parquet is parsed often, and pyarrow is large; the export imports it when it runs)."""
    try:
        found = importlib.util.find_spec("pyarrow") is not None
    except (ImportError, ValueError) as err:  # ValueError: hidden (sys.modules["pyarrow"] = None)
        raise _missing(err) from None
    if not found:
        raise _missing("no module named 'pyarrow'")


@dataclass(frozen=True)
class ExportFormat:
    """How an export's events are stored.

    :param name: ``"jsonl"`` or ``"parquet"``.
    :param schema: the table schema of a Parquet export (``"flat"`` or ``"ocsf"``); None for JSON Lines.
    :param gzip: JSON Lines only: gzip the stream (None: by the path's ``.gz`` suffix, decided at run time).
    """

    name: str
    schema: str | None = None
    gzip: bool | None = None

    @property
    def is_parquet(self) -> bool:
        return self.name == "parquet"

    def gzip_for(self, object_name: str) -> bool:
        """Whether the object ``object_name`` is gzip-compressed JSON Lines (never for Parquet)."""
        if self.is_parquet:
            return False
        return self.gzip if self.gzip is not None else object_name.endswith(".gz")

    def compression_for(self, object_name: str) -> str | None:
        """The compression of the stored bytes as a whole, as a manifest records it: ``"gzip"`` or None (a Parquet
        file is never compressed as a whole: its column chunks are, see :data:`PARQUET_CODEC`)."""
        return "gzip" if self.gzip_for(object_name) else None

    def schema_version(self) -> str | None:
        """The version of the table schema (None for JSON Lines, whose lines are Slack's)."""
        if self.schema == "flat":
            from airflow_provider_slack_audit.export.formats.flat import FLAT_SCHEMA_VERSION

            return FLAT_SCHEMA_VERSION
        if self.schema == "ocsf":
            from airflow_provider_slack_audit.export.formats.ocsf import OCSF_SCHEMA_VERSION

            return OCSF_SCHEMA_VERSION
        return None

    def manifest_fields(self, object_name: str) -> dict[str, Any]:
        """``format`` and ``compression`` (and, for Parquet, ``schema``, ``schema_version`` and ``parquet_codec``,
        the codec of its column chunks) for a manifest."""
        fields: dict[str, Any] = {"format": self.name, "compression": self.compression_for(object_name)}
        if self.is_parquet:
            fields["schema"] = self.schema
            fields["schema_version"] = self.schema_version()
            fields["parquet_codec"] = PARQUET_CODEC
        return fields


JSONL = ExportFormat("jsonl")


def choose_format(path: Any, format: str | None, schema: str | None, compression: str | None) -> ExportFormat:
    """Check the export's arguments together; the :class:`ExportFormat` they describe.

    :param path: the export's path (a template string is fine: only its suffix is looked at).
    :param format: ``"jsonl"``, ``"parquet"``, or None for Parquet when ``path`` ends in ``.parquet`` and JSON
        Lines otherwise.
    :param schema: Parquet's table: ``"flat"`` (the default) or ``"ocsf"``; must be None for JSON Lines.
    :param compression: ``"infer"``, ``"gzip"`` or None (JSON Lines: gzip by the ``.gz`` suffix, gzip, plain;
        Parquet compresses its columns itself, so only ``"infer"`` or None).
    :raises ValueError: arguments that do not go together, with what to change.
    :raises MissingParquetSupport: Parquet without pyarrow installed.
    """
    if compression not in ("infer", "gzip", None):
        raise ValueError(f'compression={compression!r}: use "infer" (by the .gz suffix), "gzip" or None.')
    text = path if isinstance(path, str) else ""
    named_parquet = text.rstrip().endswith(PARQUET_SUFFIX)
    if format is None:
        format = "parquet" if named_parquet else "jsonl"
    elif format not in FORMATS:
        raise ValueError(f"format={format!r}: use {' or '.join(map(repr, FORMATS))}.")
    if format == "jsonl":
        if schema is not None:
            raise ValueError(
                f"schema={schema!r} applies to Parquet exports: add format='parquet' (and name the path "
                "*.parquet), or leave schema unset for JSON Lines."
            )
        if named_parquet:
            raise ValueError(
                f"path={text!r} ends in .parquet but format='jsonl': name the path *.jsonl or *.jsonl.gz, or use "
                "format='parquet'."
            )
        return ExportFormat("jsonl", None, {"gzip": True, None: False}.get(compression))
    if schema is None:
        schema = "flat"
    elif schema not in SCHEMAS:
        raise ValueError(f"schema={schema!r}: use {' or '.join(map(repr, SCHEMAS))} (flat is the default).")
    if compression == "gzip":
        raise ValueError(
            "compression='gzip' cannot wrap a Parquet file (readers need its footer and seek into it; Parquet "
            f"compresses its columns itself, with {PARQUET_CODEC}). Leave compression unset for Parquet."
        )
    if text.endswith((".gz", ".jsonl", ".ndjson", ".json")):
        raise ValueError(f"path={text!r} names JSON Lines but format='parquet': name the path *.parquet.")
    check_pyarrow()
    return ExportFormat("parquet", schema, False)


def format_of_object(file_format: str, schema: str | None) -> ExportFormat:
    """The format of an exported object, which its late files are written in.

    :param file_format: ``"jsonl"`` or ``"parquet"``, as the object's manifest records it (or its bytes show).
    :param schema: a Parquet object's table schema (its manifest's ``schema``, or its file's metadata).
    """
    if file_format == "parquet":
        return ExportFormat("parquet", schema if schema in SCHEMAS else "flat", False)
    return ExportFormat("jsonl", None, None)
