"""Screen 5 — Allocation: placement assignments and host utilisation before / after;
for capacity plans, the per-timeslot table of instances per class and app."""

from __future__ import annotations

from typing import Any, Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from console.actions import bindings_for
from console.console_data import host_rows
from console.screens.base import TableScreen
from console.screens.fleet import state_text
from console.widgets.bars import util_bar_cell
from console.widgets.filter_bar import FilterBar
from console.widgets.line_table import Column, LineTable, Row
from console.widgets.plan_origin import PlanOrigin
from console.widgets.slot_chart import SlotChart
from engine.model import RESOURCES, PlacementPlan, Snapshot

ASSIGN_COLUMNS = [
    Column("vm", "VM", 14),
    Column("customer", "Customer", 12),
    Column("host", "Host", 16),
    Column("rack", "Rack", 10),
    Column("cpu", "CPU", 5, align="right", render=lambda v: "–" if v is None else f"{v:g}"),
    Column("mem", "Mem GB", 7, align="right", render=lambda v: "–" if v is None else f"{v:g}"),
    Column("kind", "Kind", 8),
]

UTIL_COLUMNS = [
    Column("host", "Host", 16),
    Column("state", "State", 12, render=state_text),
    Column("new", "+VMs", 5, align="right"),
    *[c for r, label in zip(RESOURCES, ("CPU", "Mem", "Disk"))
      for c in (Column(f"{r}-before", f"{label} before", 15, render=util_bar_cell(10)),
                Column(f"{r}-after", f"{label} after", 15, render=util_bar_cell(10)))],
]


MOVE_COLUMNS = [
    Column("vm", "VM", 14),
    Column("customer", "Customer", 12),
    Column("source", "From host", 16),
    Column("source_dc", "From DC", 8),
    Column("target", "To host", 16),
    Column("target_dc", "To DC", 8),
    Column("cross", "", 7),
    Column("cpu", "CPU", 5, align="right", render=lambda v: "–" if v is None else f"{v:g}"),
    Column("mem", "Mem GB", 7, align="right", render=lambda v: "–" if v is None else f"{v:g}"),
]


def move_rows(plan: PlacementPlan, snapshot: Optional[Snapshot]) -> list[Row]:
    """Rebalance moves: source and target in their own columns, with the datacenter of each end."""
    vms = snapshot.vm_by_id if snapshot is not None else {}
    dc_of: dict[str, str] = {}
    if snapshot is not None:
        rack_dc = {r.id: r.datacenter for r in snapshot.racks}
        dc_of = {h.id: rack_dc.get(h.rack, "?") for h in snapshot.hosts}
    rows = []
    for mv in plan.moves:
        vm = vms.get(mv.vm)
        a, b = dc_of.get(mv.source, "?"), dc_of.get(mv.target, "?")
        rows.append(Row(mv.vm, (mv.vm, vm.customer if vm else "?", mv.source, a, mv.target, b,
                                "cross-DC" if a != b else "", vm.cpu if vm else None, vm.memory_gb if vm else None)))
    return rows


def placement_rows(plan: PlacementPlan, snapshot: Optional[Snapshot]) -> tuple[list[Row], list[Row]]:
    vms = snapshot.vm_by_id if snapshot is not None else {}
    racks = {h.id: h.rack for h in snapshot.hosts} if snapshot is not None else {}
    assign = []
    added: dict[str, list] = {}
    for a in plan.assignments:
        vm = vms.get(a.vm)
        assign.append(Row(a.vm, (a.vm, vm.customer if vm else "?", a.host, racks.get(a.host, "?"),
                                 vm.cpu if vm else None, vm.memory_gb if vm else None, "new")))
        if vm is not None:
            added.setdefault(a.host, []).append(vm)
    if snapshot is None:
        return assign, []
    before = {h.id: h for h in host_rows(snapshot)}
    if plan.moves:
        moved = {mv.vm: mv for mv in plan.moves}
        shifted = snapshot.model_copy(update={"vms": [
            v.model_copy(update={"host": moved[v.id].target}) if v.id in moved else v for v in snapshot.vms]})
        after_rows = host_rows(shifted, added)
    else:
        after_rows = host_rows(snapshot, added)
    util = []
    for h in after_rows:
        b = before[h.id]
        new = len(added.get(h.id, ())) + sum(1 for mv in plan.moves if mv.target == h.id)
        values: list[Any] = [h.id, h.state, new]
        for r in RESOURCES:
            values += [b.utilisation(r), h.utilisation(r)]
        util.append(Row(h.id, tuple(values)))
    return assign, util


