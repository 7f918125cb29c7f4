"""A one-line question with an editable answer (a limit set's name, a file to write)."""

from __future__ import annotations

from typing import Optional

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from console.widgets.typed_input import TypedInput


class AskScreen(ModalScreen[Optional[str]]):
    """Enter answers (None when blank), esc cancels (None)."""

    DEFAULT_CSS = """
    AskScreen { align: center middle; }
    AskScreen > Vertical { width: 80%; max-width: 100; height: auto; border: thick $accent; background: $surface;
                           padding: 1 2; }
    AskScreen #ask-hint { color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, value: str = "", placeholder: str = "", hint: str = "enter accept · esc cancel") -> None:
        super().__init__()
        self.title_text, self.value, self.placeholder, self.hint = title, value, placeholder, hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, id="ask-title")
            yield TypedInput(value=self.value, placeholder=self.placeholder, id="ask-input")
            yield Static(self.hint, id="ask-hint")

    def on_input_submitted(self, event) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
