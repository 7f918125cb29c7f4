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
        if limit_set is not None and not _limit_set_saved(target.path, limit_set):
            fail(f"no limit set named {limit_set!r} in {target}: see `fleetctl limits list --db {target}`")
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
