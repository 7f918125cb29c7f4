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


def default_db_path() -> str:
    """$FLEETCTL_DB (a path or URL), else fleet.db in the user data directory."""
    env = os.environ.get("FLEETCTL_DB")
    if env:
        return env
    from platformdirs import user_data_dir

    return str(Path(user_data_dir("fleetctl")) / "fleet.db")


DbOption = Annotated[
    Optional[str],
    typer.Option("--db", help="Database: a SQLite file path, sqlite:///path or postgresql://user@host:port/db "
                              "(default: $FLEETCTL_DB, else the user data directory)."),
]


def db_target(db) -> "DbTarget":
    """The one resolution of --db / $FLEETCTL_DB (console.store.urls); an unknown scheme exits 2.
    The result prints masked (no password); `.path` is the SQLite file, if any."""
    from console.store.urls import DbTargetError, parse_db_target

    try:
        return parse_db_target(db if db is not None else default_db_path())
    except DbTargetError as exc:
        fail(str(exc))


def resolve_db(db) -> "DbTarget":
    """--db of a command that may create the database (a SQLite file's folder is made 0700)."""
    target = db_target(db)
    if target.path is not None:
        from console.store.db import make_private_dirs

        make_private_dirs(target.path.parent)
    return target


def existing_db(db) -> "DbTarget":
    """The --db of a command that only reads: a SQLite file must exist (exit 2 otherwise); nothing is created."""
    target = db_target(db)
    if target.path is not None and not target.path.exists():
        fail(f"no database at {target}: load a snapshot first (fleetctl load FILE --db {target})")
    return target


@contextmanager
def store_session(target, *, create: bool = False) -> Iterator:
    """Engine on `target` (a DbTarget, path or URL), closed on exit. A file that is not a fleetctl
    database, a schema too old or too new, an unreachable server: one line and a non-zero exit,
    never a traceback, and never a password."""
    from sqlalchemy.exc import DatabaseError, OperationalError

    from console.store.db import NotADatabaseError, close_engine, open_engine
    from console.store.schema import SchemaError

    target = db_target(target)
    try:
        engine = open_engine(target, create=create)
        if not create:
            from console.store.schema import check_schema

            check_schema(engine)
    except SchemaError as exc:
        fail(str(exc))
    except OperationalError as exc:
        fail(f"{target}: cannot open the database: {_db_error(exc)}", code=EXIT_ERROR)
    except DatabaseError as exc:
        fail(f"{target}: not a fleetctl database ({_db_error(exc)})", code=EXIT_ERROR)
    except NotADatabaseError as exc:
        fail(f"{target}: {exc.strerror}", code=EXIT_ERROR)
    try:
        yield engine
    except SchemaError as exc:
        fail(str(exc))
    except DatabaseError as exc:
        if "no such table" in str(exc) or "does not exist" in str(exc.orig):
            fail(f"{target} holds no fleet data yet: load a snapshot first (fleetctl load FILE --db {target})")
        if isinstance(exc, OperationalError):
            fail(f"{target}: cannot read the database: {_db_error(exc)}", code=EXIT_ERROR)
        fail(f"{target}: not a fleetctl database ({_db_error(exc)})", code=EXIT_ERROR)
    except NotADatabaseError as exc:
        fail(f"{target}: {exc.strerror}", code=EXIT_ERROR)
    finally:
        close_engine(engine)


def _db_error(exc) -> str:
    """The driver's message, first line, passwords masked."""
    from console.store.urls import mask_url

    text = str(exc.orig if getattr(exc, "orig", None) is not None else exc).strip().splitlines()
    return mask_url(text[0] if text else type(exc).__name__)


@contextmanager
def reading_store(db) -> Iterator:
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


@contextmanager
def ops_errors() -> Iterator[None]:
    """Render the application layer's refusals (console.ops.errors): one `error:` line per problem;
    exit 1 when the store cannot be reached, else 2."""
    from console.ops.errors import OpsError, SchemaMismatch, StoreUnavailable

    try:
        yield
    except OpsError as exc:
        code = EXIT_ERROR if isinstance(exc, StoreUnavailable) and not isinstance(exc, SchemaMismatch) else EXIT_USAGE
        lines = exc.lines()
        if exc.source and len(lines) > 1:
            err(f"[bold red]error[/]: {_escape(exc.source)}: {len(lines)} problem(s)")
            for line in lines:
                err(f"  - {_escape(line)}")
            raise typer.Exit(code) from None
        fail([f"{exc.source}: {line}" if exc.source else line for line in lines], code=code)


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
