"""What the storage tests share: a window of events large enough for a multipart upload, and an export of it."""

from __future__ import annotations

from airflow_provider_slack_audit.export.writer import ExportWriter, open_sink, resolve_target

#: About 21 MB of JSON Lines: three parts of an S3 multipart upload.
BIG = [{"id": f"id-{i:06d}", "date_create": 1704067200 - i // 10, "pad": "x" * 1400} for i in range(15_000)]
PAGE = 2500


def writer_for(url: str, conn_id: str | None = None, *, overwrite: bool = True, gzip: bool = False) -> ExportWriter:
    return ExportWriter(open_sink(resolve_target(url, conn_id), overwrite=overwrite), gzip=gzip)


def export(url: str, conn_id: str | None = None, *, events=BIG, fail_after: int | None = None, **kw) -> ExportWriter:
    with writer_for(url, conn_id, **kw) as writer:
        for n, start in enumerate(range(0, len(events), PAGE)):
            if fail_after is not None and n == fail_after:
                raise RuntimeError("connection lost mid-window")
            writer.write_page(events[start : start + PAGE])
    return writer
