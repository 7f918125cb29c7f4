"""`fleetctl console`: the Textual operations console."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from console.cli.apps import app
from console.cli.common import EXIT_ERROR, DbOption, existing_db, fail

# --limit-set, as `solve`, `runs submit` and `schedule add`: everywhere else --limits names a FILE.
LimitSetOption = Annotated[Optional[str], typer.Option("--limit-set", help="Start with this limit set saved in the database.")]


@app.command("console")
def console(db: DbOption = None, limit_set: LimitSetOption = None) -> None:
    """Open the operations console: fleet, limits, solve, live Gantt, allocations, runs."""
    target = existing_db(db)  # a typo'd --db is refused, never a new empty database
    from console.app import run_console  # textual is imported here, never by `fleetctl --help`
    from console.console_data import StoreData, database_problem

    if target.path is not None:  # SQLite: cheap checks with the standard library before the UI
        problem = database_problem(target.path)
        if problem:
            fail(f"cannot open the database {target}: {problem}", code=EXIT_ERROR)
        problem = _schema_problem(target.path)
        if problem:
            fail(f"{target}: {problem}")
        if limit_set is not None and not _limit_set_saved(target.path, limit_set):
            fail(f"no limit set named {limit_set!r} in {target}: see `fleetctl limits list --db {target}`")
    else:  # a server: reachable, and at this fleetctl's schema, before the UI starts
        from console.cli.common import store_session

        with store_session(target):
            pass
    # The store opens in a worker thread after the first frame (SQLModel's import takes a second).
    run_console(StoreData(target.spawn_target, lazy=True), limits_name=limit_set)


def _limit_set_saved(path, name: str) -> bool:
    """Whether `name` is a saved limit set, read with the standard library: importing SQLModel here
    would delay the console's first frame by a second."""
    import sqlite3

    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        return con.execute("SELECT 1 FROM limit_sets WHERE name = ?", (name,)).fetchone() is not None
    except sqlite3.Error:  # no limit_sets table yet: nothing was ever saved
        return False
    finally:
        con.close()


def _schema_problem(path) -> str | None:
    """Why the store's schema is not this fleetctl's (console.store.schema says the same on open),
    read with the standard library before the UI starts; None when it is (or the file is new)."""
    import sqlite3

    from console.store.revisions import HEAD, KNOWN_REVISIONS

    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "alembic_version" not in tables:
            return f"made by an older fleetctl: run `fleetctl db upgrade --db {path}`" if "snapshots" in tables else None
        revision = con.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    finally:
        con.close()
    revision = revision[0] if revision else None
    if revision == HEAD:
        return None
    if revision in KNOWN_REVISIONS:
        return f"schema {revision} is older than this fleetctl's ({HEAD}): run `fleetctl db upgrade --db {path}`"
    return f"schema {revision!r} is newer than this fleetctl knows ({HEAD}): use a newer fleetctl"
