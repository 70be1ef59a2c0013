"""A window's evidence as a reconciliation reads it: the ids of an exported object and of the late files that count
(:func:`~airflow_provider_slack_audit.export.late_files.late_file_role`), each checked against its manifest, and
the ids Slack no longer returns.

A late file found without a manifest (its reconciliation stopped before writing one) is first marked abandoned
(:data:`~airflow_provider_slack_audit.export.late_files.ABANDONED_MARKER`, created only where nothing is): it is
part of no window's evidence, so its events are written again if Slack returns them.

Each function logs to the ``log`` it is given (the task's). Internal to the reconcile operator; not an API.

:meta private:
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_slack_audit.export.late_files import (
    ABANDONED_MARKER,
    EVIDENCE,
    MALFORMED,
    UNMANIFESTED,
    create_manifest,
    late_file_role,
    late_files,
    newest_late_second,
    read_late_manifest,
)
from airflow_provider_slack_audit.export.manifest import ALTERED, ANOTHER_WRITE, FoundObject, judge_binding
from airflow_provider_slack_audit.export.object_versions import stored_version_of
from airflow_provider_slack_audit.export.scan import scan_object
from airflow_provider_slack_audit.export.sink import TargetExistsError

if TYPE_CHECKING:
    from airflow_provider_slack_audit.export.ids import IdIndex
    from airflow_provider_slack_audit.export.writer import ExportTarget

#: Vanished ids listed in the log at most (all are counted).
MAX_VANISHED_LISTED = 100

#: The late files counted as a window's evidence: (path, URL, manifest) of each.
CountedLateFiles = list[tuple[Any, str, dict[str, Any]]]


def index_object(
    target: ExportTarget, manifest: dict[str, Any] | None, index: IdIndex, log: Any
) -> tuple[str, int, int]:
    """Put the object's ids in ``index`` and check its sha256 against its manifest; its (sha256, bytes, events)."""
    sha256, size, events = scan_object(target.path, target.url, manifest, on_id=index.add)
    if manifest is None:
        log.warning("%s has no manifest: its integrity cannot be checked (export with manifest=True)", target.url)
    else:
        check_binding(target, manifest, sha256, size, "its export")
    return sha256, size, events


def check_binding(target: ExportTarget, manifest: dict[str, Any], sha256: str, size: int, written: str) -> None:
    """Fail unless ``manifest`` describes the file at ``target`` as measured (``sha256``, ``size``): the
    verdict of :func:`~airflow_provider_slack_audit.export.binding.judge_binding`, said as it is.

    :param written: when the file was written, for the message (``"its export"``, ``"it was written"``).
    """
    if judge_binding(manifest, FoundObject(size, sha256)).describes:
        return  # the bytes are the manifest's: no need to ask the store which write this is (one request less)
    binding = judge_binding(manifest, FoundObject(size, sha256, stored_version_of(target.path, local=target.is_local)))
    if binding.verdict == ANOTHER_WRITE:
        raise AirflowFailException(
            f"The manifest beside {target.url} is the manifest of another write: {binding.detail}. Nothing "
            "was altered, but no manifest describes the file now (a run was killed between it and its "
            "manifest, or something else wrote it). Export the window again."
        )
    if binding.verdict == ALTERED:
        raise AirflowFailException(
            f"{target.url} was altered after {written}: {binding.detail}. Find out who changed it; export the "
            "window again to replace it."
        )
    raise AirflowFailException(
        f"{target.url} does not match its manifest (altered after {written}, or written again): "
        f"{binding.detail}. Export the window again."
    )


def index_late_files(
    target: ExportTarget, sha256: str, index: IdIndex, log: Any
) -> tuple[int, int | None, CountedLateFiles]:
    """Put the ids of the object's late files (those the rule counts: :func:`late_file_role`) in ``index``.

    A late file without a manifest is first marked abandoned (see :func:`late_manifest`): its events are
    not the window's evidence, so they are written again if Slack returns them. Returns how many events the
    late files counted hold, the second of the newest late file listed (of any kind: its name is taken
    either way; None when there is none), and the late files counted (path, URL, manifest).
    """
    count = 0
    evidence: CountedLateFiles = []
    lates = late_files(target.path)
    for late in lates:
        url = target.sibling(late.name).url
        manifest, role = late_manifest(target, late, url, sha256, log)
        if role == MALFORMED:
            raise AirflowFailException(
                f"{url}.manifest.json is not a late file's manifest this provider wrote: it was "
                f"altered. Move {url} and its manifest away (or restore them), then reconcile again."
            )
        if role != EVIDENCE:
            log.info("%s is not part of the evidence of %s (%s): not counted", url, target.url, role)
            continue
        late_sha256, late_size, events = scan_object(late, url, manifest, on_id=index.add)
        check_binding(target.sibling(late.name), manifest, late_sha256, late_size, "it was written")
        count += events
        evidence.append((late, url, manifest))
    return count, newest_late_second(lates), evidence


def late_manifest(
    target: ExportTarget, late: Any, url: str, sha256: str, log: Any
) -> tuple[dict[str, Any] | None, str]:
    """The manifest of the late file ``late`` and its role for the object (see :func:`late_file_role`).

    A late file without a manifest gets the abandoned marker (created only where nothing is): the run that
    wrote it, if it still runs, can then no longer give it a manifest and compares again instead. If that
    run's manifest came first, it is read and judged as any other.
    """
    try:
        manifest = read_late_manifest(late)
    except ValueError:
        return None, MALFORMED
    if manifest is None:
        try:
            create_manifest(target.sibling(late.name), ABANDONED_MARKER)
        except TargetExistsError:
            target.path.fs.invalidate_cache()
            try:
                manifest = read_late_manifest(late)  # its reconciliation wrote the manifest meanwhile
            except ValueError:
                return None, MALFORMED
        else:
            log.warning(
                "%s has no manifest (its reconciliation stopped before writing one): marked abandoned. It is "
                "part of no window's evidence; its events are written again if Slack returns them.",
                url,
            )
            return ABANDONED_MARKER, UNMANIFESTED
    return manifest, late_file_role(manifest, target.name, sha256)


def report_vanished(
    target: ExportTarget,
    manifest: dict[str, Any] | None,
    index: IdIndex,
    evidence: CountedLateFiles,
    log: Any,
) -> int:
    """Count (and log the first ids of) the window's events (of the object and of the late files counted,
    ``evidence``) that Slack no longer returns."""
    vanished = index.unseen
    if not vanished:
        return 0
    listed: list[str] = []

    def note(event_id: str) -> None:
        if len(listed) < MAX_VANISHED_LISTED and not index.was_seen(event_id) and event_id not in listed:
            listed.append(event_id)

    scan_object(target.path, target.url, manifest, on_id=note)
    for late, url, late_manifest_ in evidence:
        if len(listed) >= MAX_VANISHED_LISTED:
            break
        scan_object(late, url, late_manifest_, on_id=note)
    log.warning(
        "%d events of %s%s are no longer returned by Slack for its window; the first: %s",
        vanished,
        target.url,
        f" and its {len(evidence)} late file(s)" if evidence else "",
        ", ".join(listed),
    )
    return vanished
