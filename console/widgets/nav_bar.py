"""The top line: the six screens with their keys, the current one highlighted, and the fleet."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from console.actions import SCREENS


class NavBar(Static):
    DEFAULT_CSS = """
    NavBar { dock: top; height: 1; background: $panel; color: $text-muted; }
    """

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current
        self.context = ""

    def on_mount(self) -> None:
        self.update_context(getattr(self.app, "context_line", ""))

    def update_context(self, context: str) -> None:
        self.context = context
        self.update(self._render_text())

    def _render_text(self) -> Text:
        text = Text(" fleetctl ", style="bold reverse")
        text.append(" ")
        for mode, key, title in SCREENS:
            style = "bold reverse" if mode == self.current else ""
            text.append(f" {key} {title} ", style=style)
        if self.context:
            text.append("  │ " + self.context, style="italic")
        return text
