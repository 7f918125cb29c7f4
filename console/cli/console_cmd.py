"""`fleetctl console`: the Textual operations console."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from console.cli.apps import app
from console.cli.common import DbOption, resolve_db

LimitsOption = Annotated[Optional[str], typer.Option("--limits", help="Start with this saved limit set.")]


@app.command("console")
def console(db: DbOption = None, limits: LimitsOption = None) -> None:
    """Open the operations console: fleet, limits, solve, live Gantt, allocations, runs."""
    from console.app import run_console  # textual is imported here, never by `fleetctl --help`

    run_console(resolve_db(db), limits_name=limits)
