"""`?`: every key of the app and of the current screen, read from the action registry."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from console.actions import SCREENS, WIDGET_KEYS, actions_for, display_keys


def help_table(scope: str, keymap: dict[str, str]) -> Table:
    table = Table(box=None, show_header=False, padding=(0, 2), expand=True)
    table.add_column("keys", style="bold cyan", no_wrap=True, width=18)
    table.add_column("what")
    titles = {mode: title for mode, _, title in SCREENS}
    sections = [("Everywhere", "app")]
    if scope and scope != "app":
        sections.insert(0, (titles.get(scope, scope.title()), scope))
    for title, sc in sections:
        table.add_row(Text(title, style="bold underline"), "")
        for spec in actions_for(sc):
            table.add_row(display_keys(spec, keymap), spec.description)
        table.add_row("", "")
    table.add_row(Text("Inside widgets", style="bold underline"), "")
    for where, keys, what in WIDGET_KEYS:
        table.add_row(keys, f"{what} ({where})")
    return table


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 76; height: auto; max-height: 90%; border: thick $accent; background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q,question_mark", "dismiss_help", "Close")]

    def __init__(self, scope: str, keymap: dict[str, str]) -> None:
        super().__init__()
        self.scope = scope
        self.keymap = keymap

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = "Keys — esc to close"
            yield Static(help_table(self.scope, self.keymap))

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
