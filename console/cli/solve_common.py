"""Plumbing shared by the `fleetctl solve …` commands.

Each solve command does the same steps around its own solver call: check the options, check
the output paths before any long work, read the snapshot (--snapshot FILE or the database's
current fleet) and the limits (--limits FILE or --limit-set NAME), queue it for a worker with
--background, or solve in a thread with Ctrl-C handling and a progress display, then map the
plan's status to an exit code: 0 ok, 1 error, 2 bad input, 3 infeasible, 4 no plan in time,
128 + signal when SIGINT, SIGTERM or SIGHUP stopped it (130, 143, 129).

The solve runs in a thread while the main thread waits on an Event in a short loop, so a signal
reaches Python: SIGINT, SIGTERM or SIGHUP stops the search (the solver keeps its best plan), the
plan is written, and the command exits 128 + the signal (130, 143, 129). (CP-SAT swallows SIGINT
when it runs in the main thread, and Thread.join() lost the result — NOTES.md; every CpSolver
leaves signals alone, engine.cp_solver.)
"""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Callable, Iterator, Optional

import typer

from console.cli.common import (
    EXIT_ERROR,
    EXIT_INFEASIBLE,
    EXIT_INTERRUPTED,
    EXIT_NO_PLAN,
    EXIT_OK,
    check_output_path,
    check_time_limit,
    check_workers,
    err,
    fail,
    ops_errors,
    reading_store,
    resolve_db,
    store_session,
    user_errors,
)

SnapshotOption = Annotated[Optional[Path], typer.Option("--snapshot", help="Snapshot file (JSON/YAML) instead of the database's current fleet.")]
LimitsOption = Annotated[Optional[Path], typer.Option("--limits", help="Limits file (JSON/YAML); default limits otherwise.")]
LimitSetOption = Annotated[Optional[str], typer.Option("--limit-set", help="A limit set saved in the database (fleetctl limits save); not with --limits.")]
TimeLimitOption = Annotated[Optional[float], typer.Option("--time-limit", help="Seconds (default: the limits' solve.time_limit_s).")]
WorkersOption = Annotated[Optional[int], typer.Option("--workers", help="Solver threads (default: the limits' solve.workers, else all cores).")]

OK_STATUSES = ("optimal", "feasible")
STOP_WAIT_S = 30.0  # after a signal, how long the solver may take to hand back its best plan


# --------------------------------------------------------------------------- options and inputs


def check_solver_options(time_limit: Optional[float], workers: Optional[int]) -> None:
    """The solver options every solve command shares (exit 2 when out of range)."""
    check_time_limit(time_limit)
    check_workers(workers)


def check_sources(db: Optional[Path], snapshot_file: Optional[Path], limits_file: Optional[Path],
                  limit_set: Optional[str]) -> None:
    """One snapshot source and one limits source. --db may come with --snapshot only to name the
    database holding --limit-set."""
    if db is not None and snapshot_file is not None and limit_set is None:
        fail("give either --db or --snapshot, not both")
    if limits_file is not None and limit_set is not None:
        fail("give either --limits FILE or --limit-set NAME, not both")


def input_paths(db: Optional[Path], snapshot_file: Optional[Path], limits_file: Optional[Path],
                limit_set: Optional[str]) -> tuple:
    """The files the command reads (an output must never overwrite one of them)."""
    reads_db = snapshot_file is None or limit_set is not None
    from console.cli.common import db_target

    return snapshot_file, limits_file, db_target(db).path if reads_db else None


