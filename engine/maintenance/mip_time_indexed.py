"""Time-indexed MIP (PuLP/CBC) of the maintenance problem with targets fixed.

    x[j,t] ∈ {0,1}   task j (migration or reboot) starts at minute t, t ∈ [earliest_j, latest_j]
    S_j = Σ_t t·x[j,t]
    min  C
    rule 1   Σ_t x[j,t] = 1                                   every task happens once
    rule 2   S_reboot(h) ≥ S_m + p_m       for m leaving h    reboot after evacuation
    rule 3   S_m ≥ S_reboot(t) + p_reboot  for m into t       needs_reboot target after its reboot
    rule 5-8 Σ_j w_j Σ_{s=t-p_j+1..t} x[j,s] ≤ capacity       each cumulative, at each minute t
    rule 9   C ≥ S_j + p_j                                     for tasks without successors

Rule 4 (capacity) is static once targets are fixed: `fixed_targets.build` checked it.
Precedences are the aggregated (weak) form; cumulatives are written only at
minutes where the tasks that could be running there can exceed the capacity.
The model grows with the horizon: that is what the benchmark shows.
"""

from __future__ import annotations

from typing import Optional

from engine.maintenance.fixed_targets import Cumulative, FixedTargetsProblem, FormulationResult, Precedence
from engine.maintenance.formulation import Rules, constraint_tag, solve_mip
from engine.progress import Cancellation, ProgressCallback

NAME = "mip-time-indexed"


class TimeIndexedModel(Rules):
    def __init__(self, problem: FixedTargetsProblem):
        from engine.cbc import import_pulp, new_var

        self.pulp = pulp = import_pulp()
        self.problem = problem
        p = problem
        self.prob = pulp.LpProblem("maintenance_time_indexed", pulp.LpMinimize)
        self.x = {t.index: {s: new_var(self.prob, f"x_{t.index}_{s}", cat="Binary")
                            for s in range(p.earliest[t.index], p.latest[t.index] + 1)} for t in p.tasks}
        self.makespan = new_var(self.prob, "makespan", p.lower_bound(), p.horizon, cat="Integer")
        self.prob += self.makespan
        self.add_one_start()
        self.add_rules()

    def start(self, j: int):
        return self.pulp.lpSum(s * x for s, x in self.x[j].items())

    def add_one_start(self) -> None:
        """Rule 1: each migration (and each reboot, rule 2) happens exactly once."""
        for j, xs in self.x.items():
            self.prob += self.pulp.lpSum(xs.values()) == 1, f"once_{j}"

    # ------------------------------------------------------------------ the forms of rules 2–9

    def precedence(self, k: int, p: Precedence) -> None:
        """Σ_t t·x[after,t] ≥ Σ_t t·x[before,t] + p_before (the aggregated, weak form)."""
        lag = self.problem.tasks[p.before].duration
        self.prob += self.start(p.after) >= self.start(p.before) + lag, f"prec_{p.rule[0]}_{k}"

    def cumulative(self, c: Cumulative) -> None:
        """At each minute t: Σ weight of the tasks started in (t − p, t] ≤ capacity."""
        p = self.problem
        tag = constraint_tag(c)
        first = min(p.earliest[j] for j in c.weights)
        last = max(p.latest[j] + p.tasks[j].duration for j in c.weights)
        for t in range(first, last):
            running = [(j, w) for j, w in c.weights.items()
                       if p.earliest[j] <= t < p.latest[j] + p.tasks[j].duration]
            if sum(w for _, w in running) <= c.capacity + 1e-9:
                continue
            terms = [(self.x[j][s], w) for j, w in running
                     for s in range(max(p.earliest[j], t - p.tasks[j].duration + 1), min(p.latest[j], t) + 1)]
            self.prob += self.pulp.LpAffineExpression(terms) <= c.capacity, f"cum_{tag}_{t}"

    def ends_by_makespan(self, j: int) -> None:
        """C ≥ S_j + p_j."""
        self.prob += self.makespan >= self.start(j) + self.problem.tasks[j].duration, f"makespan_{j}"

    # ------------------------------------------------------------------ warm start and solution

    def warm_start(self, starts: dict[int, int]) -> bool:
        """Set the initial values to a schedule (e.g. `list_schedule`); False if it does not fit the windows."""
        for j, xs in self.x.items():
            if starts[j] not in xs:
                return False
        for j, xs in self.x.items():
            for s, x in xs.items():
                x.setInitialValue(1 if s == starts[j] else 0)
        self.makespan.setInitialValue(self.problem.makespan_of(starts))
        return True

    def starts(self) -> dict[int, int]:
        return {j: max(xs, key=lambda s: xs[s].varValue or 0.0) for j, xs in self.x.items()}


def solve(problem: FixedTargetsProblem, *, time_limit_s: float, threads: int = 1,
          initial: Optional[dict[int, int]] = None, cancel: Optional[Cancellation] = None,
          on_progress: Optional[ProgressCallback] = None) -> FormulationResult:
    """Build and solve; the problem must carry a horizon (`with_horizon`)."""
    return solve_mip(NAME, TimeIndexedModel, problem, time_limit_s=time_limit_s, threads=threads, initial=initial,
                     cancel=cancel, on_progress=on_progress)
