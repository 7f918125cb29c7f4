"""What every console screen shares: the nav bar, the footer, bindings from the registry."""

from __future__ import annotations

from typing import ClassVar

from textual.screen import Screen
from textual.widgets import Footer

from console.widgets.footer import ConsoleFooter
from console.widgets.nav_bar import NavBar


class ConsoleScreen(Screen):
    """A top-level screen (one per mode). Subclasses set SCOPE and BINDINGS = bindings_for(SCOPE)."""

    SCOPE: ClassVar[str] = ""

    def compose_nav(self):
        yield NavBar(self.SCOPE)

    def compose_footer(self):
        # The palette's own footer entry is left out: ":" / ctrl+p are on the help screen, and at 80
        # columns the room goes to ? (help) and q (quit).
        yield ConsoleFooter(show_command_palette=False)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """`/` opens the filter (a priority binding, see FilterBar.open) except while an input has the
        focus: there it is text (a filter or a VM id may contain `/`)."""
        from textual.widgets import Input

        if action == "filter" and isinstance(self.focused, Input):
            return False
        return True

    def on_resize(self, event) -> None:
        for footer in self.query(Footer):
            footer.compact = event.size.width < 110

    def on_screen_resume(self) -> None:
        self.refresh_nav()

    def action_clear_filter(self) -> None:
        """esc: clear the screen's filter if one is set, else go back."""
        from console.widgets.filter_bar import FilterBar
        from console.widgets.line_table import LineTable

        filtered = [t for t in self.query(LineTable) if t.filter_text]
        if filtered:
            for bar in self.query(FilterBar):
                bar.action_clear_filter()
            for table in filtered:
                table.set_filter("")
        else:
            self.app.action_back()

    def refresh_nav(self) -> None:
        for bar in self.query(NavBar):
            bar.update_context(getattr(self.app, "context_line", ""))


class TableScreen(ConsoleScreen):
    """A screen around one LineTable and a FilterBar: `/` filters the table, the sort key cycles its sort."""

    def action_filter(self) -> None:
        from console.widgets.filter_bar import FilterBar
        from console.widgets.line_table import LineTable

        bar = self.query_one(FilterBar)
        bar.value = self.query_one(LineTable).filter_text
        bar.open()

    def action_sort_next(self) -> None:
        from console.widgets.line_table import LineTable

        self.query_one(LineTable).action_sort_next()

    def on_filter_bar_filter_changed(self, event) -> None:
        """Filter as the user types; on enter (or esc) the table takes the focus back."""
        from console.widgets.line_table import LineTable

        table = self.query_one(LineTable)
        table.set_filter(event.text)
        show_match_count(event.bar, table)
        if event.done:
            table.focus()


def show_match_count(bar, table) -> None:
    """The filter bar's title counts the matches ("3 of 40 hosts"), so an empty result is never a mystery."""
    bar.border_title = f"{table.row_count} of {table.total_rows} match" if table.filter_text else ""
