"""Background runs from the command line.

    fleetctl runs list [--status S] [--kind K] [--limit N] [--json]
    fleetctl runs show ID [--json]
    fleetctl runs watch ID [--plain]
    fleetctl runs cancel ID
    fleetctl runs submit KIND [--snapshot FILE] [--limits FILE | --limit-set NAME] [solver options] [--problem-file ...]
    fleetctl worker [--concurrency N] [--idle-exit S]
    fleetctl schedule add --every 1h KIND [--limits FILE | --limit-set NAME] [solver options]
    fleetctl schedule list [--json] | fleetctl schedule remove ID
    fleetctl plan latest [--kind K] [--json]

Every command takes --db. Results go to stdout, progress and diagnostics to stderr.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer

from console.cli.apps import app, plan_app, runs_app, schedule_app
from console.cli.common import (
    EXIT_ERROR,
    EXIT_INFEASIBLE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    DbOption,
    check_time_limit,
    check_workers,
    emit_json,
    err,
    existing_db,
    fail,
    ops_errors,
    reading_store,
    resolve_db,
    store_session,
    user_errors,
)
from console.cli.solve_common import check_outputs, read_limits, submit_background


class Kind(str, Enum):
    maintenance = "maintenance"
    placement = "placement"
    capacity = "capacity"


class Status(str, Enum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    infeasible = "infeasible"
    failed = "failed"
    cancelled = "cancelled"


# `runs watch` exit code per final status.
EXIT_BY_STATUS = {"succeeded": EXIT_OK, "infeasible": EXIT_INFEASIBLE, "failed": EXIT_ERROR, "cancelled": EXIT_INTERRUPTED}

STATUS_STYLE = {"queued": "yellow", "running": "cyan", "succeeded": "green", "infeasible": "magenta",
                "failed": "red", "cancelled": "dim"}

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
RunId = Annotated[int, typer.Argument(help="Run id (see `fleetctl runs list`).", min=1)]


@contextmanager
def _runs_store(db: Optional[Path]) -> Iterator:
    """The runs store of an existing --db (common.reading_store: a missing database is exit 2 and
    never a new empty file, a file that is not a database one line and exit 1), run tables in place."""
    from console.store.runs import ensure_run_tables

    with reading_store(db) as engine:
        ensure_run_tables(engine)
        yield engine


def _fmt_time(ts: Optional[float]) -> str:
    if ts is None:
        return "-"
    fmt = "%H:%M:%S" if time.localtime(ts)[:3] == time.localtime()[:3] else "%Y-%m-%d %H:%M"
    return time.strftime(fmt, time.localtime(ts))


def _fmt_num(x: Optional[float]) -> str:
    if x is None:
        return "-"
    return f"{x:g}" if float(x) != int(x) else str(int(x))


def _fmt_s(x: Optional[float]) -> str:
    return "-" if x is None else f"{x:.1f}s"


def _console():
    """stdout console; when piped, wide enough that tables do not wrap."""
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else 200)


def _get(engine, run_id: int):
    from console.ops.errors import NotFound
    from console.ops.runs import get_run

    try:
        return get_run(engine, run_id)
    except NotFound:
        fail(f"no run {run_id} in this database (see `fleetctl runs list`)")


# --------------------------------------------------------------------------- runs list / show


@runs_app.command("list")
def runs_list(
    db: DbOption = None,
    status: Annotated[Optional[Status], typer.Option("--status", help="Only runs in this status.")] = None,
    kind: Annotated[Optional[Kind], typer.Option("--kind", help="Only runs of this kind.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many runs, newest first.", min=1)] = 50,
    json_out: JsonOption = False,
) -> None:
    """List runs, newest first (a run whose worker died is shown failed, never running)."""
    from console.ops.runs import list_runs

    with ops_errors(), _runs_store(db) as engine:
        runs = list_runs(engine, status=status.value if status else None, kind=kind.value if kind else None, limit=limit)
    if json_out:
        emit_json([r.to_dict() for r in runs])
        return
    from rich.table import Table

    table = Table(title=f"{len(runs)} run(s)", title_justify="left")
    for col in ("id", "kind", "status", "input", "created", "wait", "elapsed", "objective", "bound", "pid", "note"):
        table.add_column(col, justify="right" if col in ("id", "wait", "elapsed", "objective", "bound", "pid") else "left")
    for r in runs:
        note = r.error.splitlines()[0][:60] if r.error else ("cancel requested" if r.cancel_requested and not r.terminal else "")
        if r.schedule_id is not None:
            note = f"schedule {r.schedule_id}" + (f"; {note}" if note else "")
        objective = r.objective if r.objective is not None else (r.last_progress.objective if r.last_progress else None)
        table.add_row(str(r.id), r.kind, f"[{STATUS_STYLE[r.status]}]{r.status}[/]", r.input_name or "-",
                      _fmt_time(r.created_at), _fmt_s(r.wait_s), _fmt_s(r.elapsed_s), _fmt_num(objective),
                      _fmt_num(r.lower_bound), str(r.executor_pid or r.worker_pid or "-"), note)
    _console().print(table)


@runs_app.command("show")
def runs_show(
    run_id: RunId,
    db: DbOption = None,
    json_out: JsonOption = False,
    progress_events: Annotated[int, typer.Option("--progress", help="How many latest progress events to show.", min=0)] = 10,
) -> None:
    """One run: status, times, worker pid, progress so far, and the plan when there is one."""
    from console.ops.runs import run_events

    with _runs_store(db) as engine:
        view = _get(engine, run_id)
        events = run_events(engine, run_id)
    if json_out:
        out = view.to_dict()
        out["progress"] = [e.to_dict() for e in events]
        emit_json(out)
        return

    c = _console()
    c.print(f"run {view.id}  {view.kind}  [{STATUS_STYLE[view.status]}]{view.status}[/]"
            + ("  (cancel requested)" if view.cancel_requested and not view.terminal else ""))
    c.print(f"  input      {view.input_name or '-'}  ({(view.input_key or '-')[:12]})")
    c.print(f"  limits     {view.limits_name or ('custom' if view.limits else 'defaults')}")
    c.print(f"  options    {view.options or '{}'}")
    c.print(f"  created    {_fmt_time(view.created_at)}   started {_fmt_time(view.started_at)}   "
            f"finished {_fmt_time(view.finished_at)}")
    c.print(f"  worker     pid {view.worker_pid or '-'} on {view.worker_host or '-'}   executor pid {view.executor_pid or '-'}")
    if view.schedule_id is not None:
        c.print(f"  schedule   {view.schedule_id}")
    c.print(f"  progress   {len(events)} event(s)")
    for e in events[-progress_events:] if progress_events else []:
        gap = f"{e.gap:.1%}" if e.gap is not None else "-"
        c.print(f"    {e.elapsed_s:8.2f}s  objective {_fmt_num(e.objective):>8}  bound {_fmt_num(e.bound):>8}  gap {gap:>6}"
                + (f"  {e.message}" if e.message else ""))
    if view.error:
        c.print(f"  [red]error[/]      {view.error}")
    if view.plan is not None:
        p = view.plan
        size = len(p.get("migrations", p.get("assignments", [])))
        label = "incumbent" if view.status == "running" else "plan     "  # running: best validated plan so far
        c.print(f"  {label}  status {p.get('status')}  objective {_fmt_num(view.objective)}  "
                f"lower bound {_fmt_num(view.lower_bound)}  {size} item(s)  solver {(p.get('solver') or {}).get('name', '-')}")
        c.print(f"             (full plan: fleetctl runs show {view.id} --json)")


# --------------------------------------------------------------------------- watch / cancel


def _progress_line(e) -> str:
    gap = f"  gap {e.gap:.1%}" if e.gap is not None else ""
    return (f"{e.elapsed_s:8.2f}s  objective {_fmt_num(e.objective)}  bound {_fmt_num(e.bound)}{gap}"
            + (f"  {e.message}" if e.message else ""))


@runs_app.command("watch")
def runs_watch(
    run_id: RunId,
    db: DbOption = None,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between polls.", min=0.05)] = 0.3,
    plain: Annotated[bool, typer.Option("--plain", help="Plain progress lines instead of a live display.")] = False,
    timeout: Annotated[Optional[float], typer.Option("--timeout", help="Give up after this many seconds.")] = None,
) -> None:
    """Follow a run's progress until it ends; prints the final status on stdout.

    Exit code: 0 succeeded, 3 infeasible, 1 failed, 130 cancelled (or Ctrl-C while watching)."""
    with _runs_store(db) as engine:
        view = _follow(engine, run_id, interval=interval, plain=plain, timeout=timeout)
    if view.error:
        err(f"run {run_id}: {view.error}")
    summary = f"run {run_id} {view.status}"
    if view.objective is not None:
        summary += f": objective {_fmt_num(view.objective)}, lower bound {_fmt_num(view.lower_bound)}"
    typer.echo(summary)
    raise typer.Exit(EXIT_BY_STATUS.get(view.status, EXIT_ERROR))


def _follow(engine, run_id: int, *, interval: float, plain: bool, timeout: Optional[float]):
    """Poll a run until it ends, showing its progress on stderr; returns its final view."""
    from console.ops.runs import get_run
    from console.ops.runs import run_events as run_progress

    view = _get(engine, run_id)
    live = not plain and sys.stderr.isatty()
    last_id, started = 0, time.monotonic()
    shown = None  # objective of the last incumbent line printed (a plan stored before we started counts too)
    display = _LiveDisplay(view) if live else None
    try:
        if display:
            display.start()
        while True:
            events = run_progress(engine, run_id, since_id=last_id)
            if events:
                last_id = events[-1].id
            view = get_run(engine, run_id)
            if display:
                display.update(view, events)
            else:
                for e in events:
                    err(_progress_line(e))
                if view.status == "running" and view.objective is not None and view.objective != shown:
                    err(f"          incumbent plan stored: objective {_fmt_num(view.objective)} ({view.plan_status})")
                    shown = view.objective
            if view.terminal:
                break
            if timeout is not None and time.monotonic() - started > timeout:
                if display:
                    display.stop()
                fail(f"run {run_id} is still {view.status} after {timeout:g} s", code=EXIT_ERROR)
            time.sleep(interval)
    except KeyboardInterrupt:
        if display:
            display.stop()
        err(f"stopped watching; run {run_id} continues ({view.status}); cancel it with `fleetctl runs cancel {run_id}`")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    if display:
        display.stop()
    return view


class _LiveDisplay:
    """A rich Live panel on stderr: status, elapsed, objective, bound, gap."""

    def __init__(self, view):
        from rich.console import Console
        from rich.live import Live

        self.view, self.last = view, None
        self.live = Live(self._render(), console=Console(stderr=True), refresh_per_second=5, transient=False)

    def _render(self):
        from rich.table import Table

        v, e = self.view, self.last
        t = Table.grid(padding=(0, 2))
        t.add_row("run", f"{v.id} {v.kind}", "status", f"[{STATUS_STYLE[v.status]}]{v.status}[/]")
        t.add_row("elapsed", _fmt_s(v.elapsed_s), "worker pid", str(v.worker_pid or "-"))
        if e is not None:
            t.add_row("objective", _fmt_num(e.objective), "bound", _fmt_num(e.bound))
            t.add_row("gap", f"{e.gap:.1%}" if e.gap is not None else "-", "", e.message or "")
        if v.objective is not None:  # the stored plan: while running, the best validated incumbent so far
            t.add_row("incumbent" if v.status == "running" else "plan", _fmt_num(v.objective),
                      "plan status", v.plan_status or "-")
        return t

    def start(self):
        self.live.start()

    def update(self, view, events):
        self.view = view
        if events:
            self.last = events[-1]
        self.live.update(self._render())

    def stop(self):
        self.live.stop()


@runs_app.command("cancel")
def runs_cancel(run_id: RunId, db: DbOption = None) -> None:
    """Stop a run: the search ends keeping its best plan so far (status cancelled)."""
    from console.ops.runs import cancel_run

    with _runs_store(db) as engine:
        _get(engine, run_id)
        view = cancel_run(engine, run_id)
    if view.status == "running":
        typer.echo(f"cancel requested for run {run_id}; it stops within a second or so "
                   f"(follow it: fleetctl runs watch {run_id})")
    elif view.status == "cancelled" and view.started_at is None:
        typer.echo(f"run {run_id} cancelled before it started")
    else:
        typer.echo(f"run {run_id} already ended: {view.status}")


# --------------------------------------------------------------------------- submitting runs

SolverOpt = Annotated[Optional[str], typer.Option("--solver", help="Solver name (as for `fleetctl solve KIND`).")]
# Bounds checked by common.check_time_limit / check_workers: the same messages as `fleetctl solve`.
TimeLimitOpt = Annotated[Optional[float], typer.Option("--time-limit", help="Solver time limit in seconds.")]
WorkersOpt = Annotated[Optional[int], typer.Option("--workers", help="Solver threads.")]
LimitsOpt = Annotated[Optional[Path], typer.Option("--limits", help="Limits document (FORMATS.md).")]
LimitSetOpt = Annotated[Optional[str], typer.Option("--limit-set", help="A named limit set saved in the database.")]


def _read_limits(db: Optional[Path], limits_file: Optional[Path], limit_set: Optional[str]):
    """(Limits, name) from --limits FILE or --limit-set NAME (solve_common.read_limits: exit 2 on
    bad input); (None, None) without either, so the run keeps "defaults" rather than a copy of them."""
    if limits_file is not None and limit_set is not None:
        fail("give either --limits FILE or --limit-set NAME, not both")
    if limits_file is None and limit_set is None:
        return None, None
    return read_limits(db, limits_file, limit_set)


def submit_capacity_background(db: Optional[Path], file: Path, problem: Optional[str], phase: str, relaxed: bool,
                               time_limit: Optional[float], stwp: Optional[Path], stwp_problem: Optional[str],
                               *, foreground_outputs: Optional[dict] = None) -> None:
    """The hook of `fleetctl solve capacity --background`: the problem file's text is stored
    with the run (phase ii then serves that file's problem, or `--stwp-problem` in it)."""
    if stwp is not None and Path(stwp).resolve() != Path(file).resolve():
        fail("--background cannot take a separate --stwp file yet: put the STWP problem in the same "
             "YAML file and name it with --stwp-problem")
    if problem is None:
        fail("--background needs --problem ID")
    try:
        text = Path(file).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{file}: cannot read: {exc}")
    check_outputs(foreground_outputs or {}, (), background=True)
    options = {"problem": problem, "phase": phase, "relaxed": relaxed or None, "time_limit_s": time_limit,
               "stwp": stwp_problem, "problem_file": str(Path(file).resolve())}
    submit_background(resolve_db(db), "capacity", options={k: v for k, v in options.items() if v is not None},
                      problem_yaml=text, problem_name=Path(file).name)
    raise typer.Exit(EXIT_OK)


@runs_app.command("submit")
def runs_submit(
    kind: Annotated[Kind, typer.Argument(help="What to solve.")],
    db: DbOption = None,
    snapshot_file: Annotated[Optional[Path], typer.Option("--snapshot", help="Snapshot file (default: the database's current fleet).")] = None,
    limits_file: LimitsOpt = None,
    limit_set: LimitSetOpt = None,
    solver: SolverOpt = None,
    time_limit: TimeLimitOpt = None,
    workers: WorkersOpt = None,
    objective: Annotated[Optional[str], typer.Option("--objective", help="Placement objective.")] = None,
    max_moves: Annotated[Optional[int], typer.Option("--max-moves", help="Placement rebalance: most moves.", min=0)] = None,
    problem_file: Annotated[Optional[Path], typer.Option("--problem-file", help="Capacity: Malloovia YAML problem file.")] = None,
    problem: Annotated[Optional[str], typer.Option("--problem", help="Capacity: problem id in the file.")] = None,
    phase: Annotated[Optional[str], typer.Option("--phase", help="Capacity: i or ii.")] = None,
    relaxed: Annotated[Optional[bool], typer.Option("--relaxed/--integer", help="Capacity: LP relaxation.")] = None,
) -> None:
    """Queue a run for a background worker; prints the run id as the last line and returns at once."""
    check_time_limit(time_limit)
    check_workers(workers)
    limits, limits_name = _read_limits(db, limits_file, limit_set)
    path = resolve_db(db)
    options = {"solver": solver, "time_limit_s": time_limit, "workers": workers}
    problem_yaml = problem_name = snapshot = None
    if kind is Kind.placement:
        options.update(objective=objective, max_moves=max_moves)
    if kind is Kind.capacity:
        if problem_file is None or problem is None:
            fail("a capacity run needs --problem-file FILE.yaml and --problem ID")
        try:
            problem_yaml = problem_file.read_bytes().decode("utf-8")
        except OSError as exc:
            fail(f"{problem_file}: cannot read: {exc}")
        problem_name = problem_file.name
        options = {"problem": problem, "phase": phase, "relaxed": relaxed, "time_limit_s": time_limit,
                   "problem_file": str(problem_file.resolve())}
    elif snapshot_file is not None:
        from engine.documents import load_snapshot

        with user_errors():
            snapshot = load_snapshot(snapshot_file)
    from console.runner.dispatch import check_options

    problems = check_options(kind.value, {k: v for k, v in options.items() if v is not None})
    if problems:
        fail(problems)
    submit_background(path, kind.value, snapshot=snapshot, limits=limits, limits_name=limits_name, options=options,
                      problem_yaml=problem_yaml, problem_name=problem_name)


# --------------------------------------------------------------------------- worker


@app.command("worker")
def worker_cmd(
    db: DbOption = None,
    concurrency: Annotated[int, typer.Option("--concurrency", help="Runs executed at once.", min=1)] = 1,
    idle_exit: Annotated[Optional[float], typer.Option("--idle-exit", help="Exit after this many idle seconds.")] = None,
) -> None:
    """Run a worker in the foreground: executes queued runs and fires schedules (Ctrl-C stops it,
    cancelling its runs with their best plans)."""
    from console.runner.worker import Worker

    target = resolve_db(db)
    with store_session(target, create=True):  # an unreachable store or a schema to upgrade: one line, exit 1/2
        pass
    raise typer.Exit(Worker(target.spawn_target, concurrency, idle_exit_s=idle_exit).run())


# --------------------------------------------------------------------------- schedules


@schedule_app.command("add")
def schedule_add(
    kind: Annotated[Kind, typer.Argument(help="What to solve at each firing.")],
    every: Annotated[str, typer.Option("--every", help="Interval: 15m, 1h, 1d …")],
    db: DbOption = None,
    limits_file: LimitsOpt = None,
    limit_set: Annotated[Optional[str], typer.Option("--limit-set", help="A named limit set (its values now are kept with the schedule).")] = None,
    solver: SolverOpt = None,
    time_limit: TimeLimitOpt = None,
    workers: WorkersOpt = None,
    objective: Annotated[Optional[str], typer.Option("--objective", help="Placement objective.")] = None,
    problem_file: Annotated[Optional[Path], typer.Option("--problem-file", help="Capacity: Malloovia YAML (read at each firing).")] = None,
    problem: Annotated[Optional[str], typer.Option("--problem", help="Capacity: problem id.")] = None,
    phase: Annotated[Optional[str], typer.Option("--phase", help="Capacity: i or ii.")] = None,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="Do not start a background worker.")] = False,
) -> None:
    """Solve KIND on the current fleet every interval (first run now); a worker fires it."""
    from console.store.schedules import format_every, parse_every

    check_time_limit(time_limit)
    check_workers(workers)
    try:
        every_s = parse_every(every)
    except ValueError as exc:
        fail(str(exc))
    path = resolve_db(db) if kind is Kind.capacity else existing_db(db)  # capacity reads no fleet
    limits, limits_name = _read_limits(db, limits_file, limit_set)
    options = {"solver": solver, "time_limit_s": time_limit, "workers": workers}
    if kind is Kind.placement:
        options["objective"] = objective
    if kind is Kind.capacity:
        if problem_file is None or problem is None:
            fail("a capacity schedule needs --problem-file FILE.yaml and --problem ID")
        if not problem_file.is_file():
            fail(f"{problem_file}: file not found")
        options = {"problem": problem, "phase": phase, "time_limit_s": time_limit, "problem_file": str(problem_file.resolve())}
    options = {k: v for k, v in options.items() if v is not None}
    from console.runner.dispatch import check_options

    problems = check_options(kind.value, options)
    if problems:
        fail(problems)
    from console.ops.runs import ensure_worker_for
    from console.ops.schedules import add_schedule as add

    with ops_errors(), store_session(path, create=True) as engine:
        schedule = add(engine, kind.value, every_s, limits=limits, limits_name=limits_name, options=options)
        if not no_worker:
            ensure_worker_for(engine)
    err(f"schedule {schedule.id}: {kind.value} every {format_every(every_s)}, first run now")
    typer.echo(str(schedule.id))


