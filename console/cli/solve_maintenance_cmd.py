"""`fleetctl solve maintenance`: a headless maintenance solve.

Results on stdout (a summary table, or the plan JSON with --json); progress
and diagnostics on stderr. The solve runs in a thread while the main thread
waits on an Event in a short loop, so Ctrl-C reaches Python: it stops the
search (CP-SAT keeps its best plan), the plan is still written, exit 130.
(CP-SAT swallows SIGINT when it runs in the main thread, and Thread.join()
lost the result — NOTES.md.)
"""

from __future__ import annotations

import csv
import json
import threading
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from console.cli.apps import solve_app
from console.cli.common import (
    EXIT_ERROR,
    EXIT_INFEASIBLE,
    EXIT_INTERRUPTED,
    EXIT_NO_PLAN,
    EXIT_OK,
    EXIT_USAGE,
    DbOption,
    emit_json,
    err,
    fail,
    resolve_db,
    user_errors,
)

STATUS_EXIT = {"optimal": EXIT_OK, "feasible": EXIT_OK, "infeasible": EXIT_INFEASIBLE, "unknown": EXIT_NO_PLAN}


@solve_app.command("maintenance")
def solve_maintenance_cmd(
    db: DbOption = None,
    snapshot: Annotated[Optional[Path], typer.Option("--snapshot", help="Snapshot file (JSON/YAML) instead of the database.")] = None,
    limits: Annotated[Optional[Path], typer.Option("--limits", help="Limits file (JSON/YAML); default limits otherwise.")] = None,
    time_limit: Annotated[Optional[float], typer.Option("--time-limit", help="Seconds (default: limits.solve.time_limit_s).")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", help="Worker threads/processes (default: limits.solve.workers, else all cores).")] = None,
    solver: Annotated[str, typer.Option("--solver", help="cp-sat (default) or heuristic; MIP formulations when installed.")] = "cp-sat",
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the plan JSON (FORMATS.md) here.")] = None,
    csv_path: Annotated[Optional[Path], typer.Option("--csv", help="Write the runbook CSV (ordered by start) here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan JSON on stdout instead of a summary.")] = False,
    background: Annotated[bool, typer.Option("--background", help="Queue the solve for a background worker; print the run id and return at once.")] = False,
) -> None:
    """Schedule the migrations and reboots that evacuate and reboot every host that needs it."""
    from engine.documents import load_limits, load_snapshot

    if db is not None and snapshot is not None:
        fail("give either --db or --snapshot, not both")
    if time_limit is not None and time_limit <= 0:
        fail("--time-limit must be positive")
    if workers is not None and workers < 1:
        fail("--workers must be at least 1")
    with user_errors():
        lim = load_limits(limits)
        snap = load_snapshot(snapshot) if snapshot is not None else _snapshot_from_db(db)

    from engine.maintenance.solve import available_solvers, solve_maintenance
    from engine.progress import Cancellation
    from engine.violations import PlanRejected

    if solver not in available_solvers():
        fail(f"unknown solver {solver!r}: choose one of {', '.join(available_solvers())}")
    limit_s = float(time_limit if time_limit is not None else lim.solve.time_limit_s)

    if background:  # runs (issue 7): a worker process solves it; see `fleetctl runs --help`
        from console.cli.runs_cmds import submit_background_cmd

        submit_background_cmd("maintenance", db, snap, lim, limits, {"solver": solver, "time_limit_s": time_limit,
                              "workers": workers}, foreground_outputs={"--out": out, "--csv": csv_path, "--json": as_json})

    cancel = Cancellation()
    done = threading.Event()
    box: dict = {}
    display = _ProgressDisplay(limit_s)

    def work() -> None:
        try:
            box["plan"] = solve_maintenance(snap, lim, solver=solver, time_limit_s=limit_s, workers=workers,
                                            on_progress=display.update, cancel=cancel)
        except BaseException as exc:  # reported by the main thread
            box["error"] = exc
        finally:
            done.set()

    interrupted = False
    thread = threading.Thread(target=work, name="solve-maintenance", daemon=True)
    display.start()
    thread.start()
    try:
        while not done.wait(0.1):
            display.tick()
    except KeyboardInterrupt:
        interrupted = True
        err("[yellow]interrupted[/]: stopping the search, keeping the best plan …")
        cancel.cancel()
        while not done.wait(0.1):
            pass
    finally:
        display.stop()

    if "error" in box:
        exc = box["error"]
        if isinstance(exc, PlanRejected):
            fail(str(exc), code=EXIT_ERROR, title="solver bug")
        if isinstance(exc, ValueError):
            fail(str(exc), code=EXIT_USAGE)
        fail(f"{type(exc).__name__}: {exc}", code=EXIT_ERROR)
    plan = box["plan"]
    if out is not None:
        out.write_text(json.dumps(plan.model_dump(mode="json", exclude_none=True), indent=2) + "\n", encoding="utf-8")
    if csv_path is not None:
        write_runbook(plan, csv_path)
    if as_json:
        emit_json(plan.model_dump(mode="json", exclude_none=True))
    else:
        _summary(plan, interrupted)
    if interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    raise typer.Exit(STATUS_EXIT[plan.status])


def _snapshot_from_db(db: Optional[Path]):
    from engine.documents import DocumentError

    path = resolve_db(db)
    if not path.exists():
        raise DocumentError(str(path), ["database not found: load a snapshot first (fleetctl load FILE --db DB)"])
    from console.store.db import open_engine
    from console.store.fleet_store import current_snapshot

    engine = open_engine(path, create=False)
    snap = current_snapshot(engine)
    if snap is None:
        raise DocumentError(str(path), ["the database holds no snapshot: load one first (fleetctl load FILE)"])
    return snap


def runbook_rows(plan) -> list[dict]:
    """Migrations and reboots as one list of steps ordered by start (reboots after migrations ending then)."""
    rows = [{"start": m.start, "end": m.end, "action": "migrate", "vm": m.vm, "source": m.source, "target": m.target,
             "host": m.source} for m in plan.migrations]
    rows += [{"start": r.start, "end": r.end, "action": "reboot", "vm": "", "source": "", "target": "", "host": r.host}
             for r in plan.reboots]
    rows.sort(key=lambda r: (r["start"], r["action"] != "reboot", r["end"], r["vm"] or r["host"]))
    for i, r in enumerate(rows, 1):
        r["step"] = i
    return rows


def write_runbook(plan, path: Path) -> None:
    fields = ["step", "start", "end", "action", "vm", "source", "target", "host"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for row in runbook_rows(plan):
            writer.writerow({k: row[k] for k in fields})


def _summary(plan, interrupted: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="maintenance plan" + (" (interrupted: best so far)" if interrupted else ""), show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    table.add_row("status", plan.status)
    table.add_row("makespan (min)", "-" if plan.makespan is None else str(plan.makespan))
    table.add_row("lower bound (min)", "-" if plan.lower_bound is None else str(plan.lower_bound))
    if plan.makespan and plan.lower_bound is not None:
        table.add_row("gap", f"{(plan.makespan - plan.lower_bound) / plan.makespan:.1%}")
    table.add_row("migrations", str(len(plan.migrations)))
    table.add_row("reboots", str(len(plan.reboots)))
    table.add_row("solver", f"{plan.solver.name} ({plan.solver.wall_s:.1f} s)")
    if plan.explanation:
        table.add_row("explanation", plan.explanation)
    Console(highlight=False, soft_wrap=True).print(table)


class _ProgressDisplay:
    """Elapsed vs limit, objective, bound and gap on stderr (live when stderr is a terminal)."""

    def __init__(self, limit_s: float):
        from rich.console import Console

        self.console = Console(stderr=True, highlight=False)
        self.limit_s = limit_s
        self.t0 = time.monotonic()
        self.objective: Optional[float] = None
        self.bound: Optional[float] = None
        self.live = None
        self.lock = threading.Lock()
        self.last_line = 0.0

    def start(self) -> None:
        if self.console.is_terminal:
            from rich.live import Live

            self.live = Live(self._render(), console=self.console, refresh_per_second=5, transient=False)
            self.live.start()

    def update(self, event) -> None:
        with self.lock:
            if event.objective is not None:
                self.objective = event.objective
            if event.bound is not None:
                self.bound = event.bound

    def tick(self) -> None:
        if self.live is not None:
            self.live.update(self._render())
        elif time.monotonic() - self.last_line >= 5.0:
            self.last_line = time.monotonic()
            self.console.print(self._text())

    def stop(self) -> None:
        if self.live is not None:
            self.live.update(self._render())
            self.live.stop()
        else:
            self.console.print(self._text())

    def _text(self) -> str:
        with self.lock:
            obj, bound = self.objective, self.bound
        elapsed = time.monotonic() - self.t0
        gap = "-"
        if obj and bound is not None:
            gap = f"{max(0.0, (obj - bound) / obj):.1%}"
        return (f"solving: {elapsed:5.1f}/{self.limit_s:g} s  makespan {'-' if obj is None else int(obj)}  "
                f"bound {'-' if bound is None else int(bound)}  gap {gap}")

    def _render(self):
        from rich.text import Text

        return Text(self._text())