def check_outputs(outputs: dict[str, Any], inputs: tuple, background: bool) -> None:
    """Before any long work: with --background nothing is written here (the plan is stored with
    the run); otherwise every output file must be writable, distinct, and not an input, and at
    most one output (--json, or a file given as `-`) goes to stdout."""
    given = [name for name, value in outputs.items() if value]
    if background:
        if given:
            fail(f"{', '.join(given)} cannot be used with --background: the plan is stored with the run "
                 f"(fetch it with `fleetctl runs show ID --json`)")
        return
    from console.output_files import is_stdout

    to_stdout = [name for name, value in outputs.items() if value is True or is_stdout(value)]
    if len(to_stdout) > 1:
        fail(f"{' and '.join(to_stdout)} would both write to standard output: send one of them to a file")
    files = {name: value for name, value in outputs.items() if isinstance(value, Path) and not is_stdout(value)}
    for name, path in files.items():
        check_output_path(path, name, inputs=inputs)
    seen: dict[Path, str] = {}
    for name, path in files.items():
        key = path.resolve()
        if key in seen:
            fail(f"{seen[key]} and {name} name the same file {path}: give two different files")
        seen[key] = name


@dataclass
class SolveInputs:
    snapshot: Any          # engine.model.Snapshot
    limits: Any            # engine.model.Limits
    limits_name: Optional[str]  # the file's or the saved set's name (kept with a background run)
    snapshot_id: Optional[int] = None  # the database's snapshot id when the fleet came from --db

    def stamp(self, plan):
        """The plan with FORMATS.md `inputs`: the snapshot and limits it was made from."""
        from engine.fingerprint import with_inputs

        return with_inputs(plan, self.snapshot, self.limits, self.snapshot_id)


def read_inputs(db: Optional[Path], snapshot_file: Optional[Path], limits_file: Optional[Path],
                limit_set: Optional[str]) -> SolveInputs:
    """Limits, then the snapshot; bad input is listed and exits 2."""
    limits, name = read_limits(db, limits_file, limit_set)
    snapshot = read_snapshot(db, snapshot_file)
    return SolveInputs(snapshot, limits, name, _snapshot_id(db) if snapshot_file is None else None)


def _snapshot_id(db: Optional[Path]) -> Optional[int]:
    from console.store.fleet_store import current_snapshot_id

    with reading_store(db) as engine:
        return current_snapshot_id(engine)


def read_limits(db: Optional[Path], limits_file: Optional[Path], limit_set: Optional[str]):
    """(Limits, name): a file, a limit set saved in --db, or the defaults (name None)."""
    if limit_set is not None:
        from console.ops.errors import NotFound
        from console.ops.limits import get_limit_set
        from console.store.db import engine_label

        with reading_store(db) as engine:
            try:
                return get_limit_set(engine, limit_set), limit_set
            except NotFound as exc:
                fail(f"{exc.problems[0].message} in {engine_label(engine)}: see `fleetctl limits list`")
    from engine.documents import load_limits

    with user_errors():
        return load_limits(limits_file), (limits_file.name if limits_file is not None else None)


def read_snapshot(db: Optional[Path], snapshot_file: Optional[Path]):
    """--snapshot FILE, else the current fleet of an existing database (nothing is created)."""
    if snapshot_file is not None:
        from engine.documents import load_snapshot

        with user_errors():
            return load_snapshot(snapshot_file)
    from console.ops.errors import NotFound
    from console.ops.snapshots import snapshot_document
    from console.store.db import engine_label

    with reading_store(db) as engine:
        try:
            snapshot = snapshot_document(engine)
        except NotFound:
            snapshot = None
        path = engine_label(engine)
    if snapshot is None:
        fail(f"{path} holds no fleet: load a snapshot first (fleetctl load FILE --db {path}) or pass --snapshot FILE")
    return snapshot


@contextmanager
def interrupt_before_solve() -> Iterator[None]:
    """Ctrl-C while options are checked and inputs read: say so, exit 130."""
    try:
        yield
    except KeyboardInterrupt:
        err("interrupted before the solve started; nothing written")
        raise typer.Exit(EXIT_INTERRUPTED) from None


# --------------------------------------------------------------------------- --background


def queue_background(kind: str, db: Optional[Path], inputs: SolveInputs, options: dict) -> None:
    """`fleetctl solve KIND --background`: queue the run on --db (the default database when only
    --snapshot was given), print its id as the last stdout line, exit 0 at once. The foreground
    outputs were refused by check_outputs."""
    submit_background(resolve_db(db), kind, snapshot=inputs.snapshot, limits=inputs.limits,
                      limits_name=inputs.limits_name, options={k: v for k, v in options.items() if v is not None})
    raise typer.Exit(EXIT_OK)


