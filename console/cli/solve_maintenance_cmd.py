"""`fleetctl solve maintenance`: a headless maintenance solve.

Results on stdout (a summary table, or the plan JSON with --json); progress and
diagnostics on stderr. Ctrl-C (SIGTERM, SIGHUP) stops the search, keeps the best plan
(still written), exit 130 (143, 129). The plumbing shared with the other solve commands (inputs, outputs,
--background, the solve thread, exit codes) is in console.cli.solve_common.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from console.cli.apps import solve_app
from console.cli.common import DbOption, emit_json, fail, output_errors, write_output
from console.cli.executor_option import ExecutorOption, checked_executor
from engine.solver_names import MAINTENANCE as MAINTENANCE_SOLVERS
from console.cli.solve_common import (
    LimitSetOption,
    LimitsOption,
    LiveProgress,
    SnapshotOption,
    StopSignals,
    TimeLimitOption,
    WorkersOption,
    check_outputs,
    check_solver_options,
    check_sources,
    finish,
    input_paths,
    interrupt_before_solve,
    print_explanation,
    queue_background,
    read_inputs,
    solve_in_thread,
)
from console.output_files import is_stdout
from console.runbook import write_runbook


@solve_app.command("maintenance")
def solve_maintenance_cmd(
    db: DbOption = None,
    snapshot: SnapshotOption = None,
    limits: LimitsOption = None,
    limit_set: LimitSetOption = None,
    time_limit: TimeLimitOption = None,
    workers: WorkersOption = None,
    solver: Annotated[str, typer.Option("--solver", help=f"One of {', '.join(MAINTENANCE_SOLVERS)} (default cp-sat; the mip-* and cp-sat-fixed formulations fix each VM's target).")] = "cp-sat",
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the plan JSON (FORMATS.md) here.")] = None,
    csv_path: Annotated[Optional[Path], typer.Option("--csv", help="Write the runbook CSV (ordered by start) here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan JSON on stdout instead of a summary.")] = False,
    background: Annotated[bool, typer.Option("--background", help="Queue the solve for a background worker; print the run id and return at once.")] = False,
    executor: ExecutorOption = None,
) -> None:
    """Schedule the migrations and reboots that evacuate and reboot every host that needs it."""
    with interrupt_before_solve():
        executor = checked_executor(executor)
        check_sources(db, snapshot, limits, limit_set)
        check_solver_options(time_limit, workers)
        check_outputs({"--out": out, "--csv": csv_path, "--json": as_json}, input_paths(db, snapshot, limits, limit_set),
                      background)
        inputs = read_inputs(db, snapshot, limits, limit_set)
        snap, lim = inputs.snapshot, inputs.limits

        from engine.maintenance.solve import available_solvers, solve_maintenance

        if solver not in available_solvers():
            fail(f"unknown solver {solver!r}: choose one of {', '.join(available_solvers())}")
        limit_s = float(time_limit if time_limit is not None else lim.solve.time_limit_s)
        if background:  # runs (issue 7): a worker process solves it; see `fleetctl runs --help`
            queue_background("maintenance", db, inputs, {"solver": solver, "time_limit_s": time_limit, "workers": workers,
                                                            "executor": executor})

    display = LiveProgress(limit_s, objective="makespan")
    with StopSignals() as stop:
        plan = solve_in_thread(
            lambda cancel: solve_maintenance(snap, lim, solver=solver, time_limit_s=limit_s, workers=workers,
                                             on_progress=display.update, cancel=cancel, executor=executor),
            name="solve-maintenance", stop=stop, display=display)

        plan = inputs.stamp(plan)
        document = plan.model_dump(mode="json", exclude_none=True)
        if out is not None:
            write_output(out, json.dumps(document, indent=2) + "\n")
        if csv_path is not None:
            with output_errors("--csv"):
                write_runbook(csv_path, plan.migrations, plan.reboots, snap)
        if as_json:
            emit_json(document)
        elif not (is_stdout(out) or is_stdout(csv_path)):  # stdout already holds the file
            _summary(plan, stop.stopped)
        finish(plan.status, stop)


def _summary(plan, interrupted: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="maintenance plan" + (" (interrupted: best so far)" if interrupted else ""), show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    table.add_row("status", plan.status)
    table.add_row("makespan (min)", "-" if plan.makespan is None else str(plan.makespan))
    table.add_row("lower bound (min)", "-" if plan.lower_bound is None else str(plan.lower_bound))
    from engine.progress import relative_gap

    gap = relative_gap(plan.makespan, plan.lower_bound)
    if gap is not None:
        table.add_row("gap", f"{gap:.1%}")
    table.add_row("migrations", str(len(plan.migrations)))
    table.add_row("reboots", str(len(plan.reboots)))
    table.add_row("solver", f"{plan.solver.name} ({plan.solver.wall_s:.1f} s)")
    console = Console(highlight=False, soft_wrap=True)
    console.print(table)
    print_explanation(console, plan.explanation)
