"""Reserved vs on-demand VMs over the slots of a capacity plan: stacked columns, one per slot
(slots are grouped, taking each group's peak, when there are more slots than columns)."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

BLOCKS = " ▁▂▃▄▅▆▇█"
AXIS_W = 7


class SlotChart(Widget):
    COMPONENT_CLASSES = {"slotchart--reserved", "slotchart--ondemand", "slotchart--axis"}
    DEFAULT_CSS = """
    SlotChart { height: 8; }
    SlotChart > .slotchart--reserved { color: $primary; }
    SlotChart > .slotchart--ondemand { color: $warning; }
    SlotChart > .slotchart--axis { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.series: list[tuple[float, float]] = []  # (reserved, on-demand) per slot

    def set_series(self, series: list[tuple[float, float]]) -> None:
        self.series = list(series)
        self.refresh()

    def columns(self, width: int) -> list[tuple[float, float]]:
        """One (reserved, on-demand) per column: each column is the peak of its group of slots."""
        n = len(self.series)
        if n == 0 or width <= 0:
            return []
        if n <= width:
            return list(self.series)
        out = []
        for c in range(width):
            group = self.series[c * n // width:max(c * n // width + 1, (c + 1) * n // width)]
            out.append(max(group, key=lambda rd: rd[0] + rd[1]))
        return out

    def render_line(self, y: int) -> Strip:
        width, height = self.size.width, self.size.height
        axis = self.get_component_rich_style("slotchart--axis")
        reserved = self.get_component_rich_style("slotchart--reserved")
        ondemand = self.get_component_rich_style("slotchart--ondemand")
        plot_h = max(1, height - 2)
        cols = self.columns(width - AXIS_W)
        top = max((r + d for r, d in cols), default=0) or 1
        if y == height - 1:  # legend
            return Strip([Segment(" " * AXIS_W), Segment("█", reserved), Segment(" reserved  ", axis),
                          Segment("█", ondemand), Segment(f" on-demand   {len(self.series)} slots"
                                                          f"{' (peak per column)' if len(self.series) > len(cols) else ''}",
                                                          axis)]).crop(0, width)
        if y == height - 2:  # x axis
            label = f"slot 0{' ' * max(1, len(cols) - 7 - len(str(len(self.series) - 1)))}{len(self.series) - 1}"
            return Strip([Segment(" " * (AXIS_W - 1) + "└", axis), Segment(label[:len(cols)], axis)]).crop(0, width)
        row_from_bottom = plot_h - 1 - y  # 0 = bottom row of the plot
        tick = f"{top:g}" if y == 0 else ("0" if row_from_bottom == 0 else "")
        segments = [Segment(f"{tick:>{AXIS_W - 1}}│", axis)]
        for r, d in cols:
            segments.append(self._cell(r, r + d, top, plot_h, row_from_bottom, reserved, ondemand))
        return Strip(segments).crop(0, width)

    @staticmethod
    def _cell(reserved_top: float, total: float, top: float, rows: int, row: int,
              reserved: Style, ondemand: Style) -> Segment:
        """The block of one column in one row: eighths of the reserved part, then of the on-demand part."""
        lo = row / rows * top
        hi = (row + 1) / rows * top
        if total <= lo:
            return Segment(" ")
        if reserved_top >= hi:
            return Segment("█", reserved)
        if reserved_top > lo:  # the reserved part ends in this cell
            return Segment(BLOCKS[max(1, round(8 * (reserved_top - lo) / (hi - lo)))], reserved)
        fill = min(1.0, (total - lo) / (hi - lo))
        return Segment(BLOCKS[max(1, round(8 * fill))], ondemand)
