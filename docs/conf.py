"""Sphinx configuration of the airflow-provider-slack-audit documentation.

Build (autodoc imports the package, so Airflow must be importable):
``python -m sphinx -W --keep-going -b html docs docs/_build/html``
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from airflow_provider_slack_audit import __version__  # noqa: E402

project = "airflow-provider-slack-audit"
author = "airflow-provider-slack-audit contributors"
copyright = "airflow-provider-slack-audit contributors"
version = release = __version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path: list[str] = []

autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
# Type hints go into the description, where unresolvable forward references do not become warnings.
autodoc_typehints = "description"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
# "Attributes:" sections as fields of the class: properties documented as members would clash with them.
napoleon_use_ivar = True
