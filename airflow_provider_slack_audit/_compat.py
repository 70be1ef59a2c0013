"""Airflow names that ``airflow.providers.common.compat.sdk`` maps only in releases newer than some users have.

Everything else comes straight from ``airflow.providers.common.compat.sdk``. Python 3.10 caps
apache-airflow-providers-common-compat at 1.20, which does not map ``mask_secret`` yet (1.22 does, but
needs Python 3.11): there the same lookup is made with common-compat's own helper, over the same modules.
"""

from __future__ import annotations

from airflow.providers.common.compat._compat_utils import create_module_getattr

try:
    from airflow.providers.common.compat.sdk import mask_secret
except ImportError:  # common-compat < 1.22
    _MASK_SECRET_MODULES = (
        "airflow.sdk.log",
        "airflow.sdk.execution_time.secrets_masker",
        "airflow.utils.log.secrets_masker",
    )
    mask_secret = create_module_getattr({"mask_secret": _MASK_SECRET_MODULES})("mask_secret")

#: DateTimeTrigger moved to the standard provider in Airflow 3; common-compat maps only TimeDeltaTrigger,
#: which computes its moment when it is built, not the exact one an export waits for.
DateTimeTrigger = create_module_getattr(
    {"DateTimeTrigger": ("airflow.providers.standard.triggers.temporal", "airflow.triggers.temporal")}
)("DateTimeTrigger")

__all__ = ["DateTimeTrigger", "mask_secret"]
