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

import time
from typing import Optional

from engine.maintenance.fixed_targets import Cumulative, FixedTargetsProblem, FormulationResult
from engine.progress import Cancellation, ProgressCallback

NAME = "mip-time-indexed"


class TimeIndexedModel:
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
        self.add_reboot_after_evacuation()
        self.add_target_after_reboot()
        self.add_concurrency()
        self.add_bandwidth()
        self.add_conflict()
        self.add_hosts_down_per_rack()
        self.add_makespan()

    def start(self, j: int):
        return self.pulp.lpSum(s * x for s, x in self.x[j].items())

    # ------------------------------------------------------------------ rules

    def add_one_start(self) -> None:
        """Rule 1: each migration (and each reboot, rule 2) happens exactly once."""
        for j, xs in self.x.items():
            self.prob += self.pulp.lpSum(xs.values()) == 1, f"once_{j}"

    def add_reboot_after_evacuation(self) -> None:
        """Rule 2: a host's reboot starts no earlier than the end of each migration leaving it."""
        self._precedences("2-reboot")

    def add_target_after_reboot(self) -> None:
        """Rule 3: a migration into a needs_reboot host starts no earlier than that host's reboot end."""
        self._precedences("3-target")

    def add_concurrency(self) -> None:
        """Rule 5: migrations per source host, target host, rack, datacenter and fleet."""
        for c in self.problem.binding_cumulatives("5-concurrency"):
            self._cumulative(c)

    def add_bandwidth(self) -> None:
        """Rule 6: Σ migration_gbps touching a host ≤ its bandwidth_gbps."""
        for c in self.problem.binding_cumulatives("6-bandwidth"):
            self._cumulative(c)

    def add_conflict(self) -> None:
        """Rule 7: a customer's migrating VMs plus its non-migratable VMs on rebooting hosts ≤ its limit."""
        for c in self.problem.binding_cumulatives("7-conflict"):
            self._cumulative(c)

    def add_hosts_down_per_rack(self) -> None:
        """Rule 8: hosts rebooting at once in a rack ≤ max_hosts_down_per_rack."""
        for c in self.problem.binding_cumulatives("8-hosts-down"):
            self._cumulative(c)

    def add_makespan(self) -> None:
        """Rule 9: the makespan is at least every task's end (tasks with successors end before those)."""
        for j in self.problem.sinks():
            self.prob += self.makespan >= self.start(j) + self.problem.tasks[j].duration, f"makespan_{j}"

    # ------------------------------------------------------------------ shared forms

    def _precedences(self, rule: str) -> None:
        for k, p in enumerate(self.problem.precedences):
            if p.rule == rule:
                lag = self.problem.tasks[p.before].duration
                self.prob += self.start(p.after) >= self.start(p.before) + lag, f"prec_{rule[0]}_{k}"

    def _cumulative(self, c: Cumulative) -> None:
        """At each minute t: Σ weight of the tasks started in (t − p, t] ≤ capacity."""
        p = self.problem
        tag = "".join(ch if ch.isalnum() else "_" for ch in c.name)
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
    from engine.cbc import CbcTiming, run_cbc

    t0, c0 = time.monotonic(), time.process_time()
    model = TimeIndexedModel(problem)
    warm = model.warm_start(initial) if initial is not None else False
    build_s, build_cpu = time.monotonic() - t0, time.process_time() - c0
    out = run_cbc(model.prob, CbcTiming.budget(max(0.5, time_limit_s - build_s)), threads=threads,
                  warm_start=warm, cancel=cancel, on_progress=on_progress)
    starts = model.starts() if out.status in ("optimal", "feasible") else None
    return FormulationResult(NAME, out.status, problem.makespan_of(starts) if starts else None, out.bound, starts,
                             len(model.prob.variables()), model.prob.numConstraints(), build_s, out.solve_s,
                             out.stopped_by, build_cpu + out.cpu_s)
