"""What the operators that write to object storage share: the object's ``path`` and the storage connection.

Internal to the export and reconcile operators; not an API.

:meta private:
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_slack_audit.operators._lineage import LineageMixin
from airflow_provider_slack_audit.operators.base import BaseSlackAuditLogsOperator


class BaseObjectStorageOperator(LineageMixin, BaseSlackAuditLogsOperator):
    """
    A Slack audit logs operator whose object is at ``path`` on object storage (both templated), with lineage.

    :param path: the object, as a URL Airflow's object storage understands (``file:///...``, ``s3://...``).
    :param conn_id: the Airflow connection for the storage; None uses the scheme's default.
    """

    template_fields: Sequence[str] = (*BaseSlackAuditLogsOperator.template_fields, "path", "conn_id")

    def __init__(self, *, path: str, conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.conn_id = conn_id
