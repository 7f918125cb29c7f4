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

    def on_resize(self) -> None:
        self.update(self._render_text())

    def _render_text(self) -> Text:
        """Wide: every screen's name, then the context. Narrow (80 columns): keys only, with the
        current screen named, and the context condensed to its most telling parts — never dropped."""
        width = self.size.width or 160
        full = sum(len(f" {key} {title} ") for _m, key, title in SCREENS) + 11
        narrow = width < full + 4 + len(self.context)
        text = Text(" fleetctl " if not narrow else " ", style="bold reverse")
        text.append(" ")
        for mode, key, title in SCREENS:
            current = mode == self.current
            text.append(f" {key} {title} " if current or not narrow else f" {key}", style="bold reverse" if current else "")
        if self.context:
            context = self.context if not narrow else condense(self.context, width - text.cell_len - 3)
            text.append(" │ " + context, style="italic")
        return text


def condense(context: str, room: int) -> str:
    """The context in `room` cells: the database's file name, not its path; the fleet without its
    words; and only then shortened with an ellipsis."""
    import os

    parts = context.split(" · ")
    if parts and ("/" in parts[0] or parts[0].endswith(".db")):
        parts[0] = os.path.basename(parts[0])
    parts = [p.replace(" hosts, ", "h/").replace(" VMs", "vm").replace("limits ", "lim ") for p in parts]
    short = " · ".join(parts)
    if len(short) <= room:
        return short
    return short[: max(0, room - 1)] + "…" if room > 1 else ""
