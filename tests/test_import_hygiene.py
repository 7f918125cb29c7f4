"""engine/ stays pure; the CLI entry point stays light."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_ENGINE = {"textual", "typer", "sqlmodel", "sqlalchemy", "console", "rich", "click"}


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_engine_imports_no_ui_or_storage_code():
    offenders = {}
    for path in sorted((ROOT / "engine").rglob("*.py")):
        bad = _imported_roots(path) & FORBIDDEN_IN_ENGINE
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_cli_help_does_not_import_heavy_libraries():
    code = (
        "import sys; from console.cli import main; "
        "heavy = [m for m in ('ortools', 'textual', 'sqlmodel', 'sqlalchemy', 'pulp', 'matplotlib') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == ""
