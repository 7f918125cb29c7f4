"""The `/` filter line: typing filters a table live, enter keeps it, esc clears it."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input

from console.widgets.typed_input import TypedInput


class FilterBar(TypedInput):
    DEFAULT_CSS = """
    FilterBar { dock: bottom; display: none; height: 3; border: tall $accent; }
    FilterBar.-shown { display: block; }
    """
    BINDINGS = [Binding("escape", "clear_filter", "Clear filter", show=False)]

    class FilterChanged(Message):
        def __init__(self, bar: "FilterBar", text: str, done: bool) -> None:
            super().__init__()
            self.bar = bar
            self.text = text
            self.done = done

        @property
        def control(self) -> "FilterBar":
            return self.bar

    def __init__(self, placeholder: str = "filter…", *, id: str | None = None) -> None:
        super().__init__(placeholder=placeholder, id=id)

    def open(self) -> None:
        """Show the bar and take the focus now, not after the queued keys (Widget.focus is deferred):
        `/` is a priority binding, run as the app dispatches it, so every key typed after it on a busy
        machine is dispatched to this input rather than to the table that had the focus."""
        self.add_class("-shown")
        self.screen.set_focus(self)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.FilterChanged(self, event.value, done=False))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self.value:
            self.remove_class("-shown")
        self.post_message(self.FilterChanged(self, self.value, done=True))

    def action_clear_filter(self) -> None:
        self.value = ""
        self.remove_class("-shown")
        self.post_message(self.FilterChanged(self, "", done=True))
