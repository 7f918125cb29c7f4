"""The "details" view: the whole text of an error or a note, scrollable, behind a one-line headline.

Screens show a run's error as one line (`headline`); the full text — an engine message with the
solver's own words, the last lines of a worker traceback — is here, never on the main screen.
"""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HEADLINE_CHARS = 160


def headline(error: Optional[str]) -> str:
    """One line an operator can read: the first non-empty line, shortened; '' for no error."""
    if not error:
        return ""
    lines = [line.strip() for line in error.strip().splitlines() if line.strip()]
    first = lines[0] if lines else ""
    if first.startswith("Traceback"):
        first = lines[-1]  # a raw traceback's own last line says what failed
    if len(first) > HEADLINE_CHARS:
        first = first[: HEADLINE_CHARS - 1] + "…"
    return first


def has_details(error: Optional[str]) -> bool:
    return bool(error) and headline(error) != error.strip()


class DetailsScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    DetailsScreen { align: center middle; }
    DetailsScreen > VerticalScroll { width: 90%; max-width: 120; height: auto; max-height: 80%;
                                     border: thick $error; background: $surface; padding: 1 2; }
    """
    BINDINGS = [Binding("escape,q,d,enter", "close", "Close")]

    def __init__(self, title: str, body: str) -> None:
        super().__init__()
        self.title_text, self.body = title, body

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text(self.title_text, style="bold"), id="details-title")
            yield Static(Text(self.body), id="details-body")
            yield Static(Text("esc close", style="dim"))

    def action_close(self) -> None:
        self.dismiss(None)
