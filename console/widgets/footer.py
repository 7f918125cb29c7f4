"""The footer: the screen's keys, with ? (help) and q (quit) pinned at the right so that they
stay visible on an 80-column terminal however many keys the screen has. Keys that would run under
the pinned ones are hidden (after a switch to the compact style), the least important first (console.actions `footer_keep`, then the
screen's last): nothing is ever drawn over, and a screen's main actions stay."""

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
        shown = [k for k in keys if k not in pinned and k.display]
        if not shown:
            return
        left = min((k.region.x for k in pinned), default=self.region.right)
        room = left - shown[0].region.x
        # Each key's width plus the gap to the next one, as laid out with every key shown.
        gaps = [max(0, b.region.x - a.region.right) for a, b in zip(shown, shown[1:])] + [0]
        widths = [k.region.width for k in shown]
        from console.actions import footer_keep

        keep = footer_keep(getattr(self.screen, "SCOPE", ""))
        hide_order = sorted(range(len(shown)), key=lambda i: (keep.get(shown[i].action, 0), -i))
        hidden: set[int] = set()

        def needed() -> int:
            kept = [i for i in range(len(shown)) if i not in hidden]
            return sum(widths[i] + gaps[i] for i in kept[:-1]) + (widths[kept[-1]] if kept else 0)

        if needed() > room and not self.compact:
            self.compact = True  # the compact style first (the screen picks it by width alone), then hide keys
            self.call_after_refresh(self._fit_keys)
            return
        for i in hide_order:
            if needed() <= room:
                break
            hidden.add(i)
        for i in hidden:
            shown[i].display = False
