"""Honest bounds: a lower bound above a valid plan is a bug, never silently capped.

Every bound family of engine.maintenance.bounds (and CP-SAT's own proof) claims
that no valid plan ends earlier. A plan the validator accepted refutes any claim
above its makespan. `settle` sorts the claims against a makespan: the best that
holds becomes the plan's `lower_bound`, one that equals the makespan proves
optimality (and is named in the plan's notes), and the refuted ones are dropped
for the run and named in the notes. `enforce` (after validation) raises when
FLEETCTL_STRICT_BOUNDS is set, as in the test suite and in development, so a
wrong bound fails loudly there instead of shipping as a note.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable, Optional

from engine.maintenance.bounds import Bound

STRICT_ENV = "FLEETCTL_STRICT_BOUNDS"


class BoundAboveValidPlan(AssertionError):
    """A bound family claimed more than a plan the validator accepted: the bound is wrong."""


def strict() -> bool:
    return os.environ.get(STRICT_ENV, "").strip() not in ("", "0", "false", "no")


@dataclass(frozen=True)
class Settled:
    makespan: int
    value: Optional[int]           # the best bound that holds (≤ makespan); None when none was given
    proof: Optional[Bound]         # a bound equal to the makespan: it proves optimality
    wrong: tuple[Bound, ...]       # refuted bounds (above the makespan), dropped for this run

    @property
    def proven(self) -> bool:
        return self.proof is not None

    def notes(self) -> list[str]:
        out = [f"bound family '{b.family}' claimed {b.value} > makespan {self.makespan} of a valid plan "
               f"({b.entity}: {b.reason}); dropped for this run (a bug: please report it)" for b in self.wrong]
        if self.proof is not None:
            out.append(proof_note(self.proof))
        return out


def proof_note(b: Bound) -> str:
    return f"optimality proven by bound family '{b.family}' ({b.entity}: {b.reason})"


def settle(bounds: Iterable[Bound], makespan: int) -> Settled:
    """Sort bound claims against a valid plan's makespan (see the module doc)."""
    bounds = list(bounds)
    holds = [b for b in bounds if b.value <= makespan]
    wrong = tuple(sorted((b for b in bounds if b.value > makespan), key=lambda b: (-b.value, b.family)))
    best = max(holds, key=lambda b: b.value, default=None)
    proof = best if best is not None and best.value == makespan else None
    return Settled(makespan=makespan, value=None if best is None else best.value, proof=proof, wrong=wrong)


def enforce(settled: Settled, where: str) -> None:
    """Call once the plan is validated: in strict mode a refuted bound raises."""
    if settled.wrong and strict():
        raise BoundAboveValidPlan(f"{where}: " + "; ".join(settled.notes()[: len(settled.wrong)]))
