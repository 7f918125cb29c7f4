"""Screen 6 — Runs: history, open a run's plan, compare two runs, cancel."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Optional

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from console.actions import bindings_for
from console.console_data import plan_from_dict
from console.plan_metrics import maintenance_metrics, metrics_unavailable
from console.screens.base import TableScreen
from console.screens.confirm import ConfirmScreen
from console.screens.details import DetailsScreen, has_details, headline
from console.widgets.filter_bar import FilterBar
from console.widgets.line_table import Column, LineTable, Row
from console.widgets.nav_bar import NavBar
from engine.model import MaintenancePlan
from engine.progress import relative_gap

REFRESH_S = 1.0  # the list reads the store at most this often while it is shown

STATUS_STYLE = {"queued": "cyan", "running": "bold blue", "succeeded": "green", "infeasible": "red",
                "failed": "bold red", "cancelled": "yellow"}


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLE.get(status, ""))


def when(ts: Optional[float]) -> str:
    if ts is None:
        return "–"
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%m-%d %H:%M:%S")


def gap_of(run) -> Optional[float]:
    return relative_gap(run.objective, run.lower_bound)


RUN_COLUMNS = [
    Column("id", "Run", 5, align="right"),
    Column("kind", "Kind", 11),
    Column("solver", "Solver", 10),
    Column("status", "Status", 10, render=status_text),
    Column("plan", "Plan", 10),
    Column("objective", "Objective", 10, align="right", render=lambda v: "–" if v is None else f"{v:g}"),
    Column("bound", "Bound", 8, align="right", render=lambda v: "–" if v is None else f"{v:g}"),
    Column("gap", "Gap", 7, align="right", render=lambda v: "–" if v is None else f"{v * 100:.1f}%"),
    Column("created", "Created (UTC)", 14),
    Column("elapsed", "Time s", 7, align="right", render=lambda v: "–" if v is None else f"{v:.1f}"),
]


# Below NARROW_WIDTH columns (an 80×24 terminal) every column still shows, condensed: kinds and the
# creation time shortened (no seconds), solver names cut — the detail line below names them whole.
NARROW_WIDTH = 104
SHORT_KIND = {"maintenance": "maint", "placement": "place", "capacity": "capac"}
RUN_COLUMNS_NARROW = [
    Column("id", "Run", 4, align="right"),
    Column("kind", "Kind", 5, render=lambda v: SHORT_KIND.get(v, v)),
    Column("solver", "Solver", 6),
    Column("status", "Status", 9, render=status_text),
    Column("plan", "Plan", 8),
    Column("objective", "Obj", 6, align="right", render=RUN_COLUMNS[5].render),
    Column("bound", "Bound", 6, align="right", render=RUN_COLUMNS[6].render),
    Column("gap", "Gap", 6, align="right", render=RUN_COLUMNS[7].render),
    Column("created", "Created", 11, render=lambda v: v[:11]),  # "%m-%d %H:%M"
    Column("elapsed", "Time s", 6, align="right", render=lambda v: "–" if v is None else f"{v:.0f}"),
]


def run_row(run) -> Row:
    solver = (run.options or {}).get("solver") or "–"
    elapsed = None
    if run.started_at is not None:
        end = run.finished_at if run.finished_at is not None else time.time()
        elapsed = max(0.0, end - run.started_at)
    return Row(str(run.id), (run.id, run.kind, solver, run.status, run.plan_status, run.objective,
                             run.lower_bound, gap_of(run), when(run.created_at), elapsed))


class RunsScreen(TableScreen):
    SCOPE = "runs"
    BINDINGS = bindings_for("runs")

    def __init__(self) -> None:
        super().__init__()
        self._runs: dict[str, object] = {}
        self._loading = False
        self.refreshes = 0  # reads started (tests and the benchmark count them)
        self._again = False  # f5 came while a read was in flight: read once more after it
        self._shown_head: Optional[str] = None
        self._shown_detail = None  # the run whose detail is shown (an equal run is not drawn again)

    def compose(self) -> ComposeResult:
        yield from self.compose_nav()
        yield Static("", id="runs-head")
        yield LineTable(RUN_COLUMNS, id="runs-table")
        yield Static("", id="run-detail")
        yield FilterBar("filter runs (kind, status, solver)…", id="runs-filter")
        yield from self.compose_footer()

    def on_resize(self, event) -> None:
        super().on_resize(event)
        table = self.query_one(LineTable)
        wanted = RUN_COLUMNS_NARROW if event.size.width < NARROW_WIDTH else RUN_COLUMNS
        if table.columns != wanted:
            table.set_columns(wanted)

    def on_mount(self) -> None:
        self.set_focus(self.query_one(LineTable))  # now: a `/` typed at once must not lose the focus to it later
        self.watch(self.app, "runs_version", lambda _v: self.refresh_runs(), init=False)
        self.refresh_runs()
        self.set_interval(REFRESH_S, self._tick)

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.refresh_runs()

    def _tick(self) -> None:
        """Live list: runs queued by the CLI, a schedule or another console appear within a second."""
        if self.app.screen is self:
            self.refresh_runs()

    def action_refresh_runs(self) -> None:
        """f5: read the runs now (after the read in flight, if any: reads never overlap)."""
        self.refresh_runs(force=True)
        self.notify("runs refreshed", timeout=1)

    def refresh_runs(self, force: bool = False) -> None:
        if self._loading:  # never overlap two reads of the runs store
            self._again = self._again or force
            return
        self._loading = True
        self.refreshes += 1
        self._load_runs()

    @work(thread=True, exclusive=True, group="runs-list")
    def _load_runs(self) -> None:
        try:
            runs = self.app.data.list_runs()
            self.app.call_from_thread(self._show_runs, runs, None)
        except Exception as exc:  # the store is unreadable: say so, keep the UI alive
            self.app.call_from_thread(self._show_runs, [], str(exc))

    def _show_runs(self, runs: list, error: Optional[str]) -> None:
        self._loading = False
        if self._again:
            self._again = False
            self.refresh_runs()
        live = [r.id for r in runs if r.status in ("queued", "running")]
        if live and error is None:
            self.app.follow_existing(max(live))  # a run started elsewhere is followed on Solve
        self._runs = {str(r.id): r for r in runs}
        table = self.query_one(LineTable)
        table.set_rows([run_row(r) for r in runs])  # repaints only the lines of runs that changed
        head = Text(f"{len(runs)} runs", style="bold")
        counts: dict[str, int] = {}
        for r in runs:
            counts[r.status] = counts.get(r.status, 0) + 1
        for status, n in sorted(counts.items()):
            head.append("   ")
            head.append(f"{n} {status}", style=STATUS_STYLE.get(status, ""))
        if table.marked:
            head.append(f"   marked: {', '.join(sorted(table.marked, key=int))}", style="yellow")
        if error:
            head.append(f"   {error}", style="bold red")
        if head.plain != self._shown_head:  # an unchanged list costs no layout or repaint
            self._shown_head = head.plain
            self.query_one("#runs-head", Static).update(head)
        self._show_detail(table.cursor_key)

    def _show_detail(self, key: Optional[str]) -> None:
        run = self._runs.get(key) if key else None
        if run is not None and run == self._shown_detail:
            return
        self._shown_detail = run
        box = self.query_one("#run-detail", Static)
        if run is None:
            box.update(Text("No runs yet. Start one on Solve (3): press 3 then s.", style="dim"))
            return
        text = Text()
        text.append(f"run {run.id}", style="bold")
        text.append(f"  {run.kind}  ")
        text.append_text(status_text(run.status))
        if run.input_name:
            text.append(f"  input {run.input_name}")
        if run.limits_name:
            text.append(f"  limits {run.limits_name}")
        if run.options:
            text.append("  " + " ".join(f"{k}={v}" for k, v in sorted(run.options.items())), style="dim")
        if run.worker_pid:
            text.append(f"  pid {run.worker_pid}", style="dim")
        if run.error:
            text.append(f"\n{headline(run.error)}", style="red")
            if has_details(run.error):
                text.append("  (d: details)", style="dim")
        text.append("\nenter open · space mark two · c compare · x cancel", style="dim")
        box.update(text)

    def on_line_table_row_highlighted(self, event: LineTable.RowHighlighted) -> None:
        self._show_detail(event.key)

    def on_line_table_row_selected(self, event: LineTable.RowSelected) -> None:
        self.action_open_run()

    # ------------------------------------------------------------------ actions

    def action_open_run(self) -> None:
        key = self.query_one(LineTable).cursor_key
        if key is not None:
            self.app.open_run(int(key))

    def action_details(self) -> None:
        key = self.query_one(LineTable).cursor_key
        run = self._runs.get(key) if key else None
        if run is None or not run.error:
            self.notify("this run has no error or note", timeout=2)
            return
        self.app.push_screen(DetailsScreen(f"run {run.id} {run.status}", run.error))

    def action_mark(self) -> None:
        table = self.query_one(LineTable)
        table.toggle_mark(limit=2)
        table.action_cursor(1)
        self._show_runs(list(self._runs.values()), None)

    def action_compare(self) -> None:
        table = self.query_one(LineTable)
        ids = sorted(table.marked, key=int)
        if len(ids) != 2:
            self.notify("mark two runs with space, then press c", severity="warning")
            return
        self.app.push_screen(CompareScreen(int(ids[0]), int(ids[1])))

    def action_cancel_run(self) -> None:
        key = self.query_one(LineTable).cursor_key
        run = self._runs.get(key) if key else None
        if run is None:
            return
        if run.status not in ("queued", "running"):
            self.notify(f"run {run.id} is {run.status}: nothing to cancel", severity="warning")
            return

        def answer(yes: Optional[bool]) -> None:
            if yes:
                self.app.cancel_run(run.id)

        self.app.push_screen(ConfirmScreen(f"Cancel run {run.id} ({run.kind})?\nThe best plan found so far is kept.",
                                           yes="Cancel run"), answer)


def _flatten(doc: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in doc.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and key != "overrides":
            out.update(_flatten(value, path + "."))
        else:
            out[path] = value
    return out


def limits_diff(a: Optional[dict], b: Optional[dict]) -> list[tuple[str, object, object]]:
    """(limit, value in A, value in B) for every limit that differs (defaults filled in)."""
    from engine.model import Limits

    fa = _flatten(Limits.model_validate(a or {}).to_json_dict())
    fb = _flatten(Limits.model_validate(b or {}).to_json_dict())
    return [(k, fa.get(k), fb.get(k)) for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)]


def limits_table(a_id: int, a_run, b_id: int, b_run):
    """Which limits differ between the two runs (and the limit-set names they were started with)."""
    def fmt(v) -> str:
        return "no limit" if v is None else json_text(v)

    table = Table(title="Limits that differ", header_style="bold")
    table.add_column("limit")
    table.add_column(f"run {a_id}" + (f" ({a_run.limits_name})" if a_run and a_run.limits_name else ""),
                     justify="right")
    table.add_column(f"run {b_id}" + (f" ({b_run.limits_name})" if b_run and b_run.limits_name else ""),
                     justify="right")
    try:
        rows = limits_diff(a_run.limits if a_run else None, b_run.limits if b_run else None)
    except ValueError as exc:
        return Text(f"limits cannot be compared: {exc}", style="red")
    if not rows:
        return Text("Both runs used the same limits.", style="green")
    for path, x, y in rows:
        table.add_row(path, fmt(x), fmt(y), style="yellow")
    return table


def json_text(value) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value)


def compare_tables(a_id: int, a_plan, b_id: int, b_plan, snapshot, unavailable=(None, None)) -> list:
    """Rich tables: headline metrics, then per-customer peak disruption. `unavailable[i]` says why
    plan i's per-customer numbers are not computed (it was made for another fleet than `snapshot`):
    a customer's peaks are only ever counted against the fleet the plan was made for."""
    if not isinstance(a_plan, MaintenancePlan) or not isinstance(b_plan, MaintenancePlan):
        return [Text("Compare needs two maintenance runs that have a plan.", style="bold red")]
    a, b = (maintenance_metrics(p, None if u else snapshot) for p, u in zip((a_plan, b_plan), unavailable))
    stale = [u for u in unavailable if u]
    head = Table(title="Plans side by side", expand=False, header_style="bold")
    head.add_column("")
    head.add_column(f"run {a_id}", justify="right")
    head.add_column(f"run {b_id}", justify="right")
    head.add_column("Δ (B − A)", justify="right")

    def delta(x, y) -> str:
        return "–" if x is None or y is None else f"{y - x:+g}"

    def fmt(v) -> str:
        return "–" if v is None else (f"{v:g}" if isinstance(v, (int, float)) else str(v))

    head.add_row("status", a.status, b.status, "")
    head.add_row("solver", a.solver, b.solver, "")
    head.add_row("makespan (min)", fmt(a.makespan), fmt(b.makespan), delta(a.makespan, b.makespan))
    head.add_row("lower bound", fmt(a.lower_bound), fmt(b.lower_bound), delta(a.lower_bound, b.lower_bound))
    head.add_row("gap", "–" if a.gap is None else f"{a.gap:.1%}", "–" if b.gap is None else f"{b.gap:.1%}", "")
    head.add_row("moves (migrations)", fmt(a.migrations), fmt(b.migrations), delta(a.migrations, b.migrations))
    head.add_row("reboots", fmt(a.reboots), fmt(b.reboots), delta(a.reboots, b.reboots))
    if stale:
        worst = ["– (another fleet)" if u else fmt(max(m.peak_by_customer.values(), default=0))
                 for u, m in zip(unavailable, (a, b))]
        head.add_row("worst customer peak", *worst, "", style="dim")
        return [head, Text(f"Per-customer peaks not shown: {stale[0].removeprefix('not computed: ')}.",
                           style="yellow")]
    head.add_row("worst customer peak", fmt(max(a.peak_by_customer.values(), default=0)),
                 fmt(max(b.peak_by_customer.values(), default=0)), "")
    cust = Table(title="Peak concurrent migrations per customer", header_style="bold")
    cust.add_column("customer")
    cust.add_column(f"run {a_id}", justify="right")
    cust.add_column(f"run {b_id}", justify="right")
    names = sorted(set(a.peak_by_customer) | set(b.peak_by_customer),
                   key=lambda c: (-max(a.peak_by_customer.get(c, 0), b.peak_by_customer.get(c, 0)), c))
    for c in names:
        pa, pb = a.peak_by_customer.get(c, 0), b.peak_by_customer.get(c, 0)
        style = "yellow" if pa != pb else ""
        cust.add_row(c, str(pa), str(pb), style=style)
    return [head, Text(""), cust]


