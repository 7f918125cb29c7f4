"""`--executor local|dask://HOST:PORT`: where a maintenance solve's per-datacenter sub-solves run.

One option for every command that solves or executes runs (`solve maintenance`, `runs submit`,
`worker`); `FLEETCTL_EXECUTOR` is its default. Checked before anything is read or queued.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from console.cli.common import fail

ENV = "FLEETCTL_EXECUTOR"

ExecutorOption = Annotated[Optional[str], typer.Option(
    "--executor", envvar=ENV, show_envvar=True,
    help="Where per-datacenter sub-solves run: local (worker processes, default) or dask://HOST:PORT "
         "(a Dask scheduler; needs fleetctl[dask] on every machine).")]


def checked_executor(value: Optional[str]) -> Optional[str]:
    """The normalised spec, or exit 2 naming the bad value (None stays None: local)."""
    if value is None:
        return None
    from engine.executors import ExecutorError, check_spec

    try:
        return check_spec(value)
    except ExecutorError as exc:
        fail(str(exc))