def submit_background(db, kind: str, *, snapshot=None, limits=None, limits_name: Optional[str] = None,
                      options: Optional[dict] = None, problem_yaml: Optional[str] = None,
                      problem_name: Optional[str] = None) -> int:
    """The CLI face of the one submit path (console.ops.runs.submit_run), shared by `runs submit` and
    `fleetctl solve … --background`: queue, make sure a worker runs, print the run id as the LAST
    stdout line, return at once. Refusals are listed, exit 2."""
    import sys

    from console.cli.common import existing_db
    from console.ops.runs import RunRequest, submit_run

    if kind != "capacity" and snapshot is None:
        db = existing_db(db)  # the current fleet of an existing database: a typo'd --db is never created
    with ops_errors(), store_session(db, create=True) as engine:
        view = submit_run(engine, RunRequest(kind, snapshot=snapshot, limits=limits, limits_name=limits_name,
                                             options=dict(options or {}), problem_yaml=problem_yaml,
                                             problem_name=problem_name))
    err(f"queued {kind} run {view.id}: follow it with `fleetctl runs watch {view.id}`, stop it with "
        f"`fleetctl runs cancel {view.id}`")
    sys.stdout.write(f"{view.id}\n")
    sys.stdout.flush()
    return view.id


# --------------------------------------------------------------------------- the solve


class StopSignals:
    """SIGINT, SIGTERM and SIGHUP, from the solve until the command ends: a request to stop.

    The handler only records the first signal (nothing is raised at a random point, so an
    output being written is finished, atomically); the solve loop turns it into a cancel, the
    solver returns its best plan, the command writes it and exits 128 + the signal's number
    (130, 143, 129). SIGTERM is the polite stop of service managers; SIGHUP a closed terminal.
    Further signals while it stops are ignored. Handlers are restored on exit."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.signum: Optional[int] = None
        self._old: dict = {}

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():  # only the main thread may set handlers
            for sig in self.SIGNALS:
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()

    def _handle(self, signum, _frame) -> None:
        if self.signum is None:
            self.signum = signum

    @property
    def stopped(self) -> bool:
        return self.signum is not None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum is not None else ""

    @property
    def exit_code(self) -> int:
        return 128 + self.signum if self.signum is not None else EXIT_OK


def solve_in_thread(solve: Callable[[Any], Any], *, name: str, stop: StopSignals, display=None) -> Any:
    """Run `solve(cancel)` in a thread and return its plan; a signal (see StopSignals) cancels the
    search and the solver returns its best plan so far. A solver exception becomes a one-line
    error (see report_error). Prints a "solving" line on stderr once the solver runs."""
    from engine.progress import Cancellation

    cancel = Cancellation()
    done = threading.Event()
    box: dict = {}

    def work() -> None:
        try:
            box["plan"] = solve(cancel)
        except BaseException as exc:  # reported by the main thread
            box["error"] = exc
        finally:
            done.set()

    thread = threading.Thread(target=work, name=name, daemon=True)
    if stop.stopped:  # a signal while the inputs were read
        err(f"{stop.name}: stopped before the solve started; nothing written")
        raise typer.Exit(stop.exit_code)
    try:
        if display is not None:
            display.start()
        err(f"[dim]{name}: solving (Ctrl-C or SIGTERM stops it and keeps the best plan so far)[/]")
        thread.start()
        stop_by = None
        while not done.wait(0.1):
            if display is not None:
                display.tick()
            if stop.stopped and stop_by is None:
                stop_by = time.monotonic() + STOP_WAIT_S
                err(f"[yellow]{stop.name}[/]: stopping the search, keeping the best plan …")
                cancel.cancel()
            if stop_by is not None and time.monotonic() > stop_by:
                err(f"{stop.name}: the solver did not stop within {STOP_WAIT_S:g} s; nothing written")
                raise typer.Exit(stop.exit_code)  # its CBC or HiGHS children die with this process
    finally:
        if display is not None:
            display.stop()
    if "error" in box:
        report_error(box["error"])
    return box.get("plan")


def report_error(exc: BaseException) -> None:
    """A solver exception: a plan failing the validator is a solver bug (exit 1), a ValueError is
    bad input (exit 2), anything else an error (exit 1) — one line each, never a traceback."""
    from engine.violations import PlanRejected

    if isinstance(exc, PlanRejected):
        fail(str(exc), code=EXIT_ERROR, title="solver bug")
    if isinstance(exc, ValueError):
        fail(str(exc))
    fail(f"{type(exc).__name__}: {exc}", code=EXIT_ERROR)


def exit_code(status: str, ok: tuple[str, ...] = OK_STATUSES) -> int:
    """A plan's status as an exit code: 0 for `ok`, 3 infeasible, 4 anything else (no plan in time)."""
    if status in ok:
        return EXIT_OK
    if status == "infeasible":
        return EXIT_INFEASIBLE
    return EXIT_NO_PLAN