class CompareScreen(Screen):
    BINDINGS = [Binding("escape", "app.back", "Back")]
    DEFAULT_CSS = """
    CompareScreen VerticalScroll { padding: 0 2; }
    """

    def __init__(self, a: int, b: int) -> None:
        super().__init__()
        self.a, self.b = a, b

    def compose(self) -> ComposeResult:
        yield NavBar("runs")
        with VerticalScroll():
            yield Static(f"loading runs {self.a} and {self.b}…", id="compare-body")
        yield Footer()

    def on_mount(self) -> None:
        self._load()

    @work(thread=True)
    def _load(self) -> None:
        data = self.app.data
        try:
            runs = [data.get_run(self.a), data.get_run(self.b)]
            plans = [plan_from_dict(r.plan) if r is not None else None for r in runs]
        except Exception as exc:
            self.app.call_from_thread(self.notify, f"cannot read the runs: {exc}", severity="error")
            return
        self.app.call_from_thread(self._show, runs, plans)

    def _show(self, runs: list, plans: list) -> None:
        from rich.console import Group

        from console.app import run_input_key

        parts = [limits_table(self.a, runs[0], self.b, runs[1]), Text("")]
        for run_id, run, plan in zip((self.a, self.b), runs, plans):
            problem = self.app.plan_origin_problem(plan, run_input_key(run)) if plan is not None else None
            if problem and not problem.startswith("checking"):
                parts.append(Text(f"⚠ run {run_id}: {problem}", style="bold red"))
        keys = [run_input_key(r) for r in runs]
        unavailable = [metrics_unavailable(self.app.plan_origin_problem(p, k)) if p is not None else None
                       for p, k in zip(plans, keys)]
        parts += compare_tables(self.a, plans[0], self.b, plans[1], self.app.snapshot, unavailable)
        self.query_one("#compare-body", Static).update(Group(*parts))
