"""Plumbing shared by the `fleetctl solve …` commands.

Each solve command does the same steps around its own solver call: check the options, check
the output paths before any long work, read the snapshot (--snapshot FILE or the database's
current fleet) and the limits (--limits FILE or --limit-set NAME), queue it for a worker with
--background, or solve in a thread with Ctrl-C handling and a progress display, then map the
plan's status to an exit code: 0 ok, 1 error, 2 bad input, 3 infeasible, 4 no plan in time,
130 interrupted.

The solve runs in a thread while the main thread waits on an Event in a short loop, so Ctrl-C
reaches Python: it stops the search (the solver keeps its best plan) and the command exits 130.
(CP-SAT swallows SIGINT when it runs in the main thread, and Thread.join() lost the result —
NOTES.md.)
"""

from __future__ import annotations

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
    the run); otherwise every output file must be writable, distinct, and not an input."""
    given = [name for name, value in outputs.items() if value]
    if background:
        if given:
            fail(f"{', '.join(given)} cannot be used with --background: the plan is stored with the run "
                 f"(fetch it with `fleetctl runs show ID --json`)")
        return
    files = {name: value for name, value in outputs.items() if isinstance(value, Path)}
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


def read_inputs(db: Optional[Path], snapshot_file: Optional[Path], limits_file: Optional[Path],
                limit_set: Optional[str]) -> SolveInputs:
    """Limits, then the snapshot; bad input is listed and exits 2."""
    limits, name = read_limits(db, limits_file, limit_set)
    return SolveInputs(read_snapshot(db, snapshot_file), limits, name)


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


def solve_in_thread(solve: Callable[[Any], Any], *, name: str, display=None) -> tuple[Any, bool]:
    """Run `solve(cancel)` in a thread; returns (its plan, whether Ctrl-C stopped it).

    Ctrl-C cancels the search (the solver returns its best plan so far); a second Ctrl-C
    while it stops is ignored. A solver exception becomes a one-line error (see report_error)."""
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
    interrupted = False
    try:
        if display is not None:
            display.start()
        thread.start()
    except KeyboardInterrupt:
        if thread.ident is None:  # the solver never started
            if display is not None:
                display.stop()
            err("interrupted before the solve started; nothing written")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        interrupted = _cancel(cancel)
    try:
        while not done.is_set():
            try:
                done.wait(0.1)
                if display is not None:
                    display.tick()
            except KeyboardInterrupt:
                if not interrupted:
                    interrupted = _cancel(cancel)
    finally:
        if display is not None:
            display.stop()
    if "error" in box:
        report_error(box["error"])
    return box.get("plan"), interrupted


def _cancel(cancel) -> bool:
    err("[yellow]interrupted[/]: stopping the search, keeping the best plan …")
    cancel.cancel()
    return True


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


def finish(status: str, interrupted: bool) -> None:
    """Exit with the code of a solve that produced a plan with `status`."""
    raise typer.Exit(EXIT_INTERRUPTED if interrupted else exit_code(status))


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
        err("  ".join(parts))
