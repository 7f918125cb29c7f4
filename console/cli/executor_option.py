"""`--executor local|dask://HOST:PORT`: where a maintenance solve's per-datacenter sub-solves run.

One option for every command that solves or executes runs (`solve maintenance`, `runs submit`,
`worker`); `FLEETCTL_EXECUTOR` is its default. Checked before anything is read or queued.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from console.cli.common import fail
from console.ops.executors import ENV

ExecutorOption = Annotated[Optional[str], typer.Option(
    "--executor", envvar=ENV, show_envvar=True,
    help="Where per-datacenter sub-solves run: local (worker processes, default) or dask://HOST:PORT "
         "(a Dask scheduler; needs fleetctl[dask] on every machine).")]


def checked_executor(value: Optional[str]) -> Optional[str]:
    """The normalised spec, or exit 2 naming the bad value (None stays None: local). The check is
    console.ops.executors.check_executor, the same the console's Solve screen and the submit path use."""
    from console.ops.errors import InvalidInput
    from console.ops.executors import check_executor

    try:
        return check_executor(value)
    except InvalidInput as exc:
        fail(exc.problems[0].message)
