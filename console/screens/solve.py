"""Screen 3 — Solve: choose kind and solver, start a background run, watch its progress, cancel it."""

from __future__ import annotations

import time
from typing import Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, ProgressBar, RichLog, Select, Static

from console.actions import bindings_for
from console.screens.base import ConsoleScreen
from console.screens.confirm import ConfirmScreen
from console.screens.details import DetailsScreen, has_details, headline
from console.widgets.typed_input import TypedInput
from console.widgets.chart import ObjectiveChart
from engine import solver_names
from engine.progress import relative_gap

KINDS = ("maintenance", "placement", "capacity")
# Solver names the engine accepts per kind (engine.solver_names); capacity picks a phase instead.
SOLVERS: dict[str, tuple[str, ...]] = {**solver_names.BY_KIND, "capacity": ("phase i", "phase ii")}


def _n(value) -> str:
    return "–" if value is None else f"{value:g}"


def limits_summary(app) -> Text:
    lim = app.limits
    c = lim.concurrency
    text = Text()
    text.append("Limits", style="bold")
    text.append(f"  {app.limits_label}\n", style="bold yellow" if app.limits_modified else "dim")
    if app.limits_problems:
        text.append(f"✗ {len(app.limits_problems)} problem(s) on Limits (2): fix them to start\n", style="bold red")
    rows = [
        ("time limit", f"{lim.solve.time_limit_s:g} s"),
        ("workers", "all cores" if lim.solve.workers is None else str(lim.solve.workers)),
        ("per source / target", f"{_n(c.per_source_host)} / {_n(c.per_target_host)}"),
        ("per rack / dc / all", f"{_n(c.per_rack)} / {_n(c.per_datacenter)} / {_n(c.global_)}"),
        ("hosts down per rack", _n(c.max_hosts_down_per_rack)),
        ("per customer", f"{_n(lim.conflict.per_customer)}  fraction {_n(lim.conflict.per_customer_fraction)}"),
        ("rolling", "yes" if lim.capacity.rolling else "no"),
    ]
    for label, value in rows:
        text.append(f"{label:<21}", style="dim")
        text.append(f"{value}\n")
    return text


def status_text(run, events: list, time_limit: float) -> Text:
    text = Text()
    if run is None:
        text.append("No run yet. ", style="bold")
        text.append("Pick a kind (k) and a solver (v), then press s.", style="dim")
        return text
    style = {"running": "bold blue", "succeeded": "bold green", "cancelled": "yellow", "failed": "bold red",
             "infeasible": "bold red", "queued": "cyan"}.get(run.status, "")
    text.append(f"run {run.id}", style="bold")
    options = run.options or {}
    text.append(f"  {run.kind}  {options.get('solver', '')}"
                + (f" on {options['executor']}" if options.get("executor") else "") + "  ")
    text.append(run.status, style=style)
    if run.cancel_requested and not run.terminal:
        text.append("  (cancel requested)", style="yellow")
    last = events[-1] if events else run.last_progress
    last_objective = next((e.objective for e in reversed(events) if e.objective is not None),
                          last.objective if last else None)
    last_bound = next((e.bound for e in reversed(events) if e.bound is not None), last.bound if last else None)
    if run.terminal:  # the stored plan's numbers are final
        objective = run.objective if run.objective is not None else last_objective
        bound = run.lower_bound if run.lower_bound is not None else last_bound
    else:  # while solving, the latest event is newer than the last stored incumbent
        objective = last_objective if last_objective is not None else run.objective
        bound = last_bound if last_bound is not None else run.lower_bound
    elapsed = run.elapsed_s
    text.append("\nobjective ")
    text.append("–" if objective is None else f"{objective:g}", style="bold")
    text.append("   bound ")
    text.append("–" if bound is None else f"{bound:g}", style="bold green")
    gap = relative_gap(objective, bound)
    text.append("   gap ")
    text.append(f"{gap:.1%}" if gap is not None else "– (no bound yet)" if objective is not None else "–",
                style="bold" if gap is not None else "dim")
    text.append(f"   elapsed {0 if elapsed is None else elapsed:.1f} s / {time_limit:g} s")
    text.append(f"   events {len(events)}", style="dim")
    if run.error:
        text.append(f"\n{headline(run.error)}", style="red" if run.status == "failed" else "yellow")
        if has_details(run.error):
            text.append("  (d: details)", style="dim")
    return text


