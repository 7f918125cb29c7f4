"""Time-continuous MIP (PuLP/CBC) of the maintenance problem with targets fixed.

    S_j ∈ [earliest_j, latest_j] integer   start of task j
    min  C
    rule 2, 3   S_after ≥ S_before + p_before                 (precedences, as in the time-indexed model)
    rule 9      C ≥ S_j + p_j                                  (tasks without successors)

A cumulative only has to hold at task starts (the load changes upward only
there). So for every ordered pair (i, j) of tasks sharing a cumulative, whether
i is running at S_j is decided by two binaries with big-M links:

    done[i,j]  = 1  ⇒  S_i + p_i ≤ S_j       i has ended when j starts
    later[i,j] = 1  ⇒  S_i ≥ S_j + 1         i has not started yet
    done[i,j] + later[i,j] ≤ 1;   running[i,j] = 1 − done[i,j] − later[i,j]

and each cumulative reads, at the start of each of its members j:

    w_j + Σ_{i ≠ j} w_i · running[i,j] ≤ capacity              (rules 5, 6, 7, 8)

A pair whose windows or precedences already decide it gets no binaries
(running is the constant 0 or 1). Big-Ms are per pair from the windows. The
binaries grow with the square of the tasks sharing a resource; the horizon
only enters through the big-Ms: the opposite trade-off to the time-indexed model.
"""

from __future__ import annotations

from typing import Optional

from engine.maintenance.fixed_targets import Cumulative, FixedTargetsProblem, FormulationResult, Precedence
from engine.maintenance.formulation import Rules, constraint_tag, solve_mip
from engine.progress import Cancellation, ProgressCallback

NAME = "mip-continuous"


class ContinuousModel(Rules):
    def __init__(self, problem: FixedTargetsProblem):
        from engine.cbc import import_pulp, new_var

        self.pulp = pulp = import_pulp()
        self.problem = problem
        p = problem
        self.prob = pulp.LpProblem("maintenance_continuous", pulp.LpMinimize)
        self.S = {t.index: new_var(self.prob, f"S_{t.index}", p.earliest[t.index], p.latest[t.index], cat="Integer")
                  for t in p.tasks}
        self.makespan = new_var(self.prob, "makespan", p.lower_bound(), p.horizon, cat="Integer")
        self.prob += self.makespan
        self._ordered = _transitive_order(problem)
        self.done: dict[tuple[int, int], object] = {}
        self.later: dict[tuple[int, int], object] = {}
        self.add_rules()

    # ------------------------------------------------------------------ the forms of rules 2–9

    def precedence(self, k: int, p: Precedence) -> None:
        """S_after ≥ S_before + p_before."""
        lag = self.problem.tasks[p.before].duration
        self.prob += self.S[p.after] >= self.S[p.before] + lag, f"prec_{p.rule[0]}_{k}"

    def cumulative(self, c: Cumulative) -> None:
        """At the start of each member j: its weight plus the weights of members running then ≤ capacity."""
        tag = constraint_tag(c)
        for j, wj in c.weights.items():
            terms, constant = [], wj
            for i, wi in c.weights.items():
                if i == j:
                    continue
                running = self.running(i, j)
                if isinstance(running, int):
                    constant += wi * running
                else:
                    terms += [(v, -wi) for v in running]   # running = 1 − done − later
                    constant += wi
            self.prob += self.pulp.LpAffineExpression(terms) + constant <= c.capacity, f"cum_{tag}_{j}"

    def ends_by_makespan(self, j: int) -> None:
        """C ≥ S_j + p_j."""
        self.prob += self.makespan >= self.S[j] + self.problem.tasks[j].duration, f"makespan_{j}"

    def running(self, i: int, j: int):
        """1 if task i is surely running when j starts, 0 if surely not, else the pair (done, later) of binaries."""
        p, ti = self.problem, self.problem.tasks[i]
        if (i, j) in self._ordered or (j, i) in self._ordered:
            return 0                      # a precedence path: one ends before the other starts
        if p.latest[i] + ti.duration <= p.earliest[j] or p.earliest[i] > p.latest[j]:
            return 0                      # the windows say i ended before, or starts after, S_j
        if p.latest[i] <= p.earliest[j] and p.earliest[i] + ti.duration > p.latest[j]:
            return 1                      # the windows say i is running at S_j
        if (i, j) not in self.done:
            self._order_pair(i, j)
        return (self.done[i, j], self.later[i, j])

    def _order_pair(self, i: int, j: int) -> None:
        from engine.cbc import new_var

        p, pi = self.problem, self.problem.tasks[i].duration
        done = new_var(self.prob, f"done_{i}_{j}", cat="Binary")
        later = new_var(self.prob, f"later_{i}_{j}", cat="Binary")
        m_done = p.latest[i] + pi - p.earliest[j]
        m_later = p.latest[j] + 1 - p.earliest[i]
        self.prob += self.S[i] + pi - self.S[j] <= m_done * (1 - done), f"done_{i}_{j}"
        self.prob += self.S[j] + 1 - self.S[i] <= m_later * (1 - later), f"later_{i}_{j}"
        self.prob += done + later <= 1, f"one_way_{i}_{j}"
        self.done[i, j], self.later[i, j] = done, later

    # ------------------------------------------------------------------ warm start and solution

    def warm_start(self, starts: dict[int, int]) -> bool:
        p = self.problem
        if any(not p.earliest[j] <= starts[j] <= p.latest[j] for j in self.S):
            return False
        for j, v in self.S.items():
            v.setInitialValue(starts[j])
        for (i, j), done in self.done.items():
            d = starts[i] + p.tasks[i].duration <= starts[j]
            done.setInitialValue(1 if d else 0)
            self.later[i, j].setInitialValue(1 if (not d and starts[i] >= starts[j] + 1) else 0)
        self.makespan.setInitialValue(p.makespan_of(starts))
        return True

    def starts(self) -> dict[int, int]:
        return {j: int(round(v.varValue)) for j, v in self.S.items()}


def _transitive_order(problem: FixedTargetsProblem) -> set[tuple[int, int]]:
    """Pairs (a, b) with a precedence path from a to b (b starts after a ends)."""
    succ = problem.successors()
    out: set[tuple[int, int]] = set()
    for a in range(len(problem.tasks)):
        stack, seen = list(succ[a]), set()
        while stack:
            b = stack.pop()
            if b in seen:
                continue
            seen.add(b)
            out.add((a, b))
            stack.extend(succ[b])
    return out


def solve(problem: FixedTargetsProblem, *, time_limit_s: float, threads: int = 1,
          initial: Optional[dict[int, int]] = None, cancel: Optional[Cancellation] = None,
          on_progress: Optional[ProgressCallback] = None) -> FormulationResult:
    """Build and solve; the problem must carry a horizon (`with_horizon`)."""
    return solve_mip(NAME, ContinuousModel, problem, time_limit_s=time_limit_s, threads=threads, initial=initial,
                     cancel=cancel, on_progress=on_progress)
