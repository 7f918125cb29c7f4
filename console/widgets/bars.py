"""Utilisation bars drawn as Rich Text (used inside LineTable cells and panels)."""

from __future__ import annotations

from typing import Optional

from rich.text import Text

_EIGHTHS = " ▏▎▍▌▋▊▉█"


def level_style(fraction: float) -> str:
    if fraction > 0.9:
        return "bold red"
    if fraction > 0.75:
        return "yellow"
    return "green"


def util_bar(fraction: Optional[float], width: int = 10, show_pct: bool = True) -> Text:
    """A bar of `width` cells with eighth-block precision, then the percentage."""
    if fraction is None:
        return Text("–")
    f = max(0.0, fraction)
    eighths = round(min(f, 1.0) * width * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full + (_EIGHTHS[part] if part else "")
    bar = bar.ljust(width)
    text = Text(bar, style=level_style(f))
    text.stylize("on grey15", 0, width)
    if show_pct:
        text.append(f" {f * 100:3.0f}%", style="bold red" if f > 1.0 else "")
    return text


def util_bar_cell(width: int = 10):
    """A LineTable column renderer for a fraction value."""

    def render(value: Optional[float]) -> Text:
        return util_bar(value, width)

    return render
