"""The footer: the screen's keys, with ? (help) and q (quit) pinned at the right so that they
stay visible on an 80-column terminal however many keys the screen has. Keys that would run under
the pinned ones are hidden, the screen's last (least used) first: nothing is ever drawn over."""

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

    async def recompose(self) -> None:
        """The footer is rebuilt whenever the screen's bindings change: fit the new keys once laid out."""
        await super().recompose()
        self.call_after_refresh(self._fit_keys)

    def on_resize(self, _event) -> None:
        for key in self.query(FooterKey):
            key.display = True  # measure every key again at the new width
        self.call_after_refresh(self._fit_keys)

    def _fit_keys(self) -> None:
        keys = list(self.query(FooterKey))
        pinned = [k for k in keys if k.action in PINNED_ACTIONS]
        left = min((k.region.x for k in pinned), default=self.region.right)
        overflow = False
        for key in keys:
            if key in pinned or not key.display:
                continue
            overflow = overflow or key.region.right > left
            if overflow:
                key.display = False
