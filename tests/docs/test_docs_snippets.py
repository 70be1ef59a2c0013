"""Every code block the docs write out (not included from a tested file) is checked.

- ``.. code-block:: python``: compiled; a block with a ``:name: run-...`` option is also executed.
- ``.. code-block:: bash``: parsed by ``bash -n``; the program of each command must exist: on ``PATH``
  (the suite's interpreter's ``bin`` folder first), as a shell builtin or keyword, or as a file of this
  repository; ``airflow`` commands must name real subcommands and options of the installed Airflow, and
  ``slack-audit-emulator`` commands real options of the emulator's CLI.

Code included with ``literalinclude`` comes from the example DAGs, which ``tests/system`` runs. The
README's DAG must be the example DAG's marked code, verbatim, and its commands are checked as the docs' are.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

#: Shell words that are not programs to look up.
SHELL_WORDS = {"export", "do", "done", "if", "then", "else", "fi", "cd", "echo", "set", "}", "{"}
#: Pages whose commands are Airflow 3's (api-server, dag-processor, backfill create): checked on Airflow 3 only.
AIRFLOW_3_ONLY_PAGES = {"docs/scale.rst"}
#: Programs a command may use without this test finding them: installers the docs show but tests do not run.
UNCHECKED = {"pip"}


@dataclass
class Block:
    source: str  # file:line
    language: str
    options: dict[str, str]
    code: str


def _rst_blocks(path: Path) -> list[Block]:
    lines = path.read_text().splitlines()
    blocks = []
    for number, line in enumerate(lines):
        match = re.match(r"^(\s*)\.\. code-block:: (\w+)\s*$", line)
        if not match:
            continue
        indent = len(match.group(1))
        options: dict[str, str] = {}
        body: list[str] = []
        for following in lines[number + 1 :]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            option = re.match(r"^\s+:([\w-]+):\s*(.*)$", following)
            if option and not body:
                options[option.group(1)] = option.group(2)
            else:
                body.append(following)
        code_lines = [text for text in body]
        while code_lines and not code_lines[0].strip():
            code_lines.pop(0)
        width = min((len(t) - len(t.lstrip()) for t in code_lines if t.strip()), default=0)
        code = "\n".join(t[width:] for t in code_lines).strip("\n") + "\n"
        blocks.append(Block(f"{path.relative_to(ROOT)}:{number + 1}", match.group(2), options, code))
    return blocks


def _readme_blocks() -> list[Block]:
    text = (ROOT / "README.md").read_text()
    return [
        Block(f"README.md:{text[: m.start()].count(chr(10)) + 1}", m.group(1), {}, m.group(2))
        for m in re.finditer(r"^```(\w+)\n(.*?)^```", text, flags=re.S | re.M)
    ]


DOC_BLOCKS = [block for path in sorted(DOCS.rglob("*.rst")) for block in _rst_blocks(path)]
PYTHON_BLOCKS = [b for b in DOC_BLOCKS if b.language == "python"]
BASH_BLOCKS = [b for b in DOC_BLOCKS + _readme_blocks() if b.language == "bash"]


def test_the_docs_have_code_blocks():
    assert PYTHON_BLOCKS, "no python code-block found: the parser is broken"
    assert BASH_BLOCKS, "no bash code-block found: the parser is broken"
    assert any(b.options.get("name", "").startswith("run-") for b in PYTHON_BLOCKS)


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[b.source for b in PYTHON_BLOCKS])
def test_python_block_compiles_and_runnable_ones_run(block):
    compiled = compile(block.code, block.source, "exec")
    if block.options.get("name", "").startswith("run-"):
        exec(compiled, {"__name__": "docs_snippet"})  # noqa: S102 - the docs' own code


def _commands(code: str) -> list[str]:
    """The logical commands of a script: lines joined while a quote is open or a line ends with ``\\``."""
    commands, pending = [], ""
    for line in code.splitlines():
        pending = f"{pending}\n{line}" if pending else line
        if pending.rstrip().endswith("\\"):
            continue
        try:
            shlex.split(pending, comments=True)
        except ValueError:  # an open quote: the command goes on
            continue
        commands.append(pending)
        pending = ""
    assert not pending, f"unterminated command: {pending!r}"
    return commands


def _without_substitutions(command: str) -> str:
    """``command`` with each ``$(...)`` replaced by a word: its output, not a program, is what the command uses."""
    out, depth, i = [], 0, 0
    while i < len(command):
        if command.startswith("$(", i):
            depth += 1
            i += 2
            if depth == 1:
                out.append("VALUE")
            continue
        if depth and command[i] == "(":
            depth += 1
        elif depth and command[i] == ")":
            depth -= 1
        elif not depth:
            out.append(command[i])
        i += 1
    return "".join(out)


def _simple_commands(command: str) -> list[list[str]]:
    """The words of each simple command of ``command`` (split at ``|``, ``&&``, ``||``, ``;``, ``&``)."""
    command = command.replace("\\\n", " ")
    command = _without_substitutions(command)
    lexer = shlex.shlex(command, posix=True, punctuation_chars="|&;")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    simple, current = [], []
    for token in lexer:
        if token and set(token) <= set("|&;"):
            simple.append(current)
            current = []
        else:
            current.append(token)
    simple.append(current)
    words = []
    for tokens in simple:
        if tokens and tokens[0] == "for":  # for NAME in WORDS: no program
            continue
        while tokens and (re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", tokens[0]) or tokens[0] in SHELL_WORDS):
            tokens = tokens[1:]
        if tokens and tokens[0] in ("[", "[["):  # a test expression: no program
            continue
        if tokens and not tokens[0].startswith(("$", "(", ">", "<")):
            words.append(tokens)
    return words


def _airflow_parser():
    try:
        from airflow.cli.cli_parser import get_parser
    except ImportError:  # pragma: no cover - Airflow is a dependency
        pytest.skip("Airflow's CLI parser is not importable")
    return get_parser()


def _subparsers(parser) -> dict:
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    return {}


def _check_options(parser, words: list[str], what: str) -> None:
    known = {option for action in parser._actions for option in action.option_strings}
    for word in words:
        if word.startswith("--"):
            assert word.split("=")[0] in known, f"{what}: no option {word.split('=')[0]} (known: {sorted(known)})"


def _check_airflow(words: list[str], source: str) -> None:
    if not (shutil.which("airflow", path=_path()) or shutil.which("airflow")):
        pytest.skip("the airflow command is not installed")
    parser = _airflow_parser()
    rest = words[1:]
    path = ["airflow"]
    while rest and not rest[0].startswith("-") and _subparsers(parser):
        choices = _subparsers(parser)
        assert rest[0] in choices, f"{source}: {' '.join(path)} has no subcommand {rest[0]!r}"
        parser = choices[rest[0]]
        path.append(rest.pop(0))
    assert not _subparsers(parser), f"{source}: {' '.join(path)} needs a subcommand"
    _check_options(parser, rest, f"{source}: {' '.join(path)}")


def _check_emulator(words: list[str], source: str) -> None:
    from airflow_provider_slack_audit.emulator.__main__ import build_parser

    _check_options(build_parser(), words[1:], f"{source}: slack-audit-emulator")


def _path() -> str:
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


@pytest.mark.parametrize("block", BASH_BLOCKS, ids=[b.source for b in BASH_BLOCKS])
def test_bash_block_parses_and_its_programs_exist(block):
    if block.source.split(":")[0] in AIRFLOW_3_ONLY_PAGES:
        from airflow import __version__ as airflow_version

        if int(airflow_version.split(".")[0]) < 3:
            pytest.skip(f"{block.source} shows an Airflow 3 deployment; this is Airflow {airflow_version}")
    syntax = subprocess.run(["bash", "-n"], input=block.code, capture_output=True, text=True)
    assert syntax.returncode == 0, f"{block.source}: bash -n: {syntax.stderr}"
    for command in _commands(block.code):
        for words in _simple_commands(command):
            program = words[0]
            if program in UNCHECKED:
                continue
            if program == "airflow":
                _check_airflow(words, block.source)
            elif program == "slack-audit-emulator":
                assert shutil.which(program, path=_path()), f"{block.source}: {program} is not installed"
                _check_emulator(words, block.source)
            elif "/" in program:  # a file of this repository, e.g. .venv/bin/python (the venv: any python)
                if program.endswith("/bin/python"):
                    script = next((w for w in words[1:] if not w.startswith("-")), None)
                    assert script is None or (ROOT / script).is_file(), f"{block.source}: no file {script}"
                else:
                    assert (ROOT / program).is_file(), f"{block.source}: no file {program}"
            else:
                builtin = subprocess.run(["bash", "-c", f"type -t {shlex.quote(program)}"], capture_output=True)
                found = shutil.which(program, path=_path()) or builtin.returncode == 0
                assert found, f"{block.source}: program {program!r} not found"
                if program.startswith("python") and len(words) > 1 and words[1].endswith(".py"):
                    assert (ROOT / words[1]).is_file(), f"{block.source}: no file {words[1]}"


def test_readme_dag_is_the_example_dag_verbatim():
    readme = (ROOT / "README.md").read_text()
    (dag,) = re.findall(r"^```python\n(.*?)^```", readme, flags=re.S | re.M)
    example = (ROOT / "example_dags" / "example_slack_audit_export.py").read_text()
    marked = re.search(
        r"# \[START howto_operator_slack_audit_export_to_object_storage\]\n(.*)"
        r"# \[END howto_operator_slack_audit_export_to_object_storage\]",
        example,
        flags=re.S,
    )
    assert marked, "the example DAG lost its markers"
    assert dag.strip() == marked.group(1).strip(), (
        "README's DAG differs from example_dags/example_slack_audit_export.py"
    )


def test_readme_stays_short_and_opens_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) < 12_000
    demo = "python3 scripts/demo.py   # main job: export 3 hours of audit logs from a local Slack emulator with "
    test = "python3 scripts/test.py   # the whole test suite: ruff, then pytest on Airflow 3.3 and 2.11, as CI runs it"
    assert readme.split("\n")[2:6] == ["```bash", demo + "real Airflow", test, "```"]


def test_the_connection_page_lists_every_extra():
    from airflow_provider_slack_audit.hooks.connection_extras import EXTRA_FIELDS

    page = (DOCS / "connection.rst").read_text()
    for extra in EXTRA_FIELDS:
        assert f"   * - ``{extra.name}``\n     - {extra.label}\n" in page, f"docs/connection.rst lacks {extra.name}"


def test_docs_point_at_no_file_outside_the_repository():
    for path in [ROOT / "README.md", *DOCS.rglob("*.rst")]:
        text = path.read_text()
        for name in ("DESIGN.md", "SLACK_AUDIT_API.md", "STYLE.md", "../shared"):
            assert name not in text, f"{path.relative_to(ROOT)} names {name}"
