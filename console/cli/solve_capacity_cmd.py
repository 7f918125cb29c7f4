"""`fleetctl solve capacity`: Malloovia's two-phase capacity plan from a Malloovia YAML file.

Phase i buys reserved instances for the period (the long-term prediction); phase ii
solves every slot with those counts fixed. Phase ii without --stwp serves the
problem's own workloads (STWP = LTWP). Exit codes: 0 optimal, feasible or overfull;
2 bad input; 3 infeasible; 4 no solution in time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from console.cli.apps import solve_app
from console.cli.common import (EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, check_output_path, check_time_limit, emit_json, err,
                                fail, user_errors)
from console.cli.solve_common import exit_code, interrupt_before_solve

SLOT_TABLE_MAX = 48  # human output lists slots one by one up to this many


def _exit_code(status: str) -> int:
    """As every solve command (solve_common.exit_code); an overfull phase ii plan is a plan too."""
    return exit_code(status, ok=("optimal", "feasible", "overfull"))


@solve_app.command("capacity")
def solve_capacity(
    file: Annotated[Path, typer.Argument(help="Malloovia problem file (YAML).")],
    problem: Annotated[Optional[str], typer.Option("--problem", help="Problem id (needed when the file has several).")] = None,
    phase: Annotated[str, typer.Option("--phase", help="i: reserved counts for the period; ii: every slot, reserved counts fixed.")] = "i",
    relaxed: Annotated[bool, typer.Option("--relaxed", help="Phase i with continuous counts (a lower bound).")] = False,
    stwp: Annotated[Optional[Path], typer.Option("--stwp", help="Phase ii workloads: CSV (header of app ids) or Malloovia YAML. Default: the problem's own workloads.")] = None,
    stwp_problem: Annotated[Optional[str], typer.Option("--stwp-problem", help="Problem id in a YAML --stwp file (default: --problem).")] = None,
    time_limit: Annotated[Optional[float], typer.Option("--time-limit", help="Seconds for the whole solve (both phases).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the solution in Malloovia's solution format (YAML).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    background: Annotated[bool, typer.Option("--background", help="Queue the solve for a background worker (not with --stwp FILE); print the run id and return at once.")] = False,
    db: Annotated[Optional[str], typer.Option("--db", help="Database for --background runs: a path or URL (default: $FLEETCTL_DB, else the user data directory).")] = None,
) -> None:
    """Plan reserved and on-demand instances at least cost (Malloovia's model)."""
    import time

    phase = phase.lower()
    if phase not in ("i", "ii", "1", "2"):
        fail(f"--phase must be i or ii, got {phase!r}")
    phase = "i" if phase in ("i", "1") else "ii"
    if phase == "ii" and relaxed:
        fail("--relaxed applies to phase i only: phase ii needs whole reserved counts")
    if stwp is not None and phase == "i":
        fail("--stwp is for phase ii (phase i plans over the problem's own workloads)")
    check_time_limit(time_limit)
    if not background:
        check_output_path(out, inputs=(file, stwp))

    if background:  # runs (issue 7): a worker process solves it; see `fleetctl runs --help`
        from console.cli.runs_cmds import submit_capacity_background
        from engine.capacity.reader import read_problems

        with user_errors():  # a bad file or problem id is refused now, not reported later by the worker
            problem = _choose_problem(file, read_problems(file), problem)
        submit_capacity_background(db, file, problem, phase, relaxed, time_limit, stwp, stwp_problem,
                                   foreground_outputs={"--out": out, "--json": as_json})

    from engine.capacity.phase_i import solve_phase_i
    from engine.capacity.phase_ii import PhaseIIInputError, solve_phase_ii
    from engine.capacity.reader import read_problems
    from engine.capacity.stwp import stwp_problem as load_stwp
    from engine.violations import PlanRejected

    started = time.perf_counter()
    with interrupt_before_solve(), user_errors():
        problems = read_problems(file)
        problem = _choose_problem(file, problems, problem)
        ltwp = problems[problem]
        short = load_stwp(ltwp, stwp, stwp_problem) if phase == "ii" else None

    try:
        first = solve_phase_i(ltwp, relaxed=relaxed, time_limit=time_limit)
        second = None
        if phase == "ii":
            if not first.has_solution:
                err(f"phase i ended {first.status}: no reserved counts to fix for phase ii")
            else:
                left = None if time_limit is None else max(0.1, time_limit - (time.perf_counter() - started))
                try:
                    second = solve_phase_ii(short, first, time_limit=left)
                except PhaseIIInputError as exc:
                    fail(str(exc))
    except PlanRejected as exc:
        err(f"[bold red]solver bug[/]: {exc}")
        raise typer.Exit(EXIT_ERROR) from None
    except KeyboardInterrupt:
        err("interrupted: no solution written")
        raise typer.Exit(EXIT_INTERRUPTED) from None

    status = first.status if second is None else second.status
    if out is not None and first.has_solution:
        from engine.capacity.writer import write_solution

        try:
            write_solution(out, first, second)
        except OSError as exc:
            fail(f"cannot write --out {out}: {exc.strerror or exc}", code=EXIT_ERROR)
    elif out is not None:
        err(f"no solution to write to {out} (status {status})")

    if as_json:
        emit_json(_result_json(first, second, status, phase))
    else:
        _print_human(first, second, status)
    code = _exit_code(status)
    if code != EXIT_OK:
        raise typer.Exit(code)


def _result_json(first, second, status: str, phase: str) -> dict:
    from engine.capacity.solution import _num

    ids = [ic.id for ic in first.problem.ordered_classes]
    apps = [a.id for a in first.problem.apps]
    phase_i = {
        "status": first.status, "cost": first.cost, "bound": first.bound, "relaxed": first.relaxed,
        "reserved": first.reserved_counts(), "levels": first.levels.n_levels, "slots": first.levels.n_slots,
        "creation_seconds": round(first.creation_time, 4), "solving_seconds": round(first.solving_time, 4),
    }
    if second is None and phase == "ii":  # phase i found nothing to fix
        return {"kind": "capacity", "phase": "ii", "problem": first.problem.id, "status": status, "cost": None,
                "reserved": first.reserved_counts(), "phase_i": phase_i, "slot_statuses": [], "slots": []}
    if second is None:
        out = {"kind": "capacity", "phase": "i", "problem": first.problem.id, **phase_i}
        if first.allocation is not None:
            out["allocation"] = [
                {"workload": [_num(v) for v in lv], "repeats": int(n), "vms": _vms(alloc, apps, ids)}
                for lv, n, alloc in zip(first.levels.values, first.levels.repeats, first.allocation)
            ]
        return out
    ids2 = [ic.id for ic in second.problem.ordered_classes]
    apps2 = [a.id for a in second.problem.apps]
    slots = []
    for t, level in enumerate(second.levels.slot_level):
        r = second.results[level]
        slots.append({
            "slot": t, "workload": [_num(v) for v in second.workloads[t]], "status": r.status, "cost": r.cost,
            "served": None if r.served is None else [round(float(s), 6) for s in r.served],
            "vms": None if r.allocation is None else _vms(r.allocation, apps2, ids2),
        })
    return {
        "kind": "capacity", "phase": "ii", "problem": second.problem.id, "status": status, "cost": second.cost,
        "reserved": first.reserved_counts(), "phase_i": phase_i, "statistics": second.stats,
        "slot_statuses": second.slot_statuses, "slots": slots,
    }


def _vms(alloc, apps: list[str], ids: list[str]) -> dict:
    from engine.capacity.solution import _num

    return {a: {c: _num(v) for c, v in zip(ids, row) if v} for a, row in zip(apps, alloc)}


def _print_human(first, second, status: str) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console(highlight=False, soft_wrap=True)
    p = first.problem
    kind = "relaxed" if first.relaxed else "integer"
    con.print(f"phase i ({kind}) on {p.id!r}: {first.levels.n_slots} slots, {first.levels.n_levels} distinct workload levels")
    con.print(f"  status {first.status}, cost {first.cost if first.cost is not None else '—'}"
              f" ({first.creation_time:.2f} s building, {first.solving_time:.2f} s solving)")
    if first.reserved is not None:
        con.print("  reserved: " + (", ".join(f"{k} {v}" for k, v in first.reserved_counts().items()) or "none"))
    if second is None:
        return
    st = second.stats
    con.print(f"phase ii on {second.problem.id!r}: status {status}, cost {second.cost if second.cost is not None else '—'}")
    con.print(f"  {st['slots']} slots, {st['distinct_workloads']} solved, {st['reused_solutions']} reused; "
              + ", ".join(f"{k} {v}" for k, v in st["slots_by_status"].items()))
    if second.levels.n_slots <= SLOT_TABLE_MAX:
        table = Table("slot", "workload", "status", "cost", "served", box=None)
        for t, level in enumerate(second.levels.slot_level):
            r = second.results[level]
            served = "—" if r.served is None else " ".join(f"{s:.3f}" for s in r.served)
            table.add_row(str(t), " ".join(f"{v:g}" for v in second.workloads[t]), r.status,
                          "—" if r.cost is None else f"{r.cost:g}", served)
        con.print(table)


def _choose_problem(file: Path, problems: dict, problem: Optional[str]) -> str:
    """The problem id to solve: --problem, or the file's only problem."""
    if problem is None:
        if len(problems) != 1:
            fail(f"{file}: holds {len(problems)} problems ({', '.join(problems)}): choose one with --problem")
        problem = next(iter(problems))
    if problem not in problems:
        fail(f"{file}: no problem with id {problem!r} (problems in the file: {', '.join(problems)})")
    return problem
