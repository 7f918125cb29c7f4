"""`fleetctl solve placement` and `fleetctl import-vbp`.

solve placement: where pending VMs go (min_hosts, balance) or how to repack the
fleet with a move budget (rebalance). Progress on stderr, the result on stdout.
Exit codes (as maintenance): 0 optimal/feasible, 1 solver error, 2 bad input,
3 infeasible, 4 no plan in time, 130 interrupted (the best plan so far is kept).

import-vbp: a VPSolver vector-packing file → a snapshot of pending VMs and
identical empty hosts, so published benchmark sets run through the solvers.
"""

from __future__ import annotations

import enum
import json
import threading
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from console.cli.apps import app, solve_app
from console.cli.common import (
    EXIT_ERROR,
    EXIT_INFEASIBLE,
    EXIT_INTERRUPTED,
    EXIT_NO_PLAN,
    EXIT_OK,
    DbOption,
    emit_json,
    err,
    fail,
    resolve_db,
    user_errors,
)

SHOWN_ROWS = 30  # human output lists this many assignments / moves


class Solver(str, enum.Enum):
    auto = "auto"
    ffd = "ffd"
    bfd = "bfd"
    cbc = "cbc"
    cp_sat = "cp-sat"
    lns = "lns"


class Objective(str, enum.Enum):
    min_hosts = "min_hosts"
    balance = "balance"
    rebalance = "rebalance"


def exit_code(status: str) -> int:
    if status in ("optimal", "feasible"):
        return EXIT_OK
    if status == "infeasible":
        return EXIT_INFEASIBLE
    return EXIT_NO_PLAN


