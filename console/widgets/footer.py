"""The footer: the screen's keys, with ? (help) and q (quit) pinned at the right so that they
stay visible on an 80-column terminal however many keys the screen has. When the keys do not fit,
the footer takes the compact style, then hides keys, the least important first (console.actions
`footer_keep`, then the screen's last): nothing is drawn over, and a screen's main actions stay."""

from __future__ import annotations

from textual.widgets import Footer
from textual.widgets._footer import FooterKey

PINNED_ACTIONS = ("help", "quit")
# Columns "? Help" and "q Quit" take at the right as DEFAULT_CSS docks them (either style): help's
# right margin holds quit, help starts 15 columns from the right edge.
PINNED_COLUMNS = 15


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
        """The footer is rebuilt whenever the screen's bindings change: fit the new keys at once."""
        await super().recompose()
        self._fit_keys()

    def on_resize(self, _event) -> None:
        self._fit_keys()

    def _fit_keys(self) -> None:
        """Show the keys that fit left of ? and q. Widths come from the keys' text, not from the layout,
        so the answer is the same whenever this runs (mid-relayout, or under a modal screen)."""
        keys = [k for k in self.query(FooterKey) if k.action not in PINNED_ACTIONS]
        width = self.size.width or self.app.size.width
        if not keys or not width:
            return
        room = width - PINNED_COLUMNS
        if not self.compact and _needed(keys, compact=False) > room:
            self.compact = True  # the compact style first (the screen picks it by width alone), then hide keys
        from console.actions import footer_keep

        keep = footer_keep(getattr(self.screen, "SCOPE", ""))
        hide_order = sorted(range(len(keys)), key=lambda i: (keep.get(keys[i].action, 0), -i))
        hidden: set[int] = set()
        for i in hide_order:
            if _needed([k for j, k in enumerate(keys) if j not in hidden], self.compact) <= room:
                break
            hidden.add(i)
        for j, key in enumerate(keys):
            key.display = j not in hidden


def _needed(keys: list[FooterKey], compact: bool) -> int:
    """Columns these keys take side by side. Textual's footer CSS: a compact key is "k Description"
    followed by one blank column; a full one " k Description " with no gap."""
    from rich.cells import cell_len

    def width(key: FooterKey) -> int:
        if not key.description:
            return cell_len(key.key_display)
        return cell_len(key.key_display) + cell_len(key.description) + (1 if compact else 3)

    gap = 1 if compact else 0
    return sum(width(k) for k in keys) + gap * max(0, len(keys) - 1)
