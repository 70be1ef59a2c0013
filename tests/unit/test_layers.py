"""The package's import graph reads top to bottom: each folder imports only from folders below it.

example DAGs -> operators, sensors -> triggers, export -> arguments -> hooks -> client; the cli stands
on export (its Airflow-free modules); the emulator stands apart (it imports nothing of the package but
itself). A module that imports upwards starts a circle the day the lower one needs it back; this test
names the import that would.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "airflow_provider_slack_audit"

#: Each folder (or top-level module) with the parts of the package it may import.
MAY_IMPORT: dict[str, set[str]] = {
    "client": set(),
    "_compat": set(),
    "hooks": {"client", "_compat"},
    "get_provider_info": {"hooks"},
    "arguments": {"hooks", "client"},
    "triggers": {"arguments", "hooks", "client", "_compat"},
    "export": {"arguments", "client"},
    "sensors": {"triggers", "arguments", "hooks", "client", "_compat"},
    "operators": {"export", "triggers", "arguments", "hooks", "client", "_compat"},
    "emulator": set(),
    "cli": {"export"},  # only export's Airflow-free modules (tests/unit/test_cli_verify.py proves it)
}
#: What every part may import: the version.
EVERYONE = {"__init__"}


def package_imports() -> list[tuple[str, str, str]]:
    """``(importing part, imported part, file:line)`` for every import of the package inside it."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).parts
        source = parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                dotted = name.split(".")
                if dotted[0] == PACKAGE.name:
                    target = dotted[1] if len(dotted) > 1 else "__init__"
                    found.append((source, target, f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"))
    return found


def test_every_part_of_the_package_has_a_place_in_the_layers():
    parts = {p.name.removesuffix(".py") for p in PACKAGE.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
    assert parts - EVERYONE == set(MAY_IMPORT), "a new folder or module: give it its layer in MAY_IMPORT"


def test_no_part_imports_a_part_above_it_or_beside_it():
    upward = [
        f"{where}: {source} imports {target}"
        for source, target, where in package_imports()
        if target != source and target not in EVERYONE and target not in MAY_IMPORT[source]
    ]
    assert upward == []


def test_the_check_sees_imports_at_every_depth():
    """Not vacuous: it finds the imports it judges, lazy ones inside functions included."""
    found = {(source, target) for source, target, _ in package_imports()}
    assert {("operators", "export"), ("sensors", "triggers"), ("hooks", "client")} <= found
