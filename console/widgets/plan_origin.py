"""A plain warning above a plan made for another fleet (issue 12, defect 2).

Shown on every screen that shows a plan; hidden while the plan matches the fleet loaded now.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class PlanOrigin(Static):
    DEFAULT_CSS = """
    PlanOrigin { height: auto; display: none; padding: 0 1; background: $error 35%; color: $text; text-style: bold; }
    PlanOrigin.-shown { display: block; }
    PlanOrigin.-checking { background: $panel; text-style: italic; }
    """

    def on_mount(self) -> None:
        self.watch(self.app, "origin_version", self._origin_changed)

    def _origin_changed(self, _v: int) -> None:
        problem = self.app.plan_origin_problem()
        self.set_class(problem is not None, "-shown")
        self.set_class(problem is not None and problem.startswith("checking"), "-checking")
        self.update(Text("⚠ " + problem) if problem else "")
