"""Screen 4 — Schedule: the Gantt of the shown maintenance plan (live while a solve improves)."""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from console.actions import bindings_for
from console.plan_metrics import maintenance_metrics, metrics_unavailable
from console.screens.base import ConsoleScreen
from console.screens.export import export_runbook
from console.widgets.filter_bar import FilterBar
from console.widgets.gantt import Gantt, fmt_minutes
from console.widgets.plan_origin import PlanOrigin
from engine.model import MaintenancePlan
from engine.progress import relative_gap


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


def details_text(details: Optional[dict]) -> Text:
    if details is None:
        text = Text("legend: ")
        text.append("▏vm-0012", style="reverse")
        text.append(" a migration (its VM id when it fits)  ")
        text.append("⟳ reboot░░", style="bold red")
        text.append(" a host's reboot · ←/→ select a bar for its detail · g group · +/- zoom · 0 fit · / find",
                    style="dim")
        return text
    if details["kind"] == "reboot":
        return Text.assemble(("reboot ", "bold red"), (details["host"], "bold"),
                             f"   {fmt_minutes(details['start'])} → {fmt_minutes(details['end'])}"
                             f"  ({details['minutes']} min; t={details['start']}..{details['end']})")
    return Text.assemble(("migration ", "bold"), (details["vm"], "bold cyan"),
                         f"  customer {details.get('customer') or '?'}   {details['source']} → {details['target']}"
                         f"   {fmt_minutes(details['start'])} → {fmt_minutes(details['end'])}"
                         f"  ({details['minutes']} min; t={details['start']}..{details['end']})")


class ScheduleScreen(ConsoleScreen):
    SCOPE = "schedule"
    BINDINGS = bindings_for("schedule")

    def __init__(self) -> None:
        super().__init__()
        self._shown_run: object = object()
        self._peak: Optional[tuple[str, int]] = None

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
        self.query_one(Gantt).focus()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self._progress_changed(0)  # a run that ended while another screen was shown: say so now

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
        self.query_one("#schedule-head", Static).update(head)

    def _plan_changed(self, _version: int) -> None:
        plan = self.app.shown_plan if isinstance(self.app.shown_plan, MaintenancePlan) else None
        gantt = self.query_one(Gantt)
        run_id = self.app.shown_run_id
        if run_id != self._shown_run:  # another run: fit it; the same run improving keeps the operator's zoom
            self._shown_run = run_id
            gantt._fitted = False
        gantt.set_plan(plan, self.app.snapshot)
        self._origin_changed(0)

    def _origin_changed(self, _version: int) -> None:
        """The headline's worst customer peak, against the plan's own fleet only (else unavailable)."""
        plan = self.app.shown_plan if isinstance(self.app.shown_plan, MaintenancePlan) else None
        unavailable = metrics_unavailable(self.app.plan_origin_problem()) if plan is not None else None
        self._peak = (unavailable, "–") if unavailable else worst_customer_peak(plan, self.app.plan_snapshot())
        self.query_one("#schedule-head", Static).update(plan_headline(plan, self.app.shown_label, self._peak))
        self._progress_changed(0)  # keep the running run's line under the new headline (no flicker)

    def on_gantt_bar_selected(self, event: Gantt.BarSelected) -> None:
        self.query_one("#schedule-details", Static).update(details_text(event.details))

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