class SolveScreen(ConsoleScreen):
    SCOPE = "solve"
    BINDINGS = bindings_for("solve")
    CSS = """
    #solve-side #solve-executor { margin-bottom: 0; }
    #solve-executor-check { height: auto; margin-bottom: 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._logged = 0
        self._log_run: Optional[int] = None

    def compose(self) -> ComposeResult:
        yield from self.compose_nav()
        with Horizontal(id="solve-body"):
            with Vertical(id="solve-side"):
                yield Static("Kind (k)", classes="limits-section")
                yield Select([(k, k) for k in KINDS], value="maintenance", allow_blank=False, id="solve-kind",
                             compact=True)
                yield Static("Solver (v)", classes="limits-section")
                yield Select([(s, s) for s in SOLVERS["maintenance"]], value="cp-sat", allow_blank=False,
                             id="solve-solver", compact=True)
                yield Static("Executor (x)", id="solve-executor-label", classes="limits-section")
                yield TypedInput(placeholder="local or dask://HOST:PORT", id="solve-executor", compact=True)
                yield Static("", id="solve-executor-check")
                yield Select([("objective from the limits", "limits"), ("min_hosts", "min_hosts"),
                              ("balance", "balance"), ("rebalance (moves VMs)", "rebalance")],
                             value="limits", allow_blank=False, id="solve-objective", compact=True)
                yield TypedInput(placeholder="max moves (rebalance)", id="solve-max-moves", compact=True)
                yield TypedInput(placeholder="problem file (p picks one)", id="solve-problem", compact=True)
                yield TypedInput(placeholder="problem id (capacity)", id="solve-problem-id", compact=True)
                yield Static("", id="solve-limits")
            with Vertical(id="solve-main"):
                yield Static("", id="solve-status")
                yield ProgressBar(total=100, show_eta=False, id="solve-elapsed")
                yield ObjectiveChart(id="solve-chart")
                yield RichLog(id="solve-log", max_lines=500, wrap=True, markup=False)
        yield from self.compose_footer()

    def on_mount(self) -> None:
        from console.ops.executors import default_executor

        self.query_one("#solve-executor", Input).value = default_executor(getattr(self.app, "settings", None))
        self.query_one("#solve-chart").border_title = "objective ● (makespan / value / cost) and bound · against time (s)"
        self.query_one("#solve-log").border_title = "log"
        self._toggle_capacity_inputs("maintenance")
        self.watch(self.app, "progress_version", self._progress_changed)
        self.watch(self.app, "limits_version", self._limits_changed)

    def _limits_changed(self, _v: int) -> None:
        self.query_one("#solve-limits", Static).update(limits_summary(self.app))

    def _toggle_capacity_inputs(self, kind: str) -> None:
        for wid in ("#solve-problem", "#solve-problem-id"):
            self.query_one(wid).display = kind == "capacity"
        self.query_one("#solve-objective").display = kind == "placement"
        for wid in ("#solve-executor-label", "#solve-executor", "#solve-executor-check"):
            self.query_one(wid).display = kind == "maintenance"  # per-datacenter sub-solves: maintenance only
        self.query_one("#solve-max-moves").display = (
            kind == "placement" and self.query_one("#solve-objective", Select).value == "rebalance")

    # ------------------------------------------------------------------ progress

    def _progress_changed(self, _v: int) -> None:
        app = self.app
        run, events = app.active_run, app.active_events
        limit = float((run.options or {}).get("time_limit_s") or app.limits.solve.time_limit_s) if run else \
            float(app.limits.solve.time_limit_s)
        self.query_one("#solve-status", Static).update(status_text(run, events, limit))
        bar = self.query_one(ProgressBar)
        elapsed = run.elapsed_s if run is not None and run.elapsed_s is not None else 0.0
        bar.update(total=limit, progress=min(limit, elapsed))
        t_end = max(limit, elapsed)  # the axis runs to the time limit, so the chart moves between events
        self.query_one(ObjectiveChart).set_points([(e.elapsed_s, e.objective, e.bound) for e in events], t_end,
                                                  elapsed)
        log = self.query_one(RichLog)
        if run is not None and run.id != self._log_run:
            if self._log_run is not None:
                log.write("─" * 40)
            self._log_run, self._logged = run.id, 0
            log.write(f"run {run.id} queued at {time.strftime('%H:%M:%S UTC', time.gmtime(run.created_at))}")
        for e in events[self._logged:]:
            parts = [f"{e.elapsed_s:7.2f}s"]
            if e.objective is not None:
                parts.append(f"obj {e.objective:g}")
            if e.bound is not None:
                parts.append(f"bound {e.bound:g}")
            if e.message:
                parts.append(e.message)
            log.write("  ".join(parts))
        self._logged = len(events)
        if run is not None and run.terminal and getattr(self, "_final_logged", None) != run.id:
            self._final_logged = run.id
            log.write(f"→ {run.status}" + (f": {headline(run.error)}" if run.error else ""))

    # ------------------------------------------------------------------ executor

    def executor(self) -> Optional[str]:
        """The executor field, checked by the CLI's own check (console.ops.executors); ValueError
        naming the field when it is not `local` or `dask://HOST:PORT`."""
        from console.ops.errors import InvalidInput
        from console.ops.executors import check_executor

        value = self.query_one("#solve-executor", Input).value.strip() or "local"
        try:
            return check_executor(value)
        except InvalidInput as exc:
            raise ValueError(exc.problems[0].message) from None

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "solve-executor":
            return
        check = self.query_one("#solve-executor-check", Static)
        try:
            value = self.executor()
        except ValueError as exc:
            check.update(Text(f"✗ {exc}", style="bold red"))
            return
        where = "worker processes here" if value == "local" else "Dask at " + value.removeprefix("dask://")
        check.update(Text(f"✓ {where}", style="green"))

    def action_edit_executor(self) -> None:
        self.query_one("#solve-kind", Select).value = "maintenance"
        self.query_one("#solve-executor", Input).focus()

    # ------------------------------------------------------------------ actions

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "solve-kind":
            kind = str(event.value)
            solver = self.query_one("#solve-solver", Select)
            solver.set_options([(s, s) for s in SOLVERS[kind]])
            solver.value = SOLVERS[kind][0]
            self._toggle_capacity_inputs(kind)
        elif event.select.id == "solve-objective":
            self._toggle_capacity_inputs(str(self.query_one("#solve-kind", Select).value))

    def action_cycle_kind(self) -> None:
        select = self.query_one("#solve-kind", Select)
        select.value = KINDS[(KINDS.index(str(select.value)) + 1) % len(KINDS)]

    def action_cycle_solver(self) -> None:
        kind = str(self.query_one("#solve-kind", Select).value)
        select = self.query_one("#solve-solver", Select)
        names = SOLVERS[kind]
        current = str(select.value)
        select.value = names[(names.index(current) + 1) % len(names)] if current in names else names[0]

    def selected_options(self) -> tuple[str, dict, Optional[str]]:
        kind = str(self.query_one("#solve-kind", Select).value)
        solver = str(self.query_one("#solve-solver", Select).value)
        limits = self.app.limits
        if kind == "capacity":
            options = {"phase": solver.split()[-1], "time_limit_s": limits.solve.time_limit_s}
            problem_id = self.query_one("#solve-problem-id", Input).value.strip()
            if problem_id:
                options["problem"] = problem_id
            return kind, options, self.query_one("#solve-problem", Input).value.strip() or None
        options = {"solver": solver, "time_limit_s": limits.solve.time_limit_s}
        if limits.solve.workers is not None:
            options["workers"] = limits.solve.workers
        if kind == "maintenance":  # the value on screen is the one recorded and used, local included
            options["executor"] = self.executor()
        if kind == "placement":
            objective = str(self.query_one("#solve-objective", Select).value)
            if objective != "limits":
                options["objective"] = objective
            moves = self.query_one("#solve-max-moves", Input).value.strip()
            if objective == "rebalance" and moves:
                if not moves.isdigit():
                    raise ValueError(f"max moves must be a whole number, not {moves!r}")
                options["max_moves"] = int(moves)
        return kind, options, None

    def action_start(self) -> None:
        run = self.app.active_run
        if self.app.active_run_id is not None and (run is None or not run.terminal):
            # (run None: queued a moment ago, its first poll not back yet — a second s must not queue another)
            what = f"run {run.id} is still {run.status}" if run is not None else \
                f"run {self.app.active_run_id} was just queued"
            self.notify(f"{what}: cancel it first (c)", severity="warning")
            return
        if self.app.limits_problems:
            self.notify("the Limits form has problems: " + "; ".join(self.app.limits_problems)
                        + " — fix them on Limits (2) first", title="not started", severity="error", timeout=8)
            return
        try:
            kind, options, problem = self.selected_options()
        except ValueError as exc:
            self.notify(str(exc), severity="error")
            return
        self.query_one(RichLog).write(f"starting a {kind} run: " + " ".join(f"{k}={v}" for k, v in options.items()))
        self.app.start_run(kind, options, problem)

    def action_cancel(self) -> None:
        run = self.app.active_run
        run_id = self.app.active_run_id
        if run_id is None:
            self.notify("no run in progress", severity="warning")
            return

        def answer(yes: Optional[bool]) -> None:
            if yes:
                self.app.cancel_run(run_id)
                self.query_one(RichLog).write(f"cancel requested for run {run_id}")

        what = f"{run.kind} run {run_id}" if run is not None else f"run {run_id}"
        self.app.push_screen(ConfirmScreen(f"Cancel {what}?\nThe best plan found so far is kept.",
                                           yes="Cancel run"), answer)

    def action_details(self) -> None:
        run = self.app.active_run
        if run is None or not run.error:
            self.notify("the shown run has no error or note", timeout=2)
            return
        self.app.push_screen(DetailsScreen(f"run {run.id} {run.status}", run.error))

    def action_pick_problem(self) -> None:
        """p: choose the Malloovia problem file of a capacity solve from a folder tree."""
        from pathlib import Path

        from console.screens.file_pick import FilePickScreen

        field = self.query_one("#solve-problem", TypedInput)
        current = Path(field.value).expanduser() if field.value.strip() else None
        start = current.parent if current is not None and current.parent.is_dir() else Path.cwd()

        def picked(path: Optional[str]) -> None:
            if path:
                field.value = path
                self.query_one("#solve-kind", Select).value = "capacity"

        self.app.push_screen(FilePickScreen("Malloovia problem file", start), picked)