def finish(status: str, stop: StopSignals) -> None:
    """Exit with the code of a solve that produced a plan with `status` (128 + signal when stopped)."""
    raise typer.Exit(stop.exit_code if stop.stopped else exit_code(status))


# --------------------------------------------------------------------------- human output


def explanation_lines(text: Optional[str]) -> list[str]:
    """The reasons of an explanation, which the solvers join with "; " into one text.

    A "; " inside brackets belongs to its reason (e.g. "hosts that may receive them (h1 …; h2 …)")."""
    if not text:
        return []
    reasons, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        elif ch == ";" and depth == 0 and text[i + 1:i + 2] == " ":
            reasons.append(text[start:i].strip())
            start = i + 2
    reasons.append(text[start:].strip())
    return [r for r in reasons if r]


def print_explanation(console, text: Optional[str]) -> None:
    """One line per reason (a paragraph of joined reasons was unreadable)."""
    from rich.markup import escape

    reasons = explanation_lines(text)
    if len(reasons) == 1:
        console.print(f"explanation: {escape(reasons[0])}")
    elif reasons:
        console.print(f"explanation ({len(reasons)} reasons):")
        for reason in reasons:
            console.print(f"  - {escape(reason)}")


class LiveProgress:
    """Elapsed vs limit, objective, bound and gap on stderr: a live line on a terminal, else a
    line every 5 s and one at the end."""

    def __init__(self, limit_s: float, objective: str = "objective"):
        from rich.console import Console

        self.console = Console(stderr=True, highlight=False)
        self.limit_s = limit_s
        self.name = objective
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
            self.live = None
        else:
            self.console.print(self._text())

    def _text(self) -> str:
        with self.lock:
            obj, bound = self.objective, self.bound
        elapsed = time.monotonic() - self.t0
        from engine.progress import relative_gap

        gap = relative_gap(obj, bound)
        gap = "-" if gap is None else f"{gap:.1%}"
        return (f"solving: {elapsed:5.1f}/{self.limit_s:g} s  {self.name} {'-' if obj is None else int(obj)}  "
                f"bound {'-' if bound is None else int(bound)}  gap {gap}")

    def _render(self):
        from rich.text import Text

        return Text(self._text())


class ProgressLines:
    """One stderr line per solver event (at most two a second, plus every phase's last line)."""

    def __init__(self) -> None:
        self.last = 0.0

    def start(self) -> None:
        pass

    def tick(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def update(self, event) -> None:
        now = time.monotonic()
        if now - self.last < 0.5 and not (event.message or "").endswith(")"):
            return
        self.last = now
        parts = [f"{event.elapsed_s:6.1f}s"]
        if event.objective is not None:
            parts.append(f"value {event.objective:g}")
        if event.bound is not None:
            parts.append(f"bound {event.bound:g}")
        if event.message:
            parts.append(event.message)
        from rich.markup import escape

        err(escape("  ".join(parts)))
