"""A small two-series chart: objective and proven bound over elapsed time."""

from __future__ import annotations

from typing import Optional

from rich.segment import Segment
from textual.strip import Strip
from textual.widget import Widget


class ObjectiveChart(Widget):
    """Objective (●) and bound (·) over time; the y range adapts to both series."""

    COMPONENT_CLASSES = {"chart--objective", "chart--bound", "chart--axis"}
    DEFAULT_CSS = """
    ObjectiveChart { height: 8; }
    ObjectiveChart > .chart--objective { color: $primary; text-style: bold; }
    ObjectiveChart > .chart--bound { color: $success; }
    ObjectiveChart > .chart--axis { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.points: list[tuple[float, Optional[float], Optional[float]]] = []
        self.t_end = 0.0  # the x axis runs to here (the time limit, or the elapsed time beyond it)
        self.now = 0.0

    def set_points(self, points: list[tuple[float, Optional[float], Optional[float]]],
                   t_end: Optional[float] = None, now: Optional[float] = None) -> None:
        """`t_end`: where the time axis ends; `now`: the lines stop here (the search's elapsed time)."""
        self.points = list(points)
        last = max((p[0] for p in self.points), default=0.0)
        self.t_end = max(t_end or 0.0, last)
        self.now = max(now if now is not None else self.t_end, last)
        self.refresh()

    def _grid(self, width: int, height: int) -> tuple[list[list[int]], float, float]:
        """0 empty, 1 bound, 2 objective, 3 both; step functions carried forward."""
        grid = [[0] * width for _ in range(height)]
        values = [v for _, o, b in self.points for v in (o, b) if v is not None]
        if not values or width <= 0 or height <= 0:
            return grid, 0.0, 0.0
        lo, hi = min(values), max(values)
        if hi == lo:
            hi = lo + 1
        t_end = max(self.t_end, max(p[0] for p in self.points)) or 1.0
        obj: Optional[float] = None
        bound: Optional[float] = None
        it = iter(sorted(self.points, key=lambda p: p[0]))
        nxt = next(it, None)
        for col in range(width):
            t = (col + 1) / width * t_end
            if t > self.now + t_end / width:
                break  # the future: nothing drawn yet
            while nxt is not None and nxt[0] <= t:
                obj = nxt[1] if nxt[1] is not None else obj
                bound = nxt[2] if nxt[2] is not None else bound
                nxt = next(it, None)
            for value, bit in ((bound, 1), (obj, 2)):
                if value is not None:
                    row = height - 1 - round((value - lo) / (hi - lo) * (height - 1))
                    grid[row][col] |= bit
        return grid, lo, hi

    def render_line(self, y: int) -> Strip:
        width, height = self.size.width, self.size.height
        label_w = 8
        plot_h = max(1, height - 1)  # the last row is the time axis
        grid, lo, hi = self._grid(max(0, width - label_w), plot_h)
        axis = self.get_component_rich_style("chart--axis")
        styles = {
            1: (self.get_component_rich_style("chart--bound"), "·"),
            2: (self.get_component_rich_style("chart--objective"), "●"),
            3: (self.get_component_rich_style("chart--objective"), "◆"),
        }
        if not self.points:
            text = "waiting for the first solution…" if y == height // 2 else ""
            return Strip([Segment(text.center(width)[:width], axis)], width)
        if y == height - 1:  # time axis: 0 … t_end seconds
            end = f"{self.t_end:.0f} s" if self.t_end >= 10 else f"{self.t_end:.1f} s"
            room = max(0, width - label_w - 3 - len(end))
            return Strip([Segment(" " * (label_w - 1) + "└0 s", axis),
                          Segment(("time →".center(room) if room > 8 else " " * room) + end, axis)], width)
        if y == 0:
            label = f"{hi:>7.6g} "
        elif y == plot_h - 1:
            label = f"{lo:>7.6g} "
        else:
            label = " " * 7 + "┤"
        segs = [Segment(label[:label_w].ljust(label_w), axis)]
        for cell in grid[y]:
            if cell:
                style, ch = styles[cell]
                segs.append(Segment(ch, style))
            else:
                segs.append(Segment(" ", self.rich_style))
        return Strip(segs, width)
