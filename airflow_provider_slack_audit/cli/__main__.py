"""``python -m airflow_provider_slack_audit.cli``: the ``slack-audit`` command."""

from __future__ import annotations

import sys

from airflow_provider_slack_audit.cli import main

if __name__ == "__main__":
    sys.exit(main())