def find_allocations(doc: Any, parent: Optional[dict] = None, out: Optional[list] = None) -> list[tuple[dict, dict]]:
    """Every {apps, instance_classes, vms_number | values} table in a capacity plan (Malloovia's
    solution shape), with the solution that holds it, in document order."""
    out = [] if out is None else out
    if isinstance(doc, dict):
        if {"apps", "instance_classes"} <= doc.keys() and ("vms_number" in doc or "values" in doc):
            out.append((doc, parent or {}))
            return out
        for v in doc.values():
            find_allocations(v, doc, out)
    elif isinstance(doc, list):
        for v in doc:
            find_allocations(v, parent, out)
    return out


def _number(x: Any) -> Any:
    """A count as a number; tolerant of the "(13.0" strings some Malloovia example files hold."""
    if isinstance(x, (int, float)) or x is None:
        return x
    try:
        return float(str(x).strip("() "))
    except ValueError:
        return x


def _ident(x: Any) -> str:
    return x.get("id", str(x)) if isinstance(x, dict) else str(x)


def _count(v: Any) -> str:
    return "–" if v is None else f"{v:g}" if isinstance(v, (int, float)) else str(v)


def capacity_slot_rows(plan: dict) -> tuple[list[Column], list[Row], list[tuple[float, float]], str]:
    """A stored capacity result (engine.capacity.result, Phase II): one row per slot with the workload
    per app, the VMs per instance class (reserved classes first, marked R), reserved and on-demand
    totals, cost and status; and the (reserved, on-demand) series for the chart."""
    slots = [s for s in plan.get("slots") or [] if isinstance(s, dict)]
    reserved_classes = list((plan.get("reserved") or {}).keys())
    apps: list[str] = []
    others: list[str] = []
    for slot in slots:
        for app, per_class in (slot.get("vms") or {}).items():
            if app not in apps:
                apps.append(app)
            for c in per_class:
                if c not in reserved_classes and c not in others:
                    others.append(c)
    classes = reserved_classes + others
    columns = [Column("slot", "Slot", 5, align="right"), Column("status", "Status", 9),
               Column("cost", "Cost", 9, align="right", render=_count)]
    columns += [Column(f"w-{a}", f"load {a}"[:12], max(7, min(12, len(a) + 5)), align="right", render=_count)
                for a in apps]
    columns += [Column(f"c-{c}", (c + (" R" if c in reserved_classes else ""))[:12], max(6, min(12, len(c) + 2)),
                       align="right", render=_count) for c in classes]
    columns += [Column("reserved", "Reserved", 8, align="right", render=_count),
                Column("ondemand", "On-demand", 9, align="right", render=_count)]
    rows, series = [], []
    for slot in slots:
        vms = slot.get("vms") or {}
        per_class = {c: sum(float(per.get(c) or 0) for per in vms.values()) for c in classes}
        r = sum(per_class[c] for c in reserved_classes)
        d = sum(per_class[c] for c in others)
        workload = slot.get("workload") or []
        values = [slot.get("slot"), slot.get("status"), slot.get("cost"),
                  *[workload[i] if i < len(workload) else None for i in range(len(apps))],
                  *[per_class[c] if vms else None for c in classes], r if vms else None, d if vms else None]
        rows.append(Row(str(slot.get("slot")), tuple(values)))
        series.append((r, d))
    statuses: dict[str, int] = {}
    for slot in slots:
        statuses[str(slot.get("status"))] = statuses.get(str(slot.get("status")), 0) + 1
    note = f"{len(slots)} slots × {len(apps)} apps × {len(classes)} instance classes · " + \
        ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
    return columns, rows, series, note


