"""Column generation for `min_hosts`: the Gilmore–Gomory set-covering LP and packings from it.

Items with the same integer demand (and, under an anti-affinity limit, the same
customer) form a *type* t with a count d_t. Receivers with the same free room
form a *class* k: empty hosts of one shape cost 1 each and there are n_k of
them; a host already holding fixed VMs is a class of its own that costs 0 (it
is in use anyway) with its own customer room. A *pattern* is what one host of
class k can take: a_t copies of type t with a_t ≤ d_t, within the free room in
every resource and within each customer's room. The master LP

    min Σ_p c_k(p) x_p   s.t.  Σ_p a_tp x_p ≥ d_t (duals π_t ≥ 0),  Σ_{p∈k} x_p ≤ n_k,  x ≥ 0

is solved over a growing set of patterns with GLOP (OR-Tools' own LP: HiGHS
cannot share a process with CP-SAT, NOTES.md). Pricing is a bounded
multi-dimensional knapsack, max Σ π_t a_t over the patterns of a class. Without
per-customer rooms: a compiled depth-first branch and bound (colgen_exact), short
for columns and complete for proofs, every search with a proven upper bound. With
rooms: a numpy beam search (colgen_pricing) and greedy fills first, CP-SAT (exact,
with a proven upper bound) when they find nothing.

The bound reported is Lagrangian, valid for any π ≥ 0 and any upper bound P_k on
the pricing value, whether or not the generation finished:

    L(π) = Σ_t π_t d_t − Σ_k n_k · max(0, P_k − c_k),

maximised over scalings tπ, t ∈ (0, 1] (with one class that is Farley's bound
z_RMP / max_p π·a_p). When the generation converges, L equals the LP optimum, so
the bound is ⌈z_LP⌉. It counts only when P_k is proven (a search's proven upper
bound, CP-SAT optimal or its proven objective bound), and only on exact integer
data (problem.SCALE), since the integer demands are rounded up.

Integer packings from the patterns live in colgen_integer.py.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Optional

from engine.placement.problem import PlacementProblem
from engine.cp_solver import new_cp_solver
from engine.placement.solution import Assign
from engine.progress import Cancellation

PRICE_SCALE = 1_000_000    # integer objective units per unit of dual value in the CP-SAT pricing
RC_EPS = 1e-7              # a column enters when its reduced cost is below −RC_EPS
BOUND_EPS = 1e-6           # ⌈L − BOUND_EPS⌉: floating-point slack on the LP duals
EXCHANGES = 3              # dominating types per type given an exchange column (stabilisation)
SEEDS = 8                  # seeded greedy fills per class and pricing round
QUICK_PRICE_S = 0.2        # exact pricing looks this long for columns before it tries to prove none exist
PROOF_PRICE_S = 4.0        # … and at most this long for the proof
ENUM_COLUMNS = 30          # improving patterns the numpy beam pricing returns per class and round …
ENUM_STATES = 300          # … keeping this many partial patterns per level (fewer beyond 250 types)
SEARCH_NODES = 30_000      # nodes of the short depth-first pricing per class and round (colgen_exact) …
EXACT_EVERY = 8            # … and every this many rounds a complete one (a tight Lagrangian bound)


@dataclass
class Types:
    weight: list[tuple[int, ...]]      # integer demand per type
    customer: list[str]                # "" when no anti-affinity limit applies
    members: list[list[int]]           # item indices per type

    @property
    def count(self) -> list[int]:
        return [len(m) for m in self.members]


@dataclass
class Klass:
    receivers: list[int]               # receiver indices (one when fixed)
    free: tuple[int, ...]
    cost: int                          # 1 for an empty host, 0 for one in use anyway
    room: dict[str, int] = field(default_factory=dict)   # per-customer room left (anti-affinity)
    default_room: Optional[int] = None                     # room of a customer with nothing there yet

    @property
    def size(self) -> int:
        return len(self.receivers)

    def room_of(self, customer: str) -> Optional[int]:
        if self.default_room is None:
            return None
        return self.room.get(customer, self.default_room)


def applies(p: PlacementProblem) -> bool:
    return p.objective == "min_hosts" and bool(p.items) and bool(p.receivers)


def build_types(p: PlacementProblem) -> Types:
    index: dict[tuple, int] = {}
    weight, customer, members = [], [], []
    for i, it in enumerate(p.items):
        w = tuple(p.int_demand(i))
        c = it.customer if p.customer_cap is not None else ""
        t = index.setdefault((w, c), len(weight))
        if t == len(weight):
            weight.append(w)
            customer.append(c)
            members.append([])
        members[t].append(i)
    return Types(weight, customer, members)


def build_classes(p: PlacementProblem) -> list[Klass]:
    out: list[Klass] = []
    empty: dict[tuple, Klass] = {}
    for r, rec in enumerate(p.receivers):
        free = tuple(p.int_free(r))
        if rec.fixed_used:
            room = {c: max(0, p.customer_cap - n) for c, n in rec.fixed_customers.items()} \
                if p.customer_cap is not None else {}
            out.append(Klass([r], free, 0, room, p.customer_cap))
        else:
            k = empty.get(free)
            if k is None:
                k = empty[free] = Klass([], free, 1, {}, p.customer_cap)
                out.append(k)
            k.receivers.append(r)
    return out


@dataclass
class Column:
    klass: int
    counts: dict[int, int]             # type → copies

    def key(self) -> tuple:
        return (self.klass, tuple(sorted(self.counts.items())))


@dataclass
class ColgenResult:
    bound: Optional[int]               # proven lower bound on hosts in use (None: not proven)
    lp_value: Optional[float]          # last restricted-master LP value (hosts beyond the fixed ones)
    converged: bool                    # the LP was solved to proven optimality
    assign: Optional[Assign]           # best packing found from the patterns
    columns: int
    iterations: int


class ColumnGeneration:
    def __init__(self, p: PlacementProblem, exact: bool, workers: int = 1, cancel: Optional[Cancellation] = None):
        self.p = p
        self.exact = exact
        self.workers = workers
        self.cancel = cancel
        self.types = build_types(p)
        self.classes = build_classes(p)
        self.base = p.fixed_used_elsewhere + sum(1 for rec in p.receivers if rec.fixed_used)
        self.columns: list[Column] = []
        self.seen: set[tuple] = set()
        self.best_bound: Optional[float] = None     # best Lagrangian value (hosts beyond `base`)
        self.iterations = 0
        self.converged = False
        self.fit = [[self._fits_alone(t, k) for k in range(len(self.classes))] for t in range(len(self.types.weight))]
        self.need = list(self.types.count)          # demand still to cover (the dive lowers it)
        self.avail = [cls.size for cls in self.classes]
        self._lp = None

    # ------------------------------------------------------------------ data helpers
    def _fits_alone(self, t: int, k: int) -> bool:
        cls = self.classes[k]
        room = cls.room_of(self.types.customer[t]) if self.types.customer[t] else None
        return (room is None or room >= 1) and all(w <= f for w, f in zip(self.types.weight[t], cls.free))

    def host_columns(self, assign: Assign) -> list[Column]:
        """The pattern each used host of a packing holds (one column per host, repeats included)."""
        of_type = {i: t for t, ms in enumerate(self.types.members) for i in ms}
        klass_of = {r: k for k, cls in enumerate(self.classes) for r in cls.receivers}
        per_host: dict[int, dict[int, int]] = {}
        for i, r in enumerate(assign):
            counts = per_host.setdefault(r, {})
            counts[of_type[i]] = counts.get(of_type[i], 0) + 1
        return [Column(klass_of[r], counts) for r, counts in per_host.items()]

    def add_assignment(self, assign: Assign) -> None:
        """Every host of a packing becomes a column (the LP then has a feasible start)."""
        for col in self.host_columns(assign):
            self._add(col)

    def _add(self, col: Column) -> bool:
        key = col.key()
        if key in self.seen or not col.counts:
            return False
        self.seen.add(key)
        self.columns.append(col)
        if self._lp is not None:
            self._lp.add_column(col)
        return True

    # ------------------------------------------------------------------ the loop
    def run(self, deadline: float, cancel: Optional[Cancellation] = None, stop_at: Optional[int] = None) -> None:
        """Generate columns until the LP is proven optimal, its rounded-up value is proven (the
        Lagrangian bound reaches ⌈z⌉), `stop_at` hosts are proven, or the deadline."""
        self._lp = _Master(self)
        while time.monotonic() < deadline and not (cancel is not None and cancel.cancelled):
            self.iterations += 1
            z, duals, limits = self._lp.solve()
            if z is None:
                return
            # Without per-customer rooms: the compiled depth-first search (colgen_exact), short first
            # (columns), complete when that finds none or may prove ⌈z⌉ (a proof, and the bound).
            # With rooms: the numpy beam, the greedy fills, then CP-SAT (exact: a proof or columns).
            # Smoothing the duals (Wentges, Neame) was measured: it slowed convergence on the
            # published-style classes, so the LP's duals are used as they are.
            if not any(self.types.customer):
                added, proven = self._price_search(duals, limits, deadline, z)
                if added:
                    if self._settled(z, stop_at):
                        return
                    continue
                if proven:
                    self.converged = True
                return
            added = self._price_beam(duals, limits, deadline)
            if added:
                continue
            added = self._price_greedy(duals, limits)
            if added:
                continue
            proven = self._price_exact(duals, limits, deadline, z)
            if proven is None:        # out of time, or no proof within PROOF_PRICE_S: the bound so far stands
                return
            if proven:
                self.converged = True
                return
            if self._settled(z, stop_at):
                return

    def _settled(self, z: float, stop_at: Optional[int]) -> bool:
        """The LP cannot prove more hosts than the bound already does."""
        bound = self.lower_bound()
        return bound is not None and (bound >= self.base + math.ceil(z - BOUND_EPS)
                                      or (stop_at is not None and bound >= stop_at))

    def lower_bound(self) -> Optional[int]:
        if self.best_bound is None or not self.exact:
            return None
        return self.base + max(0, math.ceil(self.best_bound - BOUND_EPS))

    # ------------------------------------------------------------------ pricing
    def _reduced_target(self, k: int, limits: list[float]) -> float:
        """A column of class k improves when π·a > c_k − μ_k (μ_k ≤ 0: dual of the class limit)."""
        return self.classes[k].cost - limits[k]

    def _price_search(self, duals: list[float], limits: list[float], deadline: float,
                      z: float) -> tuple[int, bool]:
        """Pricing by colgen_exact, every class (no per-customer rooms): a search of SEARCH_NODES nodes
        per class, then a complete one (to the deadline) when it found no column, when it may prove ⌈z⌉
        (its best below `_enough`) or every EXACT_EVERY rounds. Every search gives a proven upper
        bound, so each round updates the Lagrangian bound. Returns (columns added, proven that none
        exists)."""
        import numpy as np

        from engine.placement.colgen_exact import price_exact

        enough = self._enough(duals, z)
        added, improving, found_best = 0, False, 0.0
        for complete in (False, True):
            if complete and improving and found_best > enough and self.iterations % EXACT_EVERY:
                break
            uppers, improving, done_all, found_best = [], False, True, 0.0
            for k, cls in enumerate(self.classes):
                target = self._reduced_target(k, limits) + RC_EPS
                types = [t for t in range(len(duals)) if duals[t] > 1e-12 and self.fit[t][k] and self.need[t] > 0]
                if not types or not self.avail[k]:
                    uppers.append(0.0)
                    continue
                w = np.array([self.types.weight[t] for t in types], dtype=np.int64)
                free = np.array(cls.free, dtype=np.int64)
                most = np.array([self.need[t] for t in types], dtype=np.int64)
                most = np.minimum(most, np.where(w > 0, free // np.maximum(w, 1), most[:, None]).min(axis=1))
                # a complete search after columns were found is for the bound: only the best pattern
                # (near convergence many patterns tie around the target, and keeping 30 of them
                # costs ~30× more at 500 types)
                keep = 1 if complete and added else ENUM_COLUMNS
                best, upper, done, found = price_exact(w, np.array([duals[t] for t in types]), most, free, target,
                                                       keep, deadline=deadline,
                                                       max_nodes=None if complete else SEARCH_NODES)
                uppers.append(upper)
                done_all = done_all and done
                improving = improving or bool(found)
                found_best = max(found_best, best)
                added += sum(1 for _, counts in found if self._add(Column(k, {types[i]: a for i, a in counts.items()})))
            self._lagrangian(duals, uppers)
            if done_all or time.monotonic() > deadline:
                break
        return added, done_all and not improving

    def _price_greedy(self, duals: list[float], limits: list[float]) -> int:
        added = 0
        for k, cls in enumerate(self.classes):
            target = self._reduced_target(k, limits) + RC_EPS
            for col in self._greedy_fills(k, duals):
                value = sum(duals[t] * a for t, a in col.counts.items())
                if value > target and self._add(col):
                    added += 1
        return added

    def _greedy_fills(self, k: int, duals: list[float]):
        cls = self.classes[k]
        types = [t for t in range(len(duals)) if duals[t] > 1e-12 and self.fit[t][k] and self.need[t] > 0]
        if not types or not self.avail[k]:
            return
        free = cls.free
        norm = [f or 1 for f in free]
        w = self.types.weight
        size_sum = {t: sum(w[t][d] / norm[d] for d in range(len(free))) for t in types}
        size_max = {t: max(w[t][d] / norm[d] for d in range(len(free))) for t in types}
        orders = (
            sorted(types, key=lambda t: -duals[t] / (size_sum[t] or 1e-12)),
            sorted(types, key=lambda t: -duals[t] / (size_max[t] or 1e-12)),
            sorted(types, key=lambda t: -duals[t]),
        )
        for order in orders:
            yield self._fill(k, order)
        # seeded fills: one copy of each of the most valuable types first, then by density
        for seed in orders[2][:SEEDS]:
            yield self._fill(k, orders[0], first=seed)

    def _fill(self, k: int, order: list[int], first: Optional[int] = None) -> Column:
        cls = self.classes[k]
        left = list(cls.free)
        counts: dict[int, int] = {}
        used: dict[str, int] = {}
        w, cnt, cust = self.types.weight, self.need, self.types.customer
        if first is not None:
            counts[first] = 1
            left = [f - a for f, a in zip(left, w[first])]
            if cust[first]:
                used[cust[first]] = 1
        for t in order:
            most = cnt[t] - counts.get(t, 0)
            for d, a in enumerate(w[t]):
                if a > 0:
                    most = min(most, left[d] // a)
            if cust[t]:
                room = cls.room_of(cust[t])
                if room is not None:
                    most = min(most, room - used.get(cust[t], 0))
            if most <= 0:
                continue
            counts[t] = counts.get(t, 0) + most
            for d, a in enumerate(w[t]):
                left[d] -= a * most
            if cust[t]:
                used[cust[t]] = used.get(cust[t], 0) + most
        return Column(k, counts)

    def _price_beam(self, duals: list[float], limits: list[float], deadline: float) -> int:
        """Heuristic pricing: the numpy search of colgen_pricing kept narrow (a beam of the partial
        patterns with the best completion bounds), every class, only without per-customer rooms.
        Returns the columns added."""
        import numpy as np

        from engine.placement.colgen_pricing import price

        if any(self.types.customer):
            return 0
        added = 0
        for k, cls in enumerate(self.classes):
            target = self._reduced_target(k, limits) + RC_EPS
            types = [t for t in range(len(duals)) if duals[t] > 1e-12 and self.fit[t][k] and self.need[t] > 0]
            if not types or not self.avail[k]:
                continue
            w = np.array([self.types.weight[t] for t in types], dtype=np.int64)
            free = np.array(cls.free, dtype=np.int64)
            most = np.array([self.need[t] for t in types], dtype=np.int64)
            most = np.minimum(most, np.where(w > 0, free // np.maximum(w, 1), most[:, None]).min(axis=1))
            _, _, found = price(w, np.array([duals[t] for t in types]), most, free, 0.0, target, ENUM_COLUMNS,
                                cutoff=target, max_states=max(60, ENUM_STATES * 250 // max(250, len(types))),
                                deadline=deadline)
            added += sum(1 for _, counts in found if self._add(Column(k, {types[i]: a for i, a in counts.items()})))
        return added

    def _price_exact(self, duals: list[float], limits: list[float], deadline: float, z: float,
                     bound: bool = True, quick: bool = False) -> Optional[bool]:
        """CP-SAT per class. True: no improving column exists (proved); False: columns added;
        None: out of time before every class was proved. Updates the Lagrangian bound."""
        uppers: list[float] = []
        added, unproven = 0, False
        enough = self._enough(duals, z)
        for k in range(len(self.classes)):
            target = self._reduced_target(k, limits) + RC_EPS
            upper, cols = None, []
            for limit in (QUICK_PRICE_S,) if quick else (QUICK_PRICE_S, PROOF_PRICE_S):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                stop = target if limit == QUICK_PRICE_S else max(target, enough)
                upper, cols = _knapsack(self, k, duals, target, min(limit, left), stop, self.workers)
                if cols or (upper is not None and upper <= stop):
                    break
            if upper is None:
                return None
            uppers.append(upper)
            added += sum(1 for col in cols if self._add(col))
            unproven = unproven or (not cols and upper > target)
        if bound:
            self._lagrangian(duals, uppers)
        if added:
            return False
        return None if unproven else True

    def _enough(self, duals: list[float], z: float) -> float:
        """With one class of empty hosts, a pricing bound below this proves ⌈z⌉ through Farley's
        bound (π·d / P > ⌈z⌉ − 1); a proof may stop there. Otherwise only convergence proves it."""
        if len(self.classes) != 1 or self.classes[0].cost != 1:
            return 0.0
        cover = sum(duals[t] * n for t, n in enumerate(self.types.count))
        goal = math.ceil(z - BOUND_EPS) - 1
        return cover / (goal + 2 * BOUND_EPS) - RC_EPS if goal > 0 else 0.0

    def _lagrangian(self, duals: list[float], uppers: list[float]) -> None:
        """max over t ∈ (0, 1] of t·π·d − Σ_k n_k max(0, t·P_k − c_k): the maximum sits at t = 1 or
        at a breakpoint t = c_k / P_k."""
        if not all(math.isfinite(P) for P in uppers):
            return                    # some class was priced heuristically only: no bound this round
        cover = sum(duals[t] * n for t, n in enumerate(self.types.count))
        steps = {1.0} | {cls.cost / P for cls, P in zip(self.classes, uppers) if P > 0 and 0 < cls.cost / P < 1}
        best = max(s * cover - sum(cls.size * max(0.0, s * P - cls.cost) for cls, P in zip(self.classes, uppers))
                   for s in steps)
        if self.best_bound is None or best > self.best_bound:
            self.best_bound = best


class _Master:
    """The restricted master LP in GLOP, grown one column at a time."""

    def __init__(self, cg: ColumnGeneration):
        from ortools.linear_solver import pywraplp

        self.cg = cg
        self.solver = pywraplp.Solver.CreateSolver("GLOP")
        inf = self.solver.infinity()
        self.cover = [self.solver.Constraint(float(n), inf) for n in cg.types.count]
        self.limit = [self.solver.Constraint(-inf, float(cls.size)) for cls in cg.classes]
        self.objective = self.solver.Objective()
        self.objective.SetMinimization()
        self.vars = []
        for col in cg.columns:
            self.add_column(col)
        self.add_exchanges()

    def add_exchanges(self) -> None:
        """Dual stabilisation (dual-optimal inequalities π_t ≥ π_s when type t dominates s: bigger in
        every resource, same customer): a slot of t may hold an s instead, at no cost. Relaxing the
        primal this way keeps the LP a valid relaxation and cuts degenerate dual solutions away."""
        import numpy as np

        w, cust = self.cg.types.weight, self.cg.types.customer
        if not w:
            return
        arr = np.array(w, dtype=np.int64)
        _, group = np.unique(np.array(cust, dtype=object).astype(str), return_inverse=True)
        total = arr.sum(axis=1)
        for s in range(len(w)):   # one row at a time: T × T × D at once is too much memory for big T
            dominates = np.all(arr >= arr[s], axis=1) & np.any(arr != arr[s], axis=1) & (group == group[s])
            bigger = np.flatnonzero(dominates)
            for t in bigger[np.lexsort((bigger, total[bigger]))][:EXCHANGES]:
                t = int(t)
                v = self.solver.NumVar(0.0, self.solver.infinity(), "")
                self.cover[s].SetCoefficient(v, 1.0)
                self.cover[t].SetCoefficient(v, -1.0)

    def add_column(self, col: Column) -> None:
        v = self.solver.NumVar(0.0, self.solver.infinity(), "")
        for t, a in col.counts.items():
            self.cover[t].SetCoefficient(v, float(a))
        self.limit[col.klass].SetCoefficient(v, 1.0)
        self.objective.SetCoefficient(v, float(self.cg.classes[col.klass].cost))
        self.vars.append(v)

    def solve(self) -> tuple[Optional[float], list[float], list[float]]:
        from ortools.linear_solver import pywraplp

        if self.solver.Solve() != pywraplp.Solver.OPTIMAL:
            return None, [], []
        duals = [max(0.0, c.dual_value()) for c in self.cover]
        limits = [min(0.0, c.dual_value()) for c in self.limit]
        return self.objective.Value(), duals, limits

    def set_residual(self) -> None:
        """Right-hand sides from the demand and hosts still open (the dive changes them)."""
        for t, c in enumerate(self.cover):
            c.SetLb(float(self.cg.need[t]))
        for k, c in enumerate(self.limit):
            c.SetUb(float(self.cg.avail[k]))

    def values(self) -> list[float]:
        return [v.solution_value() for v in self.vars]


def _knapsack(cg: ColumnGeneration, k: int, duals: list[float], target: float, limit_s: float,
              enough: Optional[float] = None, workers: int = 1) -> tuple[Optional[float], list[Column]]:
    """Exact pricing of class k with CP-SAT: (proven upper bound on max π·a, or None when the solver
    found nothing; improving columns found). Coefficients are rounded up (⌈π_t · PRICE_SCALE⌉), so
    the solver's bound bounds the true value."""
    from ortools.sat.python import cp_model

    cls = cg.classes[k]
    types = [t for t in range(len(duals)) if duals[t] > 1e-12 and cg.fit[t][k] and cg.need[t] > 0]
    if not types or not cg.avail[k]:
        return 0.0, []
    m = cp_model.CpModel()
    w, cnt, cust = cg.types.weight, cg.need, cg.types.customer
    a, most = {}, {}
    for t in types:
        most[t] = cnt[t]
        for d, x in enumerate(w[t]):
            if x > 0:
                most[t] = min(most[t], cls.free[d] // x)
        a[t] = m.NewIntVar(0, most[t], "")
    for d, f in enumerate(cls.free):
        if sum(w[t][d] * most[t] for t in types) > f:
            m.Add(sum(w[t][d] * a[t] for t in types if w[t][d] > 0) <= f)
    by_customer: dict[str, list[int]] = {}
    for t in types:
        if cust[t]:
            by_customer.setdefault(cust[t], []).append(t)
    for c, ts in by_customer.items():
        room = cls.room_of(c)
        if room is not None and len(ts) > 0:
            m.Add(sum(a[t] for t in ts) <= room)
    coef = {t: math.ceil(duals[t] * PRICE_SCALE) for t in types}
    m.Maximize(sum(coef[t] * a[t] for t in types))
    solver = new_cp_solver()
    solver.parameters.max_time_in_seconds = max(0.02, limit_s)
    solver.parameters.num_workers = max(1, workers)
    collect = _Collect(cg, k, a, duals, target)
    stopped: list[float] = []
    if enough is not None:
        def proven(bound: float) -> None:
            if bound / PRICE_SCALE <= enough:
                stopped.append(bound / PRICE_SCALE)
                solver.stop_search()
        solver.best_bound_callback = proven
    if cg.cancel is not None:
        cg.cancel.on_cancel(solver.stop_search)
    try:
        code = solver.Solve(m, collect)
    finally:
        if cg.cancel is not None:
            cg.cancel.remove(solver.stop_search)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # stopped on a proven bound before any solution: the bound still stands
        return (min(stopped) if stopped else None), collect.found
    return solver.BestObjectiveBound() / PRICE_SCALE, collect.found


class _Collect:
    """CP-SAT callback keeping every improving pattern it meets."""

    def __new__(cls, cg: ColumnGeneration, k: int, a: dict, duals: list[float], target: float):
        from ortools.sat.python import cp_model

        class Callback(cp_model.CpSolverSolutionCallback):
            def __init__(self):
                super().__init__()
                self.found: list[Column] = []

            def on_solution_callback(self):
                counts = {t: self.Value(v) for t, v in a.items() if self.Value(v) > 0}
                if sum(duals[t] * n for t, n in counts.items()) > target:
                    self.found.append(Column(k, counts))

        return Callback()
