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


def existing_db(db: Optional[Path]) -> Path:
    """The --db of a command that only reads: it must exist (exit 2 otherwise); nothing is created."""
    path = db if db is not None else default_db_path()
    if "://" not in str(path) and not path.exists():
        fail(f"no database at {path}: load a snapshot first (fleetctl load FILE --db {path})")
    return path


@contextmanager
def store_session(path: Path, *, create: bool = False) -> Iterator:
    """Engine on `path`, closed on exit. A file that is not a fleetctl database, or a store
    without fleet tables, is one line and a non-zero exit, never a traceback."""
    from sqlalchemy.exc import DatabaseError, OperationalError

    from console.store.db import NotADatabaseError, close_engine, open_engine

    try:
        engine = open_engine(path, create=create)
    except DatabaseError as exc:
        fail(f"{path}: not a fleetctl database ({exc.orig})", code=EXIT_ERROR)
    except NotADatabaseError as exc:
        fail(f"{path}: {exc.strerror}", code=EXIT_ERROR)
    try:
        yield engine
    except OperationalError as exc:
        if "no such table" in str(exc):
            fail(f"{path} holds no fleet data yet: load a snapshot first (fleetctl load FILE --db {path})")
        fail(f"{path}: cannot read the database: {exc.orig}", code=EXIT_ERROR)
    except DatabaseError as exc:
        fail(f"{path}: not a fleetctl database ({exc.orig})", code=EXIT_ERROR)
    except NotADatabaseError as exc:
        fail(f"{path}: {exc.strerror}", code=EXIT_ERROR)
    finally:
        close_engine(engine)


@contextmanager
def reading_store(db: Optional[Path]) -> Iterator:
    """Engine on an existing database (see existing_db), closed on exit; nothing is created."""
    with store_session(existing_db(db)) as engine:
        yield engine


# Solver option bounds shared by every solve command (and fit for `runs submit` / `schedule add`).
MAX_TIME_LIMIT_S = 7 * 24 * 3600.0  # a week: longer is a typo (an extra digit, a unit mix-up)


def check_time_limit(seconds: Optional[float], option: str = "--time-limit") -> None:
    """Exit 2 unless `seconds` is None or a finite number of seconds in (0, MAX_TIME_LIMIT_S]."""
    import math

    if seconds is None:
        return
    if not math.isfinite(seconds) or seconds <= 0:
        fail(f"{option} must be a positive, finite number of seconds, got {seconds:g}")
    if seconds > MAX_TIME_LIMIT_S:
        fail(f"{option} {seconds:g} is too long (at most {MAX_TIME_LIMIT_S:g} s, one week)")


def check_workers(workers: Optional[int], option: str = "--workers") -> None:
    """Exit 2 unless `workers` is None or between 1 and engine.checks.MAX_WORKERS."""
    from engine.checks import MAX_WORKERS

    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        fail(f"{option} must be between 1 and {MAX_WORKERS}, got {workers}")


def err(message: str) -> None:
    """Write a diagnostic line to stderr (rich markup allowed)."""
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(message)


def fail(problems: list[str] | str, code: int = EXIT_USAGE, title: str = "error") -> NoReturn:
    if isinstance(problems, str):
        problems = [problems]
    err(f"[bold red]{title}[/]: {len(problems)} problem(s)" if len(problems) > 1 else f"[bold red]{title}[/]: {_escape(problems[0])}")
    if len(problems) > 1:
        _list_problems(problems)
    raise typer.Exit(code)


def _list_problems(problems: list[str]) -> None:
    """One line per problem, at most engine.documents.PROBLEMS_PER_KIND of each kind."""
    from engine.documents import shown_problems

    for p in shown_problems(problems):
        err(f"  - {_escape(p)}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def markup_safe(value) -> str:
    """A user string (id, name, file name, stored error) made safe to print with rich: data, never markup."""
    return _escape(str(value))


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn document errors into a listed report and exit code 2."""
    from engine.documents import DocumentError

    try:
        yield
    except DocumentError as exc:
        problems = exc.problems
        err(f"[bold red]error[/]: {_escape(exc.source)}: {len(problems)} problem(s)")
        _list_problems(problems)
        raise typer.Exit(EXIT_USAGE) from None


def emit_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=False) + "\n")
    sys.stdout.flush()


def check_output_path(path: Optional[Path], option: str = "--out", inputs: tuple = ()) -> None:
    """Fail fast (exit 2) when an output file could never be written, or would overwrite one of the
    command's `inputs` (its database, snapshot, limits...): checked before any long work.
    `-` is standard output; an existing target that is not a regular file (FIFO, device) is refused."""
    from console.output_files import OutputError, check_target, is_stdout

    if path is None or is_stdout(path):
        return
    for source in inputs:
        if source is not None and _same_file(path, Path(source)):
            fail(f"{option} {path}: is also an input of this command; writing there would destroy it")
    if path.is_dir():
        fail(f"{option} {path}: is a directory, give a file name")
    try:
        check_target(path)
    except OutputError as exc:
        fail(f"{option} {exc}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        fail(f"{option} {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        fail(f"{option} {path}: permission denied", code=EXIT_ERROR)


@contextmanager
def output_errors(option: str = "--out") -> Iterator[None]:
    """An output that cannot be written: one line naming the option, exit 1 (2 for a target that
    is not a regular file); the old file is untouched (console.output_files)."""
    from console.output_files import OutputError

    try:
        yield
    except OutputError as exc:
        fail(f"{option} {exc}", code=EXIT_USAGE if exc.usage else EXIT_ERROR)
    except OSError as exc:
        fail(f"cannot write {option}: {exc.strerror or exc}", code=EXIT_ERROR)


def write_output(path: Path, data: str | bytes, option: str = "--out") -> None:
    """Write a result file atomically (`-`: stdout); a failure is one line and exit 1, never a traceback."""
    from console.output_files import write_atomic

    with output_errors(option):
        write_atomic(path, data)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()
