"""`fleetctl solve placement` and `fleetctl import-vbp`.

solve placement: where pending VMs go (min_hosts, balance) or how to repack the
fleet with a move budget (rebalance). Progress on stderr, the result on stdout.
Exit codes (as maintenance): 0 optimal/feasible, 1 solver error, 2 bad input,
3 infeasible, 4 no plan in time, 130/143/129 stopped by SIGINT/SIGTERM/SIGHUP (the best plan so
far is kept and written).

import-vbp: a VPSolver vector-packing file → a snapshot of pending VMs and
identical empty hosts, so published benchmark sets run through the solvers.
"""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from console.cli.apps import app, solve_app
from console.cli.common import markup_safe  # user strings (ids, file names) are data, never markup
from console.cli.common import EXIT_ERROR, DbOption, check_output_path, emit_json, err, fail, user_errors, write_output
from engine.solver_names import PLACEMENT as PLACEMENT_SOLVERS
from console.cli.solve_common import (
    LimitSetOption,
    LimitsOption,
    ProgressLines,
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

SHOWN_ROWS = 30  # human output lists this many assignments / moves


Solver = enum.Enum("Solver", {name.replace("-", "_"): name for name in PLACEMENT_SOLVERS}, type=str)


class Objective(str, enum.Enum):
    min_hosts = "min_hosts"
    balance = "balance"
    rebalance = "rebalance"


@solve_app.command("placement")
def solve_placement_cmd(
    db: DbOption = None,
    snapshot_file: SnapshotOption = None,
    limits_file: LimitsOption = None,
    limit_set: LimitSetOption = None,
    solver: Annotated[Solver, typer.Option("--solver", help=f"{', '.join(PLACEMENT_SOLVERS)} (colgen: set-covering LP, min_hosts).")] = Solver.auto,
    objective: Annotated[Optional[Objective], typer.Option("--objective", help="min_hosts, balance or rebalance (default: the limits' placement.objective).")] = None,
    max_moves: Annotated[Optional[int], typer.Option("--max-moves", min=0, help="rebalance: at most this many moves.")] = None,
    time_limit: TimeLimitOption = None,
    workers: WorkersOption = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the plan (JSON).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
    background: Annotated[bool, typer.Option("--background", help="Queue the solve for a background worker; print the run id and return at once.")] = False,
) -> None:
    """Place pending VMs on active hosts (or repack with --objective rebalance)."""
    chosen = objective.value if objective is not None else None
    with interrupt_before_solve():
        check_sources(db, snapshot_file, limits_file, limit_set)
        check_solver_options(time_limit, workers)
        check_outputs({"--out": out, "--json": as_json}, input_paths(db, snapshot_file, limits_file, limit_set),
                      background)
        inputs = read_inputs(db, snapshot_file, limits_file, limit_set)
        snapshot, limits = inputs.snapshot, inputs.limits
        final_objective = chosen or limits.placement.objective
        if max_moves is not None and final_objective != "rebalance":
            fail(f"--max-moves applies to --objective rebalance only (objective is {final_objective})")
        if background:  # runs (issue 7): a worker process solves it; see `fleetctl runs --help`
            queue_background("placement", db, inputs, {"solver": solver.value, "objective": chosen,
                                                       "max_moves": max_moves, "time_limit_s": time_limit,
                                                       "workers": workers})
        from engine.placement.solve import solve_placement

    display = ProgressLines()
    with StopSignals() as stop:
        plan = solve_in_thread(
            lambda cancel: solve_placement(snapshot, limits, solver=solver.value, objective=chosen,
                                           time_limit_s=time_limit, workers=workers, on_progress=display.update,
                                           cancel=cancel, max_moves=max_moves),
            name="placement-solve", stop=stop, display=display)
        if plan is None:
            err(f"{stop.name or 'stopped'}: no plan had been found yet; nothing written")
            raise typer.Exit(stop.exit_code if stop.stopped else EXIT_ERROR)

        plan = inputs.stamp(plan)
        document = plan.model_dump(mode="json", by_alias=True, exclude_none=True)
        if out is not None:
            write_output(out, json.dumps(document, indent=2) + "\n")
            if not is_stdout(out):
                err(f"plan written to {markup_safe(out)}")
        if as_json:
            emit_json(document)
        elif not is_stdout(out):  # stdout already holds the plan
            _print_human(plan, snapshot, limits)
        if stop.stopped:
            err(f"{stop.name}: the best plan found so far is shown")
        finish(plan.status, stop)


def _print_human(plan, snapshot, limits) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    from engine.progress import relative_gap

    gap = relative_gap(plan.value, plan.lower_bound)
    gap = "" if gap is None else f"  gap {100 * gap:.1f}%"
    value = "—" if plan.value is None else f"{plan.value:g}"
    bound = "—" if plan.lower_bound is None else f"{plan.lower_bound:g}"
    console.print(f"[bold]{plan.status}[/]  {plan.objective} = {value}  lower bound {bound}{gap}  "
                  f"solver {plan.solver.name}  {plan.solver.wall_s:.2f}s")
    print_explanation(console, plan.explanation)
    if plan.assignments:
        table = Table(title=f"{len(plan.assignments)} assignment(s)", show_edge=False)
        table.add_column("vm")
        table.add_column("host")
        for a in plan.assignments[:SHOWN_ROWS]:
            table.add_row(markup_safe(a.vm), markup_safe(a.host))
        console.print(table)
        if len(plan.assignments) > SHOWN_ROWS:
            console.print(f"… and {len(plan.assignments) - SHOWN_ROWS} more (use --json or --out)")
    if plan.moves:
        from engine.placement.migrations import moves_to_migrations

        runbook = moves_to_migrations(snapshot, limits, plan)
        table = Table(title=f"{len(plan.moves)} move(s), run one by one", show_edge=False)
        for col in ("vm", "from", "to", "start", "end"):
            table.add_column(col)
        for m in runbook.migrations[:SHOWN_ROWS]:
            table.add_row(markup_safe(m.vm), markup_safe(m.source), markup_safe(m.target), str(m.start), str(m.end))
        console.print(table)
        if runbook.blocked:
            console.print(f"[yellow]{len(runbook.blocked)} move(s) need a temporary host first[/]: "
                          + markup_safe(", ".join(runbook.blocked[:10])))


@app.command("import-vbp")
def import_vbp_cmd(
    file: Annotated[Path, typer.Argument(help="VPSolver vector-packing file (.vbp).")],
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the snapshot here (default: stdout).")] = None,
) -> None:
    """Turn a vector-packing benchmark file into a snapshot of pending VMs and identical empty hosts."""
    check_output_path(out, "--out", inputs=(file,))
    from engine.documents import parse_snapshot
    from engine.placement.vbp import VbpError, snapshot_from_vbp

    try:
        document = snapshot_from_vbp(file)
    except VbpError as exc:
        fail(exc.problems if len(exc.problems) > 1 else f"{exc.source}: {exc.problems[0]}")
    with user_errors():
        parse_snapshot(document, str(file))  # the import must be a valid snapshot
    text = json.dumps(document, indent=1) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        write_output(out, text)
        err(f"{markup_safe(file)}: {len(document['vms'])} VMs, {len(document['hosts'])} hosts → {markup_safe(out)}")
