"""The storage engine of the export and reconcile operators: internal, not an API.

What turns pages of audit events into objects in storage, all or nothing, and reads them back:

- :mod:`.storage`: where the bytes go until the commit (one sink per kind of store, conditional create);
  it names them all: :mod:`.sink` (what every sink is), :mod:`.local_sink`, :mod:`.object_store_sink`,
  :mod:`.store_support` (which stores have a conditional create), :mod:`.object_versions` (what identifies
  a write);
- :mod:`.writer`: a window's events as JSON Lines through a sink (:class:`~.writer.ExportWriter`), and
  the export's target (:func:`~.writer.resolve_target`);
- :mod:`.parallel_gzip`: gzip on every core, as a series of gzip members;
- :mod:`.ids`: event ids at the scale of a window (the manifest's digest, the reconciliation's index);
- :mod:`.manifest`: the manifest beside an object;
- :mod:`.stream`: an object's bytes hashed and counted, and its lines, as it streams by (no Airflow);
- :mod:`.scan`: reading an exported object back (its ids, sha256 and size);
- :mod:`.late_files`: the late files a reconciliation writes beside an object;
- :mod:`.evidence`: a window's evidence as a reconciliation reads it (the object's ids and those of the
  late files that count, each checked against its manifest; the ids Slack no longer returns).

Nothing here knows about operators (and nothing here imports :mod:`airflow_provider_slack_audit.operators`):
the operators decide what to read and when, this package how it is stored. Names in it may change in any
release.

:meta private:
"""
