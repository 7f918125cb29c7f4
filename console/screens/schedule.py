"""Screen 4 — Schedule: the Gantt of the shown maintenance plan (live while a solve improves), its
lifecycle (approve, execution state on the bars with a now line, replan) read live from the store.

Store reads and the replan's solve run in thread workers that post messages; only handlers on the
UI thread touch widgets. The lifecycle is read at most once a second, one read at a time.
"""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Static

from console.actions import bindings_for
from console.plan_metrics import maintenance_metrics, metrics_unavailable
from console.screens.base import ConsoleScreen
from console.screens.export import export_runbook
from console.screens.schedule_actions import LifecycleActions
from console.widgets.filter_bar import FilterBar
from console.widgets.gantt import Gantt, fmt_minutes
from console.widgets.gantt_exec import legend
from console.widgets.plan_origin import PlanOrigin
from engine.model import MaintenancePlan
from engine.progress import relative_gap

REFRESH_S = 1.0  # the plan's lifecycle and execution are read at most this often while shown


def plan_headline(plan: Optional[MaintenancePlan], run_label: str,
                  peak: Optional[tuple[str, int]] = None) -> Text:
    if plan is None:
        return Text(f"{run_label}: no maintenance plan to show yet — start one on Solve (3) or open a run on Runs (6).",
                    style="italic")
    text = Text()
    text.append(run_label, style="bold")
    status_style = {"optimal": "bold green", "feasible": "yellow", "infeasible": "bold red"}.get(plan.status, "")
    text.append(f"  {plan.status}", style=status_style)
    if plan.makespan is not None:
        text.append(f"  makespan {plan.makespan} min ({fmt_minutes(plan.makespan)})")
    if plan.lower_bound is not None:
        text.append(f"  bound {plan.lower_bound}")
        gap = relative_gap(plan.makespan, plan.lower_bound)
        if gap is not None:
            text.append(f"  gap {100 * gap:.1f}%")
    text.append(f"  {len(plan.migrations)} migrations · {len(plan.reboots)} reboots · {plan.solver.name}")
    if peak is not None:
        customer, count = peak
        text.append(f"  worst customer peak {count} ({customer})", style="dim")
    if plan.explanation:
        text.append(f"\n{plan.explanation}", style="red")
    return text


def worst_customer_peak(plan: Optional[MaintenancePlan], snapshot) -> Optional[tuple[str, int]]:
    """(customer, most of its VMs migrating at one minute), the disruption operators watch."""
    if plan is None or snapshot is None or not plan.migrations:
        return None
    peaks = maintenance_metrics(plan, snapshot).peak_by_customer
    customer = max(peaks, key=lambda c: (peaks[c], c))
    return customer, peaks[customer]


def unknown_fleet_reason(problem: Optional[str]) -> str:
    """Why the Gantt cannot name a plan's customers and racks (the origin check's problem, short)."""
    if problem is not None and problem.startswith("checking"):
        return "checking the plan's fleet…"
    return "plan made for another fleet"


def details_text(details: Optional[dict], exec_legend: Optional[Text] = None) -> Text:
    if details is None and exec_legend is not None:
        return exec_legend + Text(" · ←/→ select a bar · a approve · r replan", style="dim")
    if details is None:
        text = Text("legend: ")
        text.append("▏vm-0012", style="reverse")
        text.append(" a migration (its VM id when it fits)  ")
        text.append("⟳ host-3░░", style="bold red")
        text.append(" a host's reboot · ←/→ select a bar for its detail · g group · +/- zoom · 0 fit · / find",
                    style="dim")
        return text
    state = Text(f"  [{details['state']}]", style="bold") if details.get("state") else Text("")
    if details["kind"] == "reboot":
        return Text.assemble(("reboot ", "bold red"), (details["host"], "bold"),
                             f"   {fmt_minutes(details['start'])} → {fmt_minutes(details['end'])}"
                             f"  ({details['minutes']} min; t={details['start']}..{details['end']})", state)
    return Text.assemble(("migration ", "bold"), (details["vm"], "bold cyan"),
                         f"  customer {details.get('customer') or '?'}   {details['source']} → {details['target']}"
                         f"   {fmt_minutes(details['start'])} → {fmt_minutes(details['end'])}"
                         f"  ({details['minutes']} min; t={details['start']}..{details['end']})", state)


