"""Screen 4 — Schedule: the Gantt of the shown maintenance plan (live while a solve improves)."""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from console.actions import bindings_for
from console.screens.base import ConsoleScreen
from console.widgets.filter_bar import FilterBar
from console.widgets.gantt import Gantt, fmt_minutes
from engine.model import MaintenancePlan


def plan_headline(plan: Optional[MaintenancePlan], run_label: str) -> Text:
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
        if plan.makespan:
            text.append(f"  gap {100 * (plan.makespan - plan.lower_bound) / plan.makespan:.1f}%")
    text.append(f"  {len(plan.migrations)} migrations · {len(plan.reboots)} reboots · {plan.solver.name}")
    if plan.explanation:
        text.append(f"\n{plan.explanation}", style="red")
    return text


def details_text(details: Optional[dict]) -> Text:
    if details is None:
        return Text("←/→ select a bar · ↑/↓ lanes · g group · +/- zoom · 0 fit · / find a VM", style="dim")
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

    def compose(self) -> ComposeResult:
        yield from self.compose_nav()
        yield Static("", id="schedule-head")
        yield Gantt(id="gantt")
        yield Static(details_text(None), id="schedule-details")
        yield FilterBar("find a VM id…", id="schedule-filter")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.watch(self.app, "plan_version", self._plan_changed)
        self.query_one(Gantt).focus()

    def _plan_changed(self, _version: int) -> None:
        plan = self.app.shown_plan if isinstance(self.app.shown_plan, MaintenancePlan) else None
        gantt = self.query_one(Gantt)
        run_id = self.app.shown_run_id
        if run_id != self._shown_run:  # another run: fit it; the same run improving keeps the operator's zoom
            self._shown_run = run_id
            gantt._fitted = False
        gantt.set_plan(plan, self.app.snapshot)
        self.query_one("#schedule-head", Static).update(plan_headline(plan, self.app.shown_label))

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
