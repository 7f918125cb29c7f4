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
    from console.console_data import StoreData

    path = resolve_db(db)
    try:
        data = StoreData(path)
    except Exception as exc:  # not a SQLite file, unreadable, a directory …: say so, no traceback
        fail(f"cannot open the database {path}: {exc}", code=EXIT_ERROR)
    run_console(data, limits_name=limits)
