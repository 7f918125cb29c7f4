"""A broken rule found by a validator: which rule, which entities, when."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


@dataclass(frozen=True)
class Violation:
    rule: str                      # e.g. "5-concurrency" (FORMATS.md rule number and name)
    message: str
    entities: tuple[str, ...] = field(default_factory=tuple)
    minute: Optional[int] = None

    def __str__(self) -> str:
        when = f" at minute {self.minute}" if self.minute is not None else ""
        return f"[{self.rule}]{when}: {self.message}"

    def to_dict(self) -> dict:
        return {"rule": self.rule, "message": self.message, "entities": list(self.entities), "minute": self.minute}


class PlanRejected(Exception):
    """A solver produced a plan the independent validator rejects: a solver bug, never shipped."""

    def __init__(self, solver: str, violations: list[Violation]):
        self.solver = solver
        self.violations = violations
        shown = "\n".join(f"  - {v}" for v in violations[:20])
        more = f"\n  … and {len(violations) - 20} more" if len(violations) > 20 else ""
        super().__init__(f"solver {solver!r} produced an invalid plan ({len(violations)} violation(s)):\n{shown}{more}")
