"""Where a maintenance run's per-datacenter sub-solves run: `local` or `dask://HOST:PORT`.

    check_executor(value) -> Optional[str]     normalised spec (None stays None); InvalidInput naming options.executor
    default_executor(settings=None) -> str     FLEETCTL_EXECUTOR, else the console setting "executor", else local

The one check of an executor value for every front-end — the CLI's --executor, the console's
Solve field and the submit path (console.ops.runs) — over engine.executors.check_spec, so they
accept and refuse exactly the same values with the same message.
"""

from __future__ import annotations

import os
from typing import Optional

from console.ops.errors import InvalidInput, Problem

ENV = "FLEETCTL_EXECUTOR"
FIELD = "options.executor"


def check_executor(value: Optional[str]) -> Optional[str]:
    """`value` normalised (None: nobody chose, the worker's default applies); InvalidInput otherwise."""
    if value is None:
        return None
    from engine.executors import ExecutorError, check_spec

    try:
        return check_spec(value)
    except ExecutorError as exc:
        raise InvalidInput(Problem(str(exc), field=FIELD)) from None


def default_executor(settings: Optional[dict] = None) -> str:
    """What the console offers before the operator picks: the environment (as the CLI's default),
    else the console's remembered setting, else local. Not checked here: the field shows it and
    the check names it if it is bad."""
    env = os.environ.get(ENV, "").strip()
    if env:
        return env
    remembered = (settings or {}).get("executor")
    return remembered.strip() if isinstance(remembered, str) and remembered.strip() else "local"
