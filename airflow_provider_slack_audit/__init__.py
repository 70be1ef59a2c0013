"""Apache Airflow provider that exports Slack Enterprise Grid audit logs."""

__version__ = "0.1.0"
