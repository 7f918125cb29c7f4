"""A Line-API table for big lists (hosts, VMs, runs, assignments).

Textual's DataTable measures every cell up front (seconds at 5k rows). This
table keeps rows as plain tuples, renders only the visible lines into Strips,
and sorts / filters on raw values. A header line stays pinned at the top.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

Renderer = Callable[[Any], "str | Text"]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int
    align: str = "left"  # "left" | "right"
    render: Optional[Renderer] = None  # raw value -> str | Text (default: str())


@dataclass(frozen=True)
class Row:
    key: str
    values: tuple  # raw values, one per column (sorted on)
    extra: str = ""  # searched by the filter, not shown (e.g. the VM ids and customers on a host)


_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """'h2' before 'h12': digit runs compare as numbers."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in _DIGITS.split(text) if part)


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value)


def _sort_key(value: Any) -> tuple:
    """None sorts last; numbers before strings; mixed types never raise."""
    if value is None:
        return (2, 0, ())
    if isinstance(value, (int, float)):
        return (0, value, ())
    return (1, 0, natural_key(str(value)))


class LineTable(ScrollView, can_focus=True):
    """Rows of raw values; sort by any column, substring filter, cursor, pinned header."""

    COMPONENT_CLASSES = {
        "line-table--header",
        "line-table--cursor",
        "line-table--marked",
        "line-table--odd",
    }

    DEFAULT_CSS = """
    LineTable { height: 1fr; scrollbar-size-horizontal: 1; }
    LineTable > .line-table--header { text-style: bold; background: $panel; color: $text; }
    LineTable > .line-table--cursor { background: $accent 40%; }
    LineTable:focus > .line-table--cursor { background: $accent; color: $text; }
    LineTable > .line-table--marked { color: $warning; text-style: bold; }
    LineTable > .line-table--odd { background: $surface-lighten-1 30%; }
    """

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        Binding("enter", "select", "Open", show=False),
    ]

    cursor_row: reactive[int] = reactive(0, always_update=True, repaint=False)

    class RowHighlighted(Message):
        def __init__(self, table: "LineTable", key: Optional[str]) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> "LineTable":
            return self.table

    class RowSelected(RowHighlighted):
        pass

    def __init__(self, columns: Sequence[Column], *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns: list[Column] = list(columns)
        self._all: list[Row] = []
        self._search: Optional[list[str]] = None  # lower-cased row text for the filter, built on first use
        self._view: list[Row] = []
        self.filter_text = ""
        self.sort_column: Optional[int] = None
        self.sort_reverse = False
        self.marked: dict[str, None] = {}  # an insertion-ordered set: the oldest mark goes first
        self._cache: dict[tuple, Strip] = {}

    # ------------------------------------------------------------------ data

    def set_rows(self, rows: Sequence[Row], keep_cursor: bool = True) -> None:
        """Replace the rows. Only lines whose row changed are rendered again (a live list re-read
        every second repaints nothing when nothing changed), and the filter's search text is built
        only when a filter is used (8,750 hosts with their VM ids: not on the first paint)."""
        current = self.cursor_key if keep_cursor else None
        self._all = list(rows)
        self._search = None
        self._rebuild(current)

    def set_columns(self, columns: Sequence[Column]) -> None:
        self.columns = list(columns)
        self._cache.clear()
        self._rebuild(self.cursor_key)

    @property
    def total_rows(self) -> int:
        """Rows before the filter."""
        return len(self._all)

    @property
    def row_count(self) -> int:
        return len(self._view)

    @property
    def rows(self) -> list[Row]:
        return self._view

    @property
    def cursor_key(self) -> Optional[str]:
        if 0 <= self.cursor_row < len(self._view):
            return self._view[self.cursor_row].key
        return None

    def set_filter(self, text: str) -> None:
        self.filter_text = text.strip().lower()
        self._rebuild(self.cursor_key)

    def sort_by(self, column: int, reverse: Optional[bool] = None) -> None:
        if reverse is None:
            reverse = (not self.sort_reverse) if self.sort_column == column else False
        self.sort_column, self.sort_reverse = column, reverse
        self._rebuild(self.cursor_key)
        self.refresh()  # the header's ▲/▼ moves even when the order of the rows does not

    def action_sort_next(self) -> None:
        nxt = 0 if self.sort_column is None else (self.sort_column + 1) % len(self.columns)
        self.sort_by(nxt, reverse=False)

    def action_sort_reverse(self) -> None:
        if self.sort_column is None:
            self.sort_by(0, reverse=True)
        else:
            self.sort_by(self.sort_column, reverse=not self.sort_reverse)

    def move_to_key(self, key: str) -> bool:
        for i, row in enumerate(self._view):
            if row.key == key:
                self.cursor_row = i
                return True
        return False

    def toggle_mark(self, key: Optional[str] = None, limit: Optional[int] = None) -> None:
        key = key or self.cursor_key
        if key is None:
            return
        if key in self.marked:
            del self.marked[key]
        else:
            if limit is not None and len(self.marked) >= limit:
                del self.marked[next(iter(self.marked))]
            self.marked[key] = None
        self._invalidate()

    def _rebuild(self, keep_key: Optional[str]) -> None:
        if self.filter_text:
            if self._search is None:
                self._search = [(" ".join(_fmt(v) for v in r.values) + " " + r.extra).lower() for r in self._all]
            needle = self.filter_text
            view = [r for r, s in zip(self._all, self._search) if needle in s]
        else:
            view = list(self._all)
        if self.sort_column is not None and self.sort_column < len(self.columns):
            c = self.sort_column
            view.sort(key=lambda r: _sort_key(r.values[c]), reverse=self.sort_reverse)
        old, self._view = self._view, view
        width = sum(col.width + 1 for col in self.columns)
        self.virtual_size = Size(width, len(view) + 1)
        row = 0
        if keep_key is not None:
            for i, r in enumerate(view):
                if r.key == keep_key:
                    row = i
                    break
        self._drop_changed(old, view)
        self.cursor_row = min(row, max(0, len(view) - 1))

    def _drop_changed(self, old: list[Row], new: list[Row]) -> None:
        """Forget the rendered lines whose row changed; repaint only if one is on screen (or the
        row count changed). Columns, marks and styles clear the whole cache elsewhere."""
        if not self._cache:
            self.refresh()
            return
        changed = {i for i in range(max(len(old), len(new)))
                   if i >= len(old) or i >= len(new) or old[i] != new[i]}
        if not changed:
            return
        for key in [k for k in self._cache if k[0] in changed]:
            del self._cache[key]
        self.refresh()

    def _invalidate(self) -> None:
        self._cache.clear()
        self.refresh()

    # ------------------------------------------------------------------ cursor

    def validate_cursor_row(self, value: int) -> int:
        return max(0, min(value, max(0, len(self._view) - 1)))

    def watch_cursor_row(self, old: int, new: int) -> None:
        self._scroll_cursor_into_view()
        self.refresh()
        self.post_message(self.RowHighlighted(self, self.cursor_key))

    def _scroll_cursor_into_view(self) -> None:
        body = max(1, self.scrollable_content_region.height - 1)
        top = round(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + body:
            self.scroll_to(y=self.cursor_row - body + 1, animate=False, immediate=True)

    def action_cursor(self, delta: int) -> None:
        self.cursor_row += delta

    def action_page(self, direction: int) -> None:
        self.cursor_row += direction * max(1, self.scrollable_content_region.height - 2)

    def action_jump(self, where: int) -> None:
        self.cursor_row = 0 if where == 0 else len(self._view) - 1

    def action_select(self) -> None:
        self.post_message(self.RowSelected(self, self.cursor_key))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            x = offset.x + round(self.scroll_x)
            edge = 0
            for i, col in enumerate(self.columns):
                edge += col.width + 1
                if x < edge:
                    self.sort_by(i)
                    return
            return
        row = round(self.scroll_y) + offset.y - 1
        if 0 <= row < len(self._view):
            if row == self.cursor_row and event.chain >= 2:
                self.action_select()
            self.cursor_row = row

    # ------------------------------------------------------------------ rendering

    def _cell_text(self, col: Column, value: Any) -> Text:
        out = col.render(value) if col.render is not None else _fmt(value)
        text = out if isinstance(out, Text) else Text(out)
        if col.align == "right":
            text = text.copy()
            text.truncate(col.width, overflow="ellipsis")
            text.pad_left(col.width - text.cell_len)
        else:
            text = text.copy()
            text.truncate(col.width, overflow="ellipsis", pad=True)
        return text

    def _header_strip(self) -> Strip:
        style = self.get_component_rich_style("line-table--header")
        segs: list[Segment] = []
        for i, col in enumerate(self.columns):
            label = col.label
            if i == self.sort_column:
                label = f"{label}{'▼' if self.sort_reverse else '▲'}"
            label = label[: col.width]
            label = label.rjust(col.width) if col.align == "right" else label.ljust(col.width)
            segs.append(Segment(label + " ", style))
        return Strip(segs)

    def _row_strip(self, index: int) -> Strip:
        row = self._view[index]
        base = self.rich_style
        if index == self.cursor_row:
            base = base + self.get_component_rich_style("line-table--cursor")
        elif row.key in self.marked:
            base = base + self.get_component_rich_style("line-table--marked")
        elif index % 2:
            base = base + self.get_component_rich_style("line-table--odd")
        segs: list[Segment] = []
        for col, value in zip(self.columns, row.values):
            text = self._cell_text(col, value)
            text.append(" ")
            for seg in text.render(self.app.console):
                segs.append(Segment(seg.text, base + seg.style if seg.style else base))
        return Strip(segs)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        sx = round(self.scroll_x)
        if y == 0:
            strip = self._header_strip()
            style = self.get_component_rich_style("line-table--header")
        else:
            index = round(self.scroll_y) + y - 1
            if index >= len(self._view):
                return Strip.blank(width, self.rich_style)
            key = (index, index == self.cursor_row)
            strip = self._cache.get(key)
            if strip is None:
                if len(self._cache) > 400:
                    self._cache.clear()
                strip = self._cache[key] = self._row_strip(index)
            style = self.rich_style
        return strip.crop_extend(sx, sx + width, style)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()