@solve_app.command("placement")
def solve_placement_cmd(
    db: DbOption = None,
    snapshot_file: Annotated[Optional[Path], typer.Option("--snapshot", help="Snapshot file (JSON/YAML) instead of the database's fleet.")] = None,
    limits_file: Annotated[Optional[Path], typer.Option("--limits", help="Limits file (JSON/YAML).")] = None,
    solver: Annotated[Solver, typer.Option("--solver", help="auto, ffd, bfd, cbc, cp-sat or lns.")] = Solver.auto,
    objective: Annotated[Optional[Objective], typer.Option("--objective", help="min_hosts, balance or rebalance (default: the limits' placement.objective).")] = None,
    max_moves: Annotated[Optional[int], typer.Option("--max-moves", min=0, help="rebalance: at most this many moves.")] = None,
    time_limit: Annotated[Optional[float], typer.Option("--time-limit", min=0.1, help="Seconds (default: the limits' solve.time_limit_s).")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", min=1, help="Solver threads.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the plan (JSON).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
    background: Annotated[bool, typer.Option("--background", help="Queue the solve for a background worker; print the run id and return at once.")] = False,
) -> None:
    """Place pending VMs on active hosts (or repack with --objective rebalance)."""
    if snapshot_file is not None and db is not None:
        fail("choose one input: --db DB or --snapshot FILE")
    chosen = objective.value if objective is not None else None
    from engine.documents import load_limits

    with user_errors():
        limits = load_limits(limits_file)
        snapshot = _read_snapshot(db, snapshot_file)
    final_objective = chosen or limits.placement.objective
    if max_moves is not None and final_objective != "rebalance":
        fail(f"--max-moves applies to --objective rebalance only (objective is {final_objective})")
    if background:  # runs (issue 7): a worker process solves it; see `fleetctl runs --help`
        from console.cli.runs_cmds import submit_background_cmd

        submit_background_cmd("placement", db, snapshot, limits, limits_file,
                              {"solver": solver.value, "objective": chosen, "max_moves": max_moves,
                               "time_limit_s": time_limit, "workers": workers},
                              foreground_outputs={"--out": out, "--json": as_json})

    plan, interrupted, error = _solve_with_interrupt(snapshot, limits, solver.value, chosen, time_limit, workers, max_moves)
    if error is not None:
        from engine.violations import PlanRejected

        if isinstance(error, PlanRejected):
            err(f"[bold red]solver bug[/]: {error}")
            raise typer.Exit(EXIT_ERROR)
        if isinstance(error, ValueError):
            fail(str(error))
        raise error
    if plan is None:
        err("interrupted before any plan was found")
        raise typer.Exit(EXIT_INTERRUPTED)

    document = plan.model_dump(mode="json", by_alias=True, exclude_none=True)
    if out is not None:
        out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        err(f"plan written to {out}")
    if as_json:
        emit_json(document)
    else:
        _print_human(plan, snapshot, limits)
    if interrupted:
        err("interrupted: the best plan found so far is shown")
        raise typer.Exit(EXIT_INTERRUPTED)
    code = exit_code(plan.status)
    if code != EXIT_OK:
        raise typer.Exit(code)


def _read_snapshot(db: Optional[Path], snapshot_file: Optional[Path]):
    if snapshot_file is not None:
        from engine.documents import load_snapshot

        return load_snapshot(snapshot_file)
    path = resolve_db(db)
    if not path.exists():
        fail(f"{path}: no database (load a fleet with `fleetctl load FILE --db {path}`, or pass --snapshot FILE)")
    from console.store.db import open_engine
    from console.store.fleet_store import current_snapshot

    engine = open_engine(path, create=False)
    try:
        snapshot = current_snapshot(engine)
    finally:
        engine.dispose()
    if snapshot is None:
        fail(f"{path}: no fleet loaded (use `fleetctl load FILE --db {path}`, or pass --snapshot FILE)")
    return snapshot


def _solve_with_interrupt(snapshot, limits, solver, objective, time_limit, workers, max_moves):
    """Solve in a thread; Ctrl-C cancels it and keeps the best plan (NOTES.md: never join() blindly)."""
    from engine.placement.solve import solve_placement
    from engine.progress import Cancellation

    cancel = Cancellation()
    done = threading.Event()
    result: dict = {}
    last = [0.0]

    def progress(event) -> None:
        now = time.monotonic()
        if now - last[0] < 0.5 and not (event.message or "").endswith(")"):
            return
        last[0] = now
        parts = [f"{event.elapsed_s:6.1f}s"]
        if event.objective is not None:
            parts.append(f"value {event.objective:g}")
        if event.bound is not None:
            parts.append(f"bound {event.bound:g}")
        if event.message:
            parts.append(event.message)
        err("  ".join(parts))

    def work() -> None:
        try:
            result["plan"] = solve_placement(snapshot, limits, solver=solver, objective=objective,
                                             time_limit_s=time_limit, workers=workers, on_progress=progress,
                                             cancel=cancel, max_moves=max_moves)
        except BaseException as exc:  # handed to the main thread
            result["error"] = exc
        finally:
            done.set()

    thread = threading.Thread(target=work, name="placement-solve", daemon=True)
    thread.start()
    interrupted = False
    while not done.is_set():
        try:
            done.wait(0.2)
        except KeyboardInterrupt:
            interrupted = True
            err("interrupt: stopping the solver, keeping the best plan …")
            cancel.cancel()
    return result.get("plan"), interrupted, result.get("error")


def _print_human(plan, snapshot, limits) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    gap = ""
    if plan.value is not None and plan.lower_bound is not None and plan.value > 0:
        gap = f"  gap {100 * (plan.value - plan.lower_bound) / plan.value:.1f}%"
    value = "—" if plan.value is None else f"{plan.value:g}"
    bound = "—" if plan.lower_bound is None else f"{plan.lower_bound:g}"
    console.print(f"[bold]{plan.status}[/]  {plan.objective} = {value}  lower bound {bound}{gap}  "
                  f"solver {plan.solver.name}  {plan.solver.wall_s:.2f}s")
    if plan.explanation:
        console.print(plan.explanation)
    if plan.assignments:
        table = Table(title=f"{len(plan.assignments)} assignment(s)", show_edge=False)
        table.add_column("vm")
        table.add_column("host")
        for a in plan.assignments[:SHOWN_ROWS]:
            table.add_row(a.vm, a.host)
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
            table.add_row(m.vm, m.source, m.target, str(m.start), str(m.end))
        console.print(table)
        if runbook.blocked:
            console.print(f"[yellow]{len(runbook.blocked)} move(s) need a temporary host first[/]: "
                          + ", ".join(runbook.blocked[:10]))


@app.command("import-vbp")
def import_vbp_cmd(
    file: Annotated[Path, typer.Argument(help="VPSolver vector-packing file (.vbp).")],
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the snapshot here (default: stdout).")] = None,
) -> None:
    """Turn a vector-packing benchmark file into a snapshot of pending VMs and identical empty hosts."""
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
        out.write_text(text, encoding="utf-8")
        err(f"{file}: {len(document['vms'])} VMs, {len(document['hosts'])} hosts → {out}")