def capacity_rows(plan: dict) -> tuple[list[Column], list[Row], str]:
    """The per-timeslot (Phase II) or per-level (Phase I) table of instances per class and app."""
    found = find_allocations(plan)
    if not found:
        return [Column("k", "Key", 20), Column("v", "Value", 60)], \
            [Row(str(k), (k, str(v)[:200])) for k, v in plan.items()], "no per-slot allocation table in this plan"
    table, holder = found[-1]  # Phase II comes after Phase I
    apps = [_ident(a) for a in table["apps"]]
    classes = [_ident(c) for c in table["instance_classes"]]
    values = table.get("vms_number", table.get("values")) or []
    tuples = table.get("workload_tuples") or table.get("workloads")
    repeats = table.get("repeats")
    stats = holder.get("solving_stats") if isinstance(holder.get("solving_stats"), list) else None
    columns = [Column("slot", "Slot", 6, align="right"), Column("app", "App", 12)]
    if stats is not None:
        columns.append(Column("status", "Status", 9))
    if tuples is not None:
        columns.append(Column("load", "Workload", 9, align="right"))
    if repeats is not None and any(r != 1 for r in repeats):
        columns.append(Column("rep", "Repeats", 7, align="right"))
    else:
        repeats = None
    columns += [Column(c, c[:10], max(6, min(10, len(c))), align="right",
                       render=lambda v: "–" if v is None else f"{v:g}" if isinstance(v, (int, float)) else str(v))
                for c in classes]
    columns.append(Column("total", "Total", 7, align="right", render=lambda v: f"{v:g}"))
    rows = []
    for s, per_app in enumerate(values):
        for a, counts in enumerate(per_app):
            row: list[Any] = [s, apps[a] if a < len(apps) else a]
            if stats is not None:
                st = stats[s] if s < len(stats) else {}
                row.append(st.get("status") if isinstance(st, dict) else None)
            if tuples is not None:
                row.append(tuples[s][a] if s < len(tuples) and a < len(tuples[s]) else None)
            if repeats is not None:
                row.append(repeats[s] if s < len(repeats) else None)
            numbers = [_number(x) for x in counts]
            row += numbers + [sum(x for x in numbers if isinstance(x, (int, float)))]
            rows.append(Row(f"{s}/{a}", tuple(row)))
    kind = "slots" if stats is not None or repeats is None else "workload levels"
    return columns, rows, f"{len(values)} {kind} × {len(apps)} apps × {len(classes)} instance classes"


