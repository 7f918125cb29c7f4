"""`fleetctl console`: the Textual operations console."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from console.cli.apps import app
from console.cli.common import EXIT_ERROR, DbOption, fail, resolve_db

LimitsOption = Annotated[Optional[str], typer.Option("--limits", help="Start with this saved limit set.")]


@app.command("console")
def console(db: DbOption = None, limits: LimitsOption = None) -> None:
    """Open the operations console: fleet, limits, solve, live Gantt, allocations, runs."""
    from console.app import run_console  # textual is imported here, never by `fleetctl --help`
    from console.console_data import StoreData, database_problem

    path = resolve_db(db)
    problem = database_problem(path)
    if problem:
        fail(f"cannot open the database {path}: {problem}", code=EXIT_ERROR)
    # The store opens in a worker thread after the first frame (SQLModel's import takes a second).
    run_console(StoreData(path, lazy=True), limits_name=limits)
