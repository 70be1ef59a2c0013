"""What an export is written as: JSON Lines (Slack's bytes) or Parquet (a typed table, flat or OCSF).

- :mod:`.choice`: the ``format`` / ``schema`` / ``compression`` arguments checked once, at DAG parse time,
  into an :class:`~.choice.ExportFormat` (also what a manifest records, and what a late file inherits);
- :mod:`.events`: a page of events decoded once into typed records (msgspec), shared by both schemas;
- :mod:`.flat`: the flat schema (one table of columns, the contract) and its row mapping;
- :mod:`.ocsf`: the OCSF mapping table (Slack action -> class and activity) and the OCSF rows;
- :mod:`.arrow`: building Arrow arrays from the mappings' column lists;
- :mod:`.parquet_writer`: a window's pages as Parquet row groups through the export's writer (hashed and
  committed like JSON Lines);
- :mod:`.parquet_reading`: an exported Parquet object's ids and seconds, read back (the reconciliation and
  ``slack-audit verify``; no Airflow).

Only :mod:`.parquet_writer` imports Airflow; pyarrow is imported only where a Parquet file is written or read
(the ``parquet`` extra), so JSON Lines exports never need it.

Internal to the export and reconcile operators; not an API.

:meta private:
"""
