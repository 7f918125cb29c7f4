"""The footer: the screen's keys, with ? (help) and q (quit) pinned at the right so that they
stay visible on an 80-column terminal however many keys the screen has."""

from __future__ import annotations

from textual.widgets import Footer
from textual.widgets._footer import FooterKey

PINNED_ACTIONS = ("help", "quit")


class ConsoleFooter(Footer):
    DEFAULT_CSS = """
    ConsoleFooter FooterKey.-pinned-quit { dock: right; }
    ConsoleFooter FooterKey.-pinned-help { dock: right; margin-right: 7; }
    ConsoleFooter.-compact FooterKey.-pinned-help, ConsoleFooter.-compact FooterKey.-pinned-quit { padding-left: 1; }
    ConsoleFooter.-compact FooterKey.-pinned-help { margin-right: 8; }
    """

    def compose(self):
        for widget in super().compose():
            if isinstance(widget, FooterKey) and widget.action in PINNED_ACTIONS:
                widget.add_class(f"-pinned-{widget.action}")
            yield widget
