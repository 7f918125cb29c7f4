"""Shared CLI plumbing: the --db option, exit codes, error output.

Results go to stdout, diagnostics and progress to stderr. A user mistake is
reported as a list of problems and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Iterator, NoReturn, Optional

import typer

# Exit codes (issue 3): shared by every solve command.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INFEASIBLE = 3
EXIT_NO_PLAN = 4
EXIT_INTERRUPTED = 130


def default_db_path() -> Path:
    env = os.environ.get("FLEETCTL_DB")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("fleetctl")) / "fleet.db"


DbOption = Annotated[
    Optional[Path],
    typer.Option("--db", help="SQLite database file (default: $FLEETCTL_DB, else the user data directory)."),
]


def resolve_db(db: Optional[Path]) -> Path:
    path = db if db is not None else default_db_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def err(message: str) -> None:
    """Write a diagnostic line to stderr (rich markup allowed)."""
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(message)


def fail(problems: list[str] | str, code: int = EXIT_USAGE, title: str = "error") -> NoReturn:
    if isinstance(problems, str):
        problems = [problems]
    err(f"[bold red]{title}[/]: {len(problems)} problem(s)" if len(problems) > 1 else f"[bold red]{title}[/]: {_escape(problems[0])}")
    if len(problems) > 1:
        for p in problems:
            err(f"  - {_escape(p)}")
    raise typer.Exit(code)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn document errors into a listed report and exit code 2."""
    from engine.documents import DocumentError

    try:
        yield
    except DocumentError as exc:
        problems = exc.problems
        err(f"[bold red]error[/]: {_escape(exc.source)}: {len(problems)} problem(s)")
        for p in problems:
            err(f"  - {_escape(p)}")
        raise typer.Exit(EXIT_USAGE) from None


def emit_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=False) + "\n")
    sys.stdout.flush()


def check_output_path(path: Optional[Path], option: str = "--out", inputs: tuple = ()) -> None:
    """Fail fast (exit 2) when an output file could never be written, or would overwrite one of the
    command's `inputs` (its database, snapshot, limits...): checked before any long work."""
    if path is None:
        return
    for source in inputs:
        if source is not None and _same_file(path, Path(source)):
            fail(f"{option} {path}: is also an input of this command; writing there would destroy it")
    if path.is_dir():
        fail(f"{option} {path}: is a directory, give a file name")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        fail(f"{option} {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        fail(f"{option} {path}: permission denied")


def write_output(path: Path, text: str, option: str = "--out") -> None:
    """Write a result file; an OS error becomes a one-line message and exit 1, never a traceback."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {option} {path}: {exc.strerror or exc}", code=EXIT_ERROR)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()
