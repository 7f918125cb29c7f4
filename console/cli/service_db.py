"""The --db of the service commands: a path or a database URL (postgresql://…, sqlite:///…)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

ServiceDbOption = Annotated[Optional[str], typer.Option(
    "--db", help="Database: a SQLite file or a URL (postgresql://user@host:port/db). Default: $FLEETCTL_DB, "
                 "else the user data directory. Put a password in $FLEETCTL_DB or ~/.pgpass, not on the command line.")]


def service_db(db: Optional[str]) -> str:
    text = db or os.environ.get("FLEETCTL_DB")
    if not text:
        from console.cli.common import default_db_path

        text = str(default_db_path())
    if "://" in text:
        return text
    path = Path(text).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)