class ScheduleScreen(LifecycleActions, ConsoleScreen):
    SCOPE = "schedule"
    BINDINGS = bindings_for("schedule")

    class ViewRead(Message):
        """A worker read the shown run's lifecycle (view None: unchanged since the last read)."""

        def __init__(self, run_id: int, view, error: Optional[str]) -> None:
            super().__init__()
            self.run_id, self.view, self.error = run_id, view, error

    def __init__(self) -> None:
        super().__init__()
        from console.ops.plan_view import wall_clock

        self.clock = wall_clock  # epoch seconds "now" of the execution view (tests pin it)
        self._shown_run: object = object()
        self._peak: Optional[tuple[str, int]] = None
        self._view = None  # console.ops.plan_view.PlanView of the shown run (None: not read / no store)
        self._view_key: Optional[tuple] = None
        self._reading = False  # a lifecycle read is in flight: never start a second one
        self._read_again = False
        self._op_message: Optional[Text] = None  # the last approve / replan outcome, until the plan changes
        self._read_error: Optional[str] = None  # the last lifecycle read failed (cleared by the next good one)
        self._op_running = False
        self._details: Optional[dict] = None

    def compose(self) -> ComposeResult:
        yield from self.compose_nav()
        yield Static("", id="schedule-head")
        yield PlanOrigin(id="schedule-origin")
        yield Gantt(id="gantt")
        yield Static(details_text(None), id="schedule-details")
        yield FilterBar("find a VM id…", id="schedule-filter")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.watch(self.app, "plan_version", self._plan_changed)
        self.watch(self.app, "fleet_version", self._plan_changed, init=False)  # customers and racks of lanes
        self.watch(self.app, "origin_version", self._origin_changed, init=False)  # peaks only for the plan's own fleet
        self.watch(self.app, "progress_version", self._progress_changed, init=False)
        self.set_focus(self.query_one(Gantt))  # now, not deferred: a `/` typed at once keeps its find bar focus
        self.set_interval(REFRESH_S, self._tick)

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self._progress_changed(0)  # a run that ended while another screen was shown: say so now
        self.read_lifecycle()

    def _progress_changed(self, _v: int) -> None:
        """While a run is solving, say so above the chart (its plan replaces the chart when stored)."""
        if self.app.screen is not self:
            return
        run = self.app.active_run
        plan = self.app.shown_plan if isinstance(self.app.shown_plan, MaintenancePlan) else None
        head = plan_headline(plan, self.app.shown_label, self._peak)
        if run is not None and not run.terminal and run.kind == "maintenance":
            last = self.app.active_events[-1] if self.app.active_events else None
            head.append(f"\nrun {run.id} {run.status}", style="bold blue")
            if last is not None and last.objective is not None:
                head.append(f": objective {last.objective:g}, bound {last.bound if last.bound is not None else '–'}"
                            f" at {last.elapsed_s:.1f} s")
            if self.app.shown_run_id == run.id and plan is not None:
                head.append(" — the chart shows its best plan so far and follows each improvement", style="dim")
            else:
                head.append(" — the chart follows its plan as soon as the run stores one", style="dim")
        self.query_one("#schedule-head", Static).set_class(
            plan is not None and (self._view is not None or self._op_message is not None
                                  or self._read_error is not None), "-lifecycle")
        if self._op_message is not None:  # first: the header shows 5 lines at most, the newest news first
            head.append("\n")
            head.append_text(self._op_message)
        if plan is not None and self._read_error is not None:
            head.append(f"\nplan state unknown: {self._read_error}", style="red")
        if plan is not None and self._view is not None:
            from console.screens.schedule_lifecycle import lifecycle_text

            head.append("\n")
            head.append_text(lifecycle_text(self._view, fmt_minutes))
        self.query_one("#schedule-head", Static).update(head)

    def _plan_changed(self, _version: int) -> None:
        plan = self.app.shown_plan if isinstance(self.app.shown_plan, MaintenancePlan) else None
        gantt = self.query_one(Gantt)
        run_id = self.app.shown_run_id
        if run_id != self._shown_run:  # another run: fit it; the same run improving keeps the operator's zoom
            self._shown_run = run_id
            gantt._fitted = False
            self._view, self._view_key, self._op_message, self._read_error = None, None, None, None
            gantt.set_execution(None, None)
        self._origin_changed(0)  # shows the plan, with the fleet it was made for

    def _origin_changed(self, _version: int) -> None:
        """The headline's worst customer peak, against the plan's own fleet only (else unavailable)."""
        plan = self.app.shown_plan if isinstance(self.app.shown_plan, MaintenancePlan) else None
        # Customers and racks of the lanes come from the plan's own fleet only (None: another fleet,
        # or not checked yet — the lanes then say "?" and the legend says why).
        self.query_one(Gantt).set_plan(plan, self.app.plan_snapshot())
        unavailable = metrics_unavailable(self.app.plan_origin_problem()) if plan is not None else None
        self._peak = (unavailable, "–") if unavailable else worst_customer_peak(plan, self.app.plan_snapshot())
        self.query_one("#schedule-head", Static).update(plan_headline(plan, self.app.shown_label, self._peak))
        self._progress_changed(0)  # keep the running run's line under the new headline (no flicker)
        self._show_details()
        self.read_lifecycle(force=True)

    # ------------------------------------------------------------------ lifecycle (live)

    def _tick(self) -> None:
        if self.app.screen is self:
            self.read_lifecycle()

    def read_lifecycle(self, force: bool = False) -> None:
        """Read the shown run's plan state and execution in a worker (never two reads at once)."""
        run_id = self.app.shown_run_id
        if run_id is None or not isinstance(self.app.shown_plan, MaintenancePlan):
            return
        if not self._has_store():
            return  # in-memory data (tests, embedding): no lifecycle to show
        if self._reading:
            self._read_again = self._read_again or force
            return
        self._reading = True
        self._load_view(run_id, None if force else self._view_key)

    @work(thread=True, group="schedule-lifecycle")
    def _load_view(self, run_id: int, known_key: Optional[tuple]) -> None:
        from console.ops.plan_view import plan_view

        try:
            view = plan_view(self._store_engine(), run_id, known_key, clock=self.clock)
        except Exception as exc:  # the store is busy or older than the lifecycle: say so on one line
            self.post_message(self.ViewRead(run_id, None, f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"))
            return
        self.post_message(self.ViewRead(run_id, view, None))

    def on_schedule_screen_view_read(self, event: "ScheduleScreen.ViewRead") -> None:
        self._reading = False
        if self._read_again:
            self._read_again = False
            self.read_lifecycle(force=True)
        if event.run_id != self.app.shown_run_id:
            return  # read for a run no longer shown
        if event.error is not None:
            if event.error != self._read_error:  # once per error, not every second
                self._read_error = event.error
                self._progress_changed(0)
            return
        if self._read_error is not None:
            self._read_error = None
            self._progress_changed(0)
        if event.view is None:
            return  # nothing changed
        self._view, self._view_key = event.view, event.view.key
        view = event.view
        gantt = self.query_one(Gantt)
        if view.execution is not None:
            gantt.set_execution(view.actions, view.status.now if view.executing else None)
        else:
            gantt.set_execution(None, None)
        self._progress_changed(0)
        self._show_details()

    def on_gantt_bar_selected(self, event: Gantt.BarSelected) -> None:
        self._details = event.details
        self._show_details()

    def _show_details(self) -> None:
        gantt = self.query_one(Gantt)
        details = gantt.selected_details() if self._details is not None else None
        exec_legend = None
        if self._view is not None and self._view.execution is not None:
            exec_legend = legend(gantt.state_styles(), gantt.now_minute, fmt_minutes)
        text = details_text(details, exec_legend)
        if gantt.plan is not None and gantt.snapshot is None and self.app.snapshot is not None:
            text = Text(f"customers/racks ? ({unknown_fleet_reason(self.app.plan_origin_problem())}) · ",
                        style="bold yellow") + text  # first: the row is one line
        self.query_one("#schedule-details", Static).update(text)

    def on_filter_bar_filter_changed(self, event: FilterBar.FilterChanged) -> None:
        if not event.done:
            return
        gantt = self.query_one(Gantt)
        needle = event.text.strip().lower()
        gantt.focus()
        if not needle:
            return
        for li, line in enumerate(gantt.lines):
            for bi, bar in enumerate(line.bars):
                if bar.kind == "migration" and needle in bar.label.lower():
                    gantt._select(li, bi)
                    return
        self.notify(f"no migration of a VM matching {event.text!r}", severity="warning")

    # ------------------------------------------------------------------ actions

    def action_zoom(self, delta: int) -> None:
        self.query_one(Gantt).action_zoom(delta)

    def action_fit(self) -> None:
        self.query_one(Gantt).action_fit()

    def action_cycle_group(self) -> None:
        gantt = self.query_one(Gantt)
        gantt.action_cycle_group()
        self.notify(f"lanes per {gantt.group}", timeout=1.5)

    def action_filter(self) -> None:
        self.query_one(FilterBar).open()

    def action_follow_latest(self) -> None:
        self.app.show_latest_run(kind="maintenance")

    def action_export_csv(self) -> None:
        plan = self.app.shown_plan
        if not isinstance(plan, MaintenancePlan):
            self.notify("no maintenance plan to export", severity="warning")
            return
        export_runbook(self, plan.migrations, plan.reboots)
