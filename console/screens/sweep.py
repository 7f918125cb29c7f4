"""What-if sweep: solve the current fleet for a range of one limit, as background runs, and plot
the makespan against the limit, so an operator sees what loosening a limit buys.

From Limits (`w`): "conflict.per_customer=1..4" queues one maintenance run per value (the form's
limits with that one value changed, each recorded as "<set> what-if <limit>=<value>"); this screen
follows them (one read per second, never two at once) and fills in the table and the chart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from console.widgets.line_table import Column, LineTable, Row
from console.widgets.nav_bar import NavBar
from engine.model import Limits

SWEEP_SPEC = re.compile(r"^\s*([a-z_.]+)\s*=\s*(\d+)\s*\.\.\s*(\d+)\s*(?::\s*(\d+))?\s*$")
MAX_POINTS = 12  # a sweep queues at most this many runs


@dataclass
class Sweep:
    path: str
    values: list[int]
    run_ids: list[Optional[int]] = field(default_factory=list)


def parse_sweep(spec: str) -> tuple[str, list[int]]:
    """'conflict.per_customer=1..4' or 'concurrency.per_rack=4..12:2' → (path, values); ValueError says why."""
    from console.screens.limits import FIELDS

    m = SWEEP_SPEC.match(spec)
    if m is None:
        raise ValueError(f"write LIMIT=FROM..TO[:STEP], e.g. conflict.per_customer=1..4 (got {spec!r})")
    path, lo, hi, step = m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4) or 1)
    numeric = {p for p, _l, kind in FIELDS if kind == "num"}
    if path not in numeric:
        raise ValueError(f"{path!r} is not a numeric limit (e.g. concurrency.per_rack, conflict.per_customer)")
    if hi < lo or step < 1:
        raise ValueError("the range must go up: FROM ≤ TO, STEP ≥ 1")
    values = list(range(lo, hi + 1, step))
    if len(values) > MAX_POINTS:
        raise ValueError(f"{len(values)} values: at most {MAX_POINTS} runs per sweep (use a STEP)")
    return path, values


def limits_with(limits: Limits, path: str, value: int) -> Limits:
    """`limits` with one value changed, through the one limits validation."""
    from engine.documents import parse_limits

    doc = limits.to_json_dict()
    node = doc
    parts = path.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return parse_limits(doc, f"what-if {path}={value}")


SWEEP_COLUMNS = [Column("value", "Value", 7, align="right"), Column("run", "Run", 5, align="right"),
                 Column("status", "Status", 10), Column("makespan", "Makespan", 9, align="right"),
                 Column("bound", "Bound", 7, align="right"), Column("gain", "vs first", 9, align="right")]


def sweep_chart(points: list[tuple[int, Optional[float]]], width: int = 50) -> Text:
    """Makespan against the limit, one bar per value."""
    known = [m for _v, m in points if m is not None]
    top = max(known, default=0) or 1
    text = Text()
    for value, makespan in points:
        text.append(f"{value:>6} │", style="dim")
        if makespan is None:
            text.append(" …\n", style="dim")
            continue
        n = max(1, round(makespan / top * width))
        text.append("█" * n, style="cyan")
        text.append(f" {makespan:g} min\n")
    text.append("  limit  makespan →", style="dim")
    return text


class SweepScreen(Screen):
    BINDINGS = [Binding("escape", "app.back", "Back"), Binding("f5", "refresh_sweep", "Refresh")]
    DEFAULT_CSS = """
    SweepScreen #sweep-head { height: auto; padding: 0 1; }
    SweepScreen LineTable { height: auto; max-height: 16; }
    SweepScreen #sweep-chart { height: 1fr; padding: 0 1; }
    """
    SCOPE = "limits"

    def __init__(self, sweep: Sweep) -> None:
        super().__init__()
        self.sweep = sweep
        self.runs: dict[int, object] = {}
        self._loading = False

    def compose(self) -> ComposeResult:
        yield NavBar("limits")
        yield Static("", id="sweep-head")
        yield LineTable(SWEEP_COLUMNS, id="sweep-table")
        yield Static("", id="sweep-chart")
        yield Footer()

    def on_mount(self) -> None:
        self._show()
        self.action_refresh_sweep()
        self.set_interval(1.0, self.action_refresh_sweep)

    def action_refresh_sweep(self) -> None:
        if self._loading or self.app.screen is not self:
            return
        self._loading = True
        self._load([r for r in self.sweep.run_ids if r is not None])

    @work(thread=True, group="sweep")
    def _load(self, run_ids: list[int]) -> None:
        runs = {}
        try:
            for run in self.app.data.list_runs(limit=500):
                if run.id in run_ids:
                    runs[run.id] = run
        except Exception as exc:  # noqa: BLE001 - shown, and the next tick tries again
            self.app.call_from_thread(self._loaded, None, str(exc))
            return
        self.app.call_from_thread(self._loaded, runs, None)

    def _loaded(self, runs: Optional[dict], error: Optional[str]) -> None:
        self._loading = False
        if runs is not None:
            self.runs = runs
        self._show(error)

    def _show(self, error: Optional[str] = None) -> None:
        rows, points = [], []
        first = None
        for value, run_id in zip(self.sweep.values, self.sweep.run_ids):
            run = self.runs.get(run_id) if run_id is not None else None
            makespan = run.objective if run is not None and run.terminal else None
            if first is None and makespan is not None:
                first = makespan
            gain = None if makespan is None or first is None else makespan - first
            rows.append(Row(str(value), (value, run_id, run.status if run else ("not queued" if run_id is None
                                                                                 else "queued"),
                                         makespan, run.lower_bound if run else None,
                                         None if gain is None else f"{gain:+g}")))
            points.append((value, makespan))
        self.query_one(LineTable).set_rows(rows)
        done = sum(1 for r in self.runs.values() if r.terminal)
        head = Text(f"What-if: {self.sweep.path} from {self.sweep.values[0]} to {self.sweep.values[-1]}",
                    style="bold")
        head.append(f"   {done} of {len(self.sweep.values)} runs done (background runs; Runs (6) lists them)",
                    style="dim")
        if error:
            head.append(f"\n{error}", style="red")
        self.query_one("#sweep-head", Static).update(head)
        self.query_one("#sweep-chart", Static).update(sweep_chart(points))
