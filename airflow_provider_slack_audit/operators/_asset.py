"""The one Asset an export task declares, whatever object each run writes."""

from __future__ import annotations

import warnings
from typing import Any

from airflow.providers.common.compat.sdk import Asset, AssetAlias

#: Where a Jinja expression or statement starts in a templated argument.
_TEMPLATE_MARKERS = ("{{", "{%", "{#")
#: The scheme of the Assets named after the Slack connection and the task (fully templated paths).
ASSET_SCHEME = "slack-audit"


def static_prefix(path: str) -> str:
    """The part of ``path`` before its first template, cut back to the last ``/`` (no trailing slash)."""
    cut = min((i for i in (path.find(m) for m in _TEMPLATE_MARKERS) if i >= 0), default=len(path))
    if cut == len(path):
        return path
    return path[:cut].rsplit("/", 1)[0] if "/" in path[:cut] else ""


def _names_a_location(prefix: str) -> bool:
    """Whether ``prefix`` is a URL with something after the scheme (a bucket, a folder)."""
    if "://" not in prefix:
        return False
    return bool(prefix.split("://", 1)[1].strip("/"))


def _as_asset(uri: str, what: str) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # Airflow 2.11 only warns where 3.x refuses
            return Asset(uri)
    except (ValueError, UserWarning) as err:  # Airflow checks the URL of each scheme it knows (e.g. an s3:// bucket)
        scheme = uri.split("://", 1)[0]
        raise ValueError(
            f"{what}={uri!r} is not a URI Airflow accepts for an Asset ({err}). Write it as "
            f"{scheme}://<bucket>/<key>, e.g. s3://my-bucket/slack/audit.jsonl.gz."
        ) from None


def export_asset(
    path: Any, *, asset: Any = None, slack_audit_conn_id: Any = None, dag_id: str | None, task_id: str
) -> Any:
    """The Asset (or the user's AssetAlias) an export task declares as its outlet: the same for every run.

    :param path: the export's ``path`` argument as written in the DAG (templates not rendered).
    :param asset: the user's choice: an ``Asset``, an ``AssetAlias`` or a URI; None derives one.
    :param slack_audit_conn_id: the Slack connection, part of the derived URI when ``path`` is all template.
    :param dag_id: the task's DAG, if known when the operator is built.
    :param task_id: the task's id.

    Derived: a path without templates is its own Asset; a templated one is named by its static part
    (``s3://bucket/slack/{{ ds }}.jsonl`` -> ``s3://bucket/slack``); when the template starts before any
    location (``{{ var.value.root }}/...``) the Asset is ``slack-audit://<connection>/<dag_id>/<task_id>``.
    """
    if isinstance(asset, (Asset, AssetAlias)):
        return asset
    if asset is not None:
        if not isinstance(asset, str) or not asset.strip():
            raise ValueError(f"asset={asset!r}: give an Asset, an AssetAlias or a URI string.")
        return _as_asset(asset.strip(), "asset")
    if isinstance(path, str):
        prefix = static_prefix(path.strip())
        if _names_a_location(prefix):
            return _as_asset(prefix, "path" if prefix == path.strip() else "the static part of path")
    conn = slack_audit_conn_id if isinstance(slack_audit_conn_id, str) else None
    if not conn or any(m in conn for m in _TEMPLATE_MARKERS):
        conn = "slack_audit"
    return Asset(f"{ASSET_SCHEME}://{conn}/{dag_id or '_'}/{task_id}")


def record_asset_event(context: Any, outlet: Any, url: str, extra: dict[str, Any]) -> None:
    """Put the run's summary on its event of ``outlet``; through an alias, name the object as the Asset."""
    outlet_events = context.get("outlet_events")
    if outlet_events is None:
        return
    if isinstance(outlet, AssetAlias):
        outlet_events[outlet].add(Asset(url), extra=extra)
    else:
        outlet_events[outlet].extra.update(extra)
