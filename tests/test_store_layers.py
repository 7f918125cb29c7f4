"""Dependencies run one way: front-ends (CLI, console, API) → console.ops → store / runner → engine.
The application layer and the store never import a front-end; the CLI no longer has the
solve_common ↔ runs_cmds import circle."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FRONT_ENDS = ("typer", "textual", "fastapi", "starlette", "uvicorn", "rich", "console.cli", "console.screens",
              "console.widgets", "console.api", "console.app", "console.console_data")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_ops_and_store_import_no_front_end():
    offenders = {}
    for folder in ("console/ops", "console/store"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            bad = sorted(n for n in _imports(path) if any(n == f or n.startswith(f + ".") for f in FRONT_ENDS))
            if bad:
                offenders[str(path.relative_to(ROOT))] = bad
    assert offenders == {}


def test_solve_common_does_not_import_runs_cmds():
    assert "console.cli.runs_cmds" not in _imports(ROOT / "console/cli/solve_common.py")
