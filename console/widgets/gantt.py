"""The migration Gantt: a Line-API ScrollView that draws only what is visible.

Lines are lanes (one per source host, target host, customer or rack); a lane
holds as many lines as it has overlapping bars, packed greedily. Each visible
line is built for the visible time window only and cached as a Strip, so
drawing and scrolling cost the same at 100 or 10,000 migrations. The lane
label column and the time axis stay pinned while scrolling.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Optional

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from console.widgets.gantt_exec import EXEC_CSS, STATE_CLASSES, now_in_segments, states_by_index
from console.widgets.line_table import natural_key
from engine.model import MaintenancePlan, Snapshot

GROUPS: tuple[str, ...] = ("source", "target", "customer", "rack")
ZOOMS: tuple[float, ...] = (0.25, 0.5, 1, 2, 3, 5, 10, 15, 30, 60, 120, 240)
_TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 240, 480, 720, 1440, 2880)


@dataclass(frozen=True, slots=True)
class Bar:
    start: int
    end: int
    label: str  # the VM id (migration) or the host (reboot)
    kind: str  # "migration" | "reboot"
    index: int  # position in plan.migrations / plan.reboots


@dataclass(slots=True)
class GanttLine:
    lane: str
    label: str  # shown on the lane's first line only
    lane_index: int
    bars: list[Bar] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)


def fmt_minutes(t: float) -> str:
    t = int(round(t))
    if t >= 1440:
        d, rem = divmod(t, 1440)
        return f"{d}d{rem // 60:02d}:{rem % 60:02d}"
    return f"{t // 60}:{t % 60:02d}"


def fit_label(label: str, n: int, fill: str = " ") -> str:
    """`label` in exactly n cells: whole (padded with `fill`) when it fits, else its start and an
    ellipsis — "vm-00…" reads as a VM id, a tail such as "0044" did not (the details row and the find
    bar give the whole id)."""
    if n <= 0:
        return ""
    if len(label) <= n:
        return label.ljust(n, fill)
    return label[: n - 1] + "…"


def bar_text(label: str, n: int) -> str:
    """A migration bar of n cells: an edge mark, then its VM id (see fit_label)."""
    return "▏" + fit_label(label, n - 1) if n > 1 else "▏"


def reboot_text(host: str, n: int) -> str:
    """A reboot bar of n cells: ⟳ and the rebooted host, the rest hatched."""
    return "⟳" + fit_label(" " + host, n - 1, "░") if n > 1 else "⟳"


def _pack(bars: list[Bar]) -> list[list[Bar]]:
    """Interval partitioning: fewest rows such that bars in a row never overlap."""
    rows: list[list[Bar]] = []
    free: list[tuple[int, int]] = []  # (end of last bar, row index)
    for bar in sorted(bars, key=lambda b: (b.start, b.end, b.label)):
        if free and free[0][0] <= bar.start:
            _, r = heapq.heappop(free)
        else:
            r = len(rows)
            rows.append([])
        rows[r].append(bar)
        heapq.heappush(free, (bar.end, r))
    return rows


def build_lines(plan: MaintenancePlan, snapshot: Optional[Snapshot], group: str) -> list[GanttLine]:
    vm_customer = {}
    host_rack = {}
    if snapshot is not None:
        vm_customer = {v.id: v.customer for v in snapshot.vms}
        host_rack = {h.id: h.rack for h in snapshot.hosts}
    lanes: dict[str, list[Bar]] = {}
    for i, m in enumerate(plan.migrations):
        if group == "source":
            key = m.source
        elif group == "target":
            key = m.target
        elif group == "customer":
            key = vm_customer.get(m.vm, "?")
        else:
            key = host_rack.get(m.source, "?")
        lanes.setdefault(key, []).append(Bar(m.start, m.end, m.vm, "migration", i))
    if group != "customer":
        for i, r in enumerate(plan.reboots):
            if group == "rack":
                key = host_rack.get(r.host, "?")
            elif group == "target" and r.host not in lanes:
                continue  # a host nobody migrates to has no target lane
            else:
                key = r.host
            lanes.setdefault(key, []).append(Bar(r.start, r.end, r.host, "reboot", i))
    lines: list[GanttLine] = []
    for lane_index, key in enumerate(sorted(lanes, key=natural_key)):
        for n, row in enumerate(_pack(lanes[key])):
            lines.append(GanttLine(key, key if n == 0 else "", lane_index, row, [b.end for b in row]))
    return lines


def fit_scale(target: float) -> float:
    """The smallest minutes-per-cell ≥ `target` with two significant digits (a readable label)."""
    if target <= 0:
        return ZOOMS[0]
    exponent = math.floor(math.log10(target)) - 1
    step = 10 ** exponent
    return round(math.ceil(target / step - 1e-9) * step, 10)


class Gantt(ScrollView, can_focus=True):
    """Gantt chart of a maintenance plan."""

    COMPONENT_CLASSES = {
        "gantt--axis",
        "gantt--label",
        "gantt--lane-alt",
        "gantt--bar",
        "gantt--bar-alt",
        "gantt--reboot",
        "gantt--selected",
        "gantt--tick",
        "gantt--now",
        *(cls for cls, _label in STATE_CLASSES.values()),
    }

    DEFAULT_CSS = """
    Gantt { height: 1fr; scrollbar-size-horizontal: 1; }
    Gantt > .gantt--axis { background: $panel; color: $text-muted; text-style: bold; }
    Gantt > .gantt--label { color: $text; background: $panel; }
    Gantt > .gantt--lane-alt { background: $surface-lighten-1 40%; }
    Gantt > .gantt--bar { background: $primary; color: $text; }
    Gantt > .gantt--bar-alt { background: $primary-darken-2; color: $text; }
    Gantt > .gantt--reboot { background: $error 60%; color: $text; text-style: italic; }
    Gantt > .gantt--selected { background: $warning; color: $background; text-style: bold; }
    Gantt > .gantt--tick { color: $text-muted; }
    """ + EXEC_CSS

    BINDINGS = [
        Binding("left", "select_bar(-1)", "Prev bar", show=False),
        Binding("right", "select_bar(1)", "Next bar", show=False),
        Binding("up", "select_line(-1)", "Up", show=False),
        Binding("down", "select_line(1)", "Down", show=False),
        Binding("shift+left", "pan(-1)", "Scroll left", show=False),
        Binding("shift+right", "pan(1)", "Scroll right", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "edge(0)", "Start", show=False),
        Binding("end", "edge(1)", "End", show=False),
    ]

    zoom_index: reactive[int] = reactive(2, repaint=False)
    group: reactive[str] = reactive("source", repaint=False)

    class BarSelected(Message):
        def __init__(self, gantt: "Gantt", details: Optional[dict]) -> None:
            super().__init__()
            self.gantt = gantt
            self.details = details

        @property
        def control(self) -> "Gantt":
            return self.gantt

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.plan: Optional[MaintenancePlan] = None
        self.snapshot: Optional[Snapshot] = None
        self.lines: list[GanttLine] = []
        self.horizon = 0
        self._fit_mpc: Optional[float] = None  # `0`: the scale that makes the makespan fill the width
        self.selected: Optional[tuple[int, int]] = None
        self._cache: dict[tuple, Strip] = {}
        self._version = 0
        self._fitted = False
        self._label_width = 8
        # Execution (None: the plan is not executed): action id -> state, the minute of the now line,
        # and the states aligned with plan.migrations / plan.reboots that the lines draw from.
        self._exec_actions: Optional[dict[str, str]] = None
        self.now_minute: Optional[int] = None
        self._mig_states: Optional[list[str]] = None
        self._reb_states: Optional[list[str]] = None
        self._styles: dict[str, Style] = {}  # component styles, read once per theme (not per line)

    # ------------------------------------------------------------------ data

    @property
    def minutes_per_cell(self) -> float:
        return self._fit_mpc if self._fit_mpc is not None else ZOOMS[self.zoom_index]

    @property
    def label_width(self) -> int:
        return self._label_width

    @property
    def timeline_width(self) -> int:
        return max(1, self.scrollable_content_region.width - self.label_width)

    def set_plan(self, plan: Optional[MaintenancePlan], snapshot: Optional[Snapshot] = None) -> None:
        """Show `plan` (or nothing) with the fleet it was made for (None: unknown — customer and rack
        lanes then read "?", never another fleet's). Zoom, scroll and the selected VM survive a refresh."""
        keep = self._selected_bar()
        self.plan = plan
        self.snapshot = snapshot
        self._rebuild()
        if plan is not None and not self._fitted and self.size.width:
            self.action_fit()
        if keep is not None:
            self._reselect(keep)

    def set_execution(self, actions: Optional[dict[str, str]], now: Optional[int]) -> None:
        """Colour bars by their action's state (None: no execution) and draw the now line at `now`."""
        if actions == self._exec_actions and now == self.now_minute:
            return
        self._exec_actions, self.now_minute = actions, now
        self._mig_states, self._reb_states = states_by_index(self.plan, actions)
        self._version += 1
        self._cache.clear()
        self.refresh()

    def _rebuild(self) -> None:
        self._mig_states, self._reb_states = states_by_index(self.plan, self._exec_actions)
        if self.plan is None:
            self.lines, self.horizon = [], 0
        else:
            self.lines = build_lines(self.plan, self.snapshot, self.group)
            ends = [m.end for m in self.plan.migrations] + [r.end for r in self.plan.reboots]
            self.horizon = max(ends, default=0)
        if self.selected is not None and self.selected[0] >= len(self.lines):
            self.selected = None
        longest = max((len(line.lane) for line in self.lines), default=6)
        self._label_width = max(8, min(longest + 1, 22))
        self._version += 1
        self._cache.clear()
        self._update_virtual_size()
        self.refresh()

    def _update_virtual_size(self) -> None:
        cells = math.ceil(self.horizon / self.minutes_per_cell) + 2
        self.virtual_size = Size(self.label_width + cells, len(self.lines) + 1)

    def on_resize(self, event: events.Resize) -> None:
        if self.plan is not None and not self._fitted:
            self.action_fit()
        self._update_virtual_size()

    def watch_group(self, old: str, new: str) -> None:
        keep = self._selected_bar()
        self.selected = None
        self._rebuild()
        if keep is not None:
            self._reselect(keep)

    def watch_zoom_index(self, old: int, new: int) -> None:
        width = self.timeline_width
        centre_t = (self.scroll_x + width / 2) * ZOOMS[old]
        self._cache.clear()
        self._update_virtual_size()
        self.scroll_to(x=max(0, centre_t / ZOOMS[new] - width / 2), animate=False, immediate=True)
        self.refresh()

    # ------------------------------------------------------------------ actions

    def action_zoom(self, delta: int) -> None:
        self._fitted = True
        old = self.zoom_index
        fitted, self._fit_mpc = self._fit_mpc, None  # from a fit, +/- step to the standard scales
        self.zoom_index = max(0, min(len(ZOOMS) - 1, self.zoom_index + delta))
        if fitted is not None and self.zoom_index == old:
            self.watch_zoom_index(old, old)

    def action_fit(self) -> None:
        """Zoom so the whole plan fills the width: the makespan ends near the right edge."""
        self._fitted = True
        width = self.timeline_width
        target = (self.horizon + 1) / max(1, width - 2)
        index = next((i for i, z in enumerate(ZOOMS) if z >= target), len(ZOOMS) - 1)
        exact = fit_scale(target)
        self._fit_mpc = exact if ZOOMS[0] <= exact <= ZOOMS[-1] and exact not in ZOOMS else None
        self.zoom_index = index
        self._cache.clear()
        self._update_virtual_size()
        self.scroll_to(x=0, animate=False, immediate=True)
        self.refresh()

    def action_cycle_group(self) -> None:
        self.group = GROUPS[(GROUPS.index(self.group) + 1) % len(GROUPS)]

    def action_pan(self, direction: int) -> None:
        self.scroll_to(x=max(0, self.scroll_x + direction * max(1, self.timeline_width // 4)), animate=False)

    def action_page(self, direction: int) -> None:
        body = max(1, self.scrollable_content_region.height - 1)
        self.scroll_to(y=max(0, self.scroll_y + direction * body), animate=False)

    def action_edge(self, where: int) -> None:
        self.scroll_to(x=0 if where == 0 else self.max_scroll_x, animate=False)

    def action_select_bar(self, delta: int) -> None:
        if not self.lines:
            return
        if self.selected is None:
            self._select_first_visible()
            return
        li, bi = self.selected
        bars = self.lines[li].bars
        bi = max(0, min(len(bars) - 1, bi + delta))
        self._select(li, bi)

    def action_select_line(self, delta: int) -> None:
        if not self.lines:
            return
        if self.selected is None:
            self._select_first_visible()
            return
        li, bi = self.selected
        t = self.lines[li].bars[bi].start
        nli = li + delta
        while 0 <= nli < len(self.lines) and not self.lines[nli].bars:
            nli += delta
        if not 0 <= nli < len(self.lines):
            return
        self._select(nli, self._nearest(nli, t))

    def _nearest(self, li: int, t: float) -> int:
        line = self.lines[li]
        i = bisect_right(line.ends, t)
        candidates = [j for j in (i - 1, i) if 0 <= j < len(line.bars)]
        return min(candidates, key=lambda j: abs(line.bars[j].start - t))

    def _select_first_visible(self) -> None:
        top = round(self.scroll_y)
        t0 = self.scroll_x * self.minutes_per_cell
        for li in range(top, len(self.lines)):
            if self.lines[li].bars:
                self._select(li, self._nearest(li, t0))
                return

    def _select(self, li: int, bi: int) -> None:
        self.selected = (li, bi)
        self._cache.clear()
        self._scroll_to_selected()
        self.refresh()
        self.post_message(self.BarSelected(self, self.selected_details()))

    def _scroll_to_selected(self) -> None:
        if self.selected is None:
            return
        li, bi = self.selected
        bar = self.lines[li].bars[bi]
        mpc = self.minutes_per_cell
        width = self.timeline_width
        sc, ec = int(bar.start // mpc), max(int(bar.start // mpc) + 1, math.ceil(bar.end / mpc))
        x = self.scroll_x
        if sc < x or ec > x + width:
            x = max(0, sc - width // 4)
        body = max(1, self.scrollable_content_region.height - 1)
        y = self.scroll_y
        if li < y:
            y = li
        elif li >= y + body:
            y = li - body + 1
        self.scroll_to(x=x, y=y, animate=False, immediate=True)

    def _selected_bar(self) -> Optional[tuple[str, str]]:
        if self.selected is None or self.selected[0] >= len(self.lines):
            return None
        li, bi = self.selected
        if bi >= len(self.lines[li].bars):
            return None
        bar = self.lines[li].bars[bi]
        return (bar.kind, bar.label)  # the VM id, or the rebooted host

    def _reselect(self, keep: tuple[str, str]) -> None:
        kind, ident = keep
        for li, line in enumerate(self.lines):
            for bi, bar in enumerate(line.bars):
                if bar.kind == kind and bar.label == ident:
                    self.selected = (li, bi)
                    self.post_message(self.BarSelected(self, self.selected_details()))
                    return
        self.selected = None
        self.post_message(self.BarSelected(self, None))

    def selected_details(self) -> Optional[dict]:
        if self.selected is None or self.plan is None:
            return None
        li, bi = self.selected
        bar = self.lines[li].bars[bi]
        if bar.kind == "migration":
            m = self.plan.migrations[bar.index]
            customer = None
            if self.snapshot is not None and m.vm in self.snapshot.vm_by_id:
                customer = self.snapshot.vm_by_id[m.vm].customer
            return {"kind": "migration", "vm": m.vm, "customer": customer, "source": m.source,
                    "target": m.target, "start": m.start, "end": m.end, "minutes": m.end - m.start,
                    "state": self._mig_states[bar.index] if self._mig_states else None}
        r = self.plan.reboots[bar.index]
        return {"kind": "reboot", "host": r.host, "start": r.start, "end": r.end, "minutes": r.end - r.start,
                "state": self._reb_states[bar.index] if self._reb_states else None}

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y == 0 or offset.x < self.label_width:
            return
        li = round(self.scroll_y) + offset.y - 1
        if not 0 <= li < len(self.lines):
            return
        cell = round(self.scroll_x) + offset.x - self.label_width
        mpc = self.minutes_per_cell
        for bi, bar in enumerate(self.lines[li].bars):
            sc = int(bar.start // mpc)
            ec = max(sc + 1, math.ceil(bar.end / mpc))
            if sc <= cell < ec:
                self._select(li, bi)
                return

    # ------------------------------------------------------------------ rendering

    def style(self, name: str) -> Style:
        """A component style by short name ("bar", "late", "now" …), cached until the theme changes."""
        style = self._styles.get(name)
        if style is None:
            if name == "base":  # the widget's own style (rich_style walks the DOM: too slow per line)
                style = self.rich_style
            elif name == "base-alt":
                style = self.style("base") + self.get_component_rich_style("gantt--lane-alt")
            else:
                style = self.get_component_rich_style(f"gantt--{name}")
            self._styles[name] = style
        return style

    def state_styles(self) -> dict[str, Style]:
        return {state: self.style(state) for state in (*STATE_CLASSES, "now")}

    def _now_cell(self, x0: int) -> Optional[int]:
        """The timeline cell (relative to the view) of the now line, None when there is none or it is off view."""
        if self.now_minute is None:
            return None
        cell = int(self.now_minute // self.minutes_per_cell) - x0
        return cell if 0 <= cell < self.timeline_width else None

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        x0 = round(self.scroll_x)
        if y == 0:
            return self._axis_strip(x0, width)
        li = round(self.scroll_y) + y - 1
        if li >= len(self.lines):
            cell = self._now_cell(x0)
            if cell is None:
                return Strip.blank(width, self.style("base"))
            return Strip(now_in_segments([Segment(" " * width, self.style("base"))], self.label_width + cell,
                                         self.style("now")), width)
        sel = self.selected[1] if self.selected is not None and self.selected[0] == li else -1
        key = (li, x0, width, self.zoom_index, self._fit_mpc, sel, self._version)
        strip = self._cache.get(key)
        if strip is None:
            if len(self._cache) > 2000:
                self._cache.clear()
            strip = self._cache[key] = self._line_strip(li, x0, width, sel)
        return strip

    def _axis_strip(self, x0: int, width: int) -> Strip:
        axis = self.style("axis")
        lw = self.label_width
        tw = max(0, width - lw)
        mpc = self.minutes_per_cell
        scale = f"{mpc:g}m/c"
        head = f"{self.group}  {scale}" if len(self.group) + 2 + len(scale) < lw else scale  # the scale is never cut
        head = head[:lw].ljust(lw)
        chars = [" "] * tw
        step = next((s for s in _TICK_STEPS if s / mpc >= 8), _TICK_STEPS[-1])
        t = math.floor(x0 * mpc / step) * step
        end_t = (x0 + tw) * mpc
        while t <= end_t:
            c = int(round(t / mpc)) - x0
            if 0 <= c < tw:
                label = "│" + fmt_minutes(t)
                for k, ch in enumerate(label):
                    if c + k < tw:
                        chars[c + k] = ch
            t += step
        segs = [Segment(head, axis)]
        cell = self._now_cell(x0)
        if cell is None:
            segs.append(Segment("".join(chars), axis))
        else:  # the now line starts in the axis with its marker and minute, over the tick labels
            mark = ("▼" + fmt_minutes(self.now_minute))[: tw - cell]
            before = cell - 1
            while before >= 0 and chars[before] != " ":  # nor one the marker cuts on its left
                was, chars[before] = chars[before], " "
                before -= 1
                if was == "│":
                    break
            after = cell + len(mark)
            while after < tw and chars[after] != " " and chars[after] != "│":  # no half-hidden tick label
                chars[after] = " "
                after += 1
            segs += [Segment("".join(chars[:cell]), axis), Segment(mark, axis + self.style("now")),
                     Segment("".join(chars[cell + len(mark):]), axis)]
        return Strip(segs, width)

    def _bar_style(self, bar: Bar, i: int, sel: int) -> Style:
        if i == sel:
            return self.style("selected")
        states = self._mig_states if bar.kind == "migration" else self._reb_states
        if states is not None:
            return self.style(states[bar.index])
        if bar.kind == "reboot":
            return self.style("reboot")
        return self.style("bar-alt") if i % 2 else self.style("bar")

    def _line_strip(self, li: int, x0: int, width: int, sel: int) -> Strip:
        line = self.lines[li]
        lw = self.label_width
        tw = max(0, width - lw)
        base = self.style("base-alt" if line.lane_index % 2 else "base")
        segs = [Segment(line.label[: lw - 1].ljust(lw), self.style("label"))]
        mpc = self.minutes_per_cell
        right = x0 + tw
        pos = x0
        i = bisect_right(line.ends, x0 * mpc)
        bars = line.bars
        while i < len(bars):
            bar = bars[i]
            sc = int(bar.start // mpc)
            if sc >= right:
                break
            ec = max(sc + 1, math.ceil(bar.end / mpc))
            sc, ec = max(sc, pos), min(ec, right)
            if ec > sc:
                if sc > pos:
                    segs.append(Segment(" " * (sc - pos), base))
                n = ec - sc
                if bar.kind == "reboot":
                    text = reboot_text(bar.label, n)
                else:
                    text = bar_text(bar.label, n)
                segs.append(Segment(text, self._bar_style(bar, i, sel)))
                pos = ec
            i += 1
        if pos < right:
            segs.append(Segment(" " * (right - pos), base))
        cell = self._now_cell(x0)
        if cell is not None:
            segs = now_in_segments(segs, lw + cell, self.style("now"))
        return Strip(segs, width)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._cache.clear()