@schedule_app.command("list")
def schedule_list(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Schedules with their next firing and last run."""
    from console.ops.schedules import list_schedules
    from console.store.schedules import format_every

    with _runs_store(db) as engine:
        schedules = list_schedules(engine)
    if json_out:
        emit_json([s.to_dict() for s in schedules])
        return
    from rich.table import Table

    table = Table(title=f"{len(schedules)} schedule(s)", title_justify="left")
    for col in ("id", "kind", "every", "limits", "options", "next due", "last run"):
        table.add_column(col)
    for s in schedules:
        table.add_row(str(s.id), s.kind, format_every(s.every_s), s.limits_name or ("custom" if s.has_limits else "defaults"),
                      " ".join(f"{k}={v}" for k, v in s.options.items()) or "-", _fmt_time(s.next_due_at),
                      str(s.last_run_id or "-"))
    _console().print(table)


@schedule_app.command("remove")
def schedule_remove(schedule_id: Annotated[int, typer.Argument(help="Schedule id.", min=1)], db: DbOption = None) -> None:
    """Delete a schedule (its past runs stay; it no longer publishes a plan)."""
    from console.ops.errors import NotFound
    from console.ops.schedules import remove_schedule

    with _runs_store(db) as engine:
        try:
            remove_schedule(engine, schedule_id)
        except NotFound:
            fail(f"no schedule {schedule_id} (see `fleetctl schedule list`)")
    typer.echo(f"removed schedule {schedule_id}")


# --------------------------------------------------------------------------- published plans


@plan_app.command("latest")
def plan_latest(
    db: DbOption = None,
    kind: Annotated[Optional[Kind], typer.Option("--kind", help="Only schedules of this kind.")] = None,
    json_out: JsonOption = False,
) -> None:
    """The latest successful plan of each schedule.

    --json prints a list of {schedule_id, kind, run_id, finished_at, plan}; exit 4 when none is published yet."""
    from console.cli.common import EXIT_NO_PLAN
    from console.ops.schedules import latest_plans

    with _runs_store(db) as engine:
        plans = latest_plans(engine, kind.value if kind else None)
    if json_out:
        emit_json([p.to_dict() for p in plans])
    else:
        from rich.table import Table

        table = Table(title=f"{len(plans)} published plan(s)", title_justify="left")
        for col in ("schedule", "kind", "run", "finished", "status", "objective", "lower bound", "solver"):
            table.add_column(col)
        for p in plans:
            plan = p.plan
            objective = plan.get("makespan", plan.get("value", plan.get("cost")))
            table.add_row(str(p.schedule_id), p.kind, str(p.run_id), _fmt_time(p.finished_at), str(plan.get("status")),
                          _fmt_num(objective), _fmt_num(plan.get("lower_bound")), (plan.get("solver") or {}).get("name", "-"))
        _console().print(table)
    if not plans:
        err("no published plan yet: a schedule publishes its latest successful run (fleetctl schedule add …)")
        raise typer.Exit(EXIT_NO_PLAN)