class AllocationScreen(TableScreen):
    SCOPE = "allocation"
    BINDINGS = bindings_for("allocation")

    def __init__(self) -> None:
        super().__init__()
        self._views: list[tuple[str, list[Column], list[Row]]] = []
        self._view = 0

    def compose(self) -> ComposeResult:
        yield from self.compose_nav()
        yield Static("", id="alloc-head")
        yield PlanOrigin(id="alloc-origin")
        yield SlotChart(id="alloc-chart")
        yield Static("", id="alloc-title")
        yield LineTable(ASSIGN_COLUMNS, id="alloc-table")
        yield FilterBar("filter rows…", id="alloc-filter")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.watch(self.app, "plan_version", self._plan_changed)
        self.watch(self.app, "fleet_version", self._plan_changed, init=False)
        self.set_focus(self.query_one(LineTable))  # now: a `/` typed at once must not lose the focus to it later

    def _plan_changed(self, _v: int) -> None:
        plan = self.app.shown_plan
        head = self.query_one("#alloc-head", Static)
        chart = self.query_one(SlotChart)
        chart.display = False
        self._views = []
        if isinstance(plan, PlacementPlan):
            assign, util = placement_rows(plan, self.app.snapshot)
            self._views = [("Assignments of new VMs", ASSIGN_COLUMNS, assign)] if plan.assignments or not plan.moves else []
            if plan.moves:
                self._views.insert(0, ("Moves (enter: details · e: export the runbook)", MOVE_COLUMNS,
                                       move_rows(plan, self.app.snapshot)))
            self._views.append(("Host utilisation before → after", UTIL_COLUMNS, util))
            text = Text(self.app.shown_label, style="bold")
            text.append(f"  {plan.status}  objective {plan.objective} = {plan.value if plan.value is not None else '–'}"
                        f"  bound {plan.lower_bound if plan.lower_bound is not None else '–'}"
                        f"  {len(plan.assignments)} assignments · {len(plan.moves)} moves · {plan.solver.name}")
            if plan.explanation:
                text.append(f"\n{plan.explanation}", style="red")
            head.update(text)
        elif isinstance(plan, dict):
            text = Text(self.app.shown_label, style="bold")
            for key in ("status", "cost", "phase", "problem"):
                if plan.get(key) is not None:
                    text.append(f"  {key} {_count(plan[key])}")
            reserved = plan.get("reserved") or {}
            if reserved:
                text.append("  reserved " + ", ".join(f"{c} × {_count(n)}" for c, n in reserved.items()))
            if isinstance(plan.get("slots"), list) and plan["slots"]:
                columns, rows, series, note = capacity_slot_rows(plan)
                self._views = [("Slots: workload, VMs per class, reserved and on-demand", columns, rows)]
                chart.set_series(series)
                chart.display = True
            else:
                columns, rows, note = capacity_rows(plan)
                self._views = [("Instances per timeslot, class and app", columns, rows)]
            text.append(f"\n{note}", style="dim")
            head.update(text)
        else:
            head.update(Text("No placement or capacity plan shown. Open one on Runs (6) or start one on Solve (3).",
                             style="italic"))
        self._view = 0
        self._show_view()

    def _show_view(self) -> None:
        table = self.query_one(LineTable)
        title = self.query_one("#alloc-title", Static)
        if not self._views:
            table.set_columns(ASSIGN_COLUMNS)
            table.set_rows([])
            title.update("")
            return
        name, columns, rows = self._views[self._view]
        table.set_columns(columns)
        table.set_rows(rows, keep_cursor=False)
        more = f"   (tab: {self._views[(self._view + 1) % len(self._views)][0]})" if len(self._views) > 1 else ""
        title.update(Text.assemble((name, "bold"), f"  {len(rows)} rows", (more, "dim")))

    def on_line_table_row_selected(self, event) -> None:
        """enter on a move: its whole story (VM, both ends and their datacenters, when it would run)."""
        plan = self.app.shown_plan
        if not isinstance(plan, PlacementPlan) or not self._views or self._views[self._view][1] is not MOVE_COLUMNS:
            return
        move = next((m for m in plan.moves if m.vm == event.key), None)
        if move is None:
            return
        from console.screens.details import DetailsScreen

        row = next(r for r in self._views[self._view][2] if r.key == move.vm)
        vm, customer, source, source_dc, target, target_dc, cross, cpu, mem = row.values
        slot = next((m for m in self._runbook(plan) if m.vm == move.vm), None)
        when = f"minute {slot.start} → {slot.end} of the runbook (one move at a time)" if slot else \
            "no safe moment found with the current limits (blocked)"
        self.app.push_screen(DetailsScreen(
            f"move {vm}",
            f"VM        {vm} (customer {customer}; {cpu:g} cpu, {mem:g} GB)\n"
            f"from      {source} in {source_dc}\nto        {target} in {target_dc}"
            f"{'   ⚠ crosses datacenters' if cross else ''}\nwhen      {when}"
            if cpu is not None else f"VM {vm}: not in the fleet loaded now\nfrom {source} to {target}"))

    def _runbook(self, plan: PlacementPlan) -> list:
        from engine.placement.migrations import moves_to_migrations

        if self.app.snapshot is None:
            return []
        return moves_to_migrations(self.app.snapshot, self.app.limits, plan).migrations

    def action_export_moves(self) -> None:
        plan = self.app.shown_plan
        if not isinstance(plan, PlacementPlan) or not plan.moves:
            self.notify("no rebalance moves to export", severity="warning")
            return
        from console.screens.export import export_runbook

        export_runbook(self, self._runbook(plan), [], what="moves")

    def action_cycle_view(self) -> None:
        if self._views:
            self._view = (self._view + 1) % len(self._views)
            self._show_view()
