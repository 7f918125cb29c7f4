"""Malloovia's allocation model as a `LinearModel`, one function per constraint family.

Columns: Y[a, r], the reserved VMs of reserved class r given to app a for the whole
period (no level index), then X[l, a, d], the on-demand VMs of class d for app a at
workload level l. Phase I prices reserved VMs for every slot of the period and
on-demand VMs for the slots of their level; a Phase II slot is the same model with
one level, one slot, and each reserved class's total fixed to Phase I's count.

Constraint families (rows):
- add_performance: at every level every app gets at least its workload served.
- add_class_limits: an instance class's `max_vms` caps its VMs (all apps together).
- add_limiting_set_vms / add_limiting_set_cores: VMs and cores in a limiting set;
  reserved VMs run in every level, so they count at every level.
- add_fixed_reserved: Phase II: each reserved class's VMs sum to the Phase I count.
- add_served_fraction (overfull slots): served_a ≤ performance of app a, served_a ≤
  demand; maximise Σ_a served_a / demand_a (apps with zero demand are left out, so
  nothing divides by zero), then minimise cost at that fraction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.capacity.linear import INF, LinearModel
from engine.capacity.model import ProblemData


@dataclass(frozen=True)
class Layout:
    """Where each variable lives in the column vector."""

    n_apps: int
    n_reserved: int
    n_on_demand: int
    n_levels: int
    extra: int = 0  # served_a columns of the overfull model

    def y(self, a, r):
        return np.asarray(a) * self.n_reserved + np.asarray(r)

    def x(self, level, a, d):
        base = self.n_apps * self.n_reserved
        return base + (np.asarray(level) * self.n_apps + np.asarray(a)) * self.n_on_demand + np.asarray(d)

    @property
    def n_y(self) -> int:
        return self.n_apps * self.n_reserved

    @property
    def n_x(self) -> int:
        return self.n_levels * self.n_apps * self.n_on_demand

    @property
    def served_start(self) -> int:
        return self.n_y + self.n_x

    @property
    def n_cols(self) -> int:
        return self.n_y + self.n_x + self.extra

    def split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(Y apps × reserved, X levels × apps × on-demand)."""
        y = x[: self.n_y].reshape(self.n_apps, self.n_reserved)
        xx = x[self.n_y : self.n_y + self.n_x].reshape(self.n_levels, self.n_apps, self.n_on_demand)
        return y, xx


def allocation_model(
    data: ProblemData,
    levels: np.ndarray,
    repeats: np.ndarray,
    integer: bool,
    fixed_reserved: np.ndarray | None = None,
) -> tuple[LinearModel, Layout]:
    """Minimum-cost model for `levels` (levels × apps) weighted by `repeats`."""
    lay = Layout(levels.shape[1], data.n_reserved, len(data.classes) - data.n_reserved, levels.shape[0])
    m = LinearModel.with_columns(lay.n_cols, integer)
    set_cost(m, lay, data, repeats)
    add_performance(m, lay, data, levels)
    add_class_limits(m, lay, data)
    add_limiting_set_vms(m, lay, data)
    add_limiting_set_cores(m, lay, data)
    if fixed_reserved is not None:
        add_fixed_reserved(m, lay, fixed_reserved)
    return m, lay


def overfull_model(data: ProblemData, workload: np.ndarray, fixed_reserved: np.ndarray) -> tuple[LinearModel, Layout]:
    """One slot that cannot be fully served: maximise the served fraction, then minimise cost."""
    n_apps = len(workload)
    lay = Layout(n_apps, data.n_reserved, len(data.classes) - data.n_reserved, 1, extra=n_apps)
    m = LinearModel.with_columns(lay.n_cols, True)
    set_cost(m, lay, data, np.ones(1))
    cost = m.cost.copy()
    m.cost[:] = 0.0
    add_served_fraction(m, lay, data, workload)
    add_class_limits(m, lay, data)
    add_limiting_set_vms(m, lay, data)
    add_limiting_set_cores(m, lay, data)
    add_fixed_reserved(m, lay, fixed_reserved)
    m.maximize = True
    m.then_minimize = cost
    return m, lay


def set_cost(m: LinearModel, lay: Layout, data: ProblemData, repeats: np.ndarray) -> None:
    """Reserved VMs are paid every slot of the period; on-demand ones in the slots of their level."""
    period = float(np.sum(repeats))
    r_price = data.price[: data.n_reserved]
    d_price = data.price[data.n_reserved :]
    m.cost[: lay.n_y] = np.tile(r_price * period, lay.n_apps)
    per_level = np.asarray(repeats, dtype=float)[:, None, None] * d_price[None, None, :]
    m.cost[lay.n_y : lay.n_y + lay.n_x] = np.broadcast_to(per_level, (lay.n_levels, lay.n_apps, lay.n_on_demand)).ravel()


def _performance_entries(lay: Layout, data: ProblemData):
    """(row, col, value) of Σ_r perf·Y[a, r] + Σ_d perf·X[l, a, d] with row = l·apps + a."""
    L, A, R, D = lay.n_levels, lay.n_apps, lay.n_reserved, lay.n_on_demand
    perf_r = data.perf[:, :R]
    perf_d = data.perf[:, R:]
    l, a, r = np.meshgrid(np.arange(L), np.arange(A), np.arange(R), indexing="ij")
    rows_y, cols_y, vals_y = (l * A + a).ravel(), lay.y(a, r).ravel(), perf_r[a, r].ravel()
    l, a, d = np.meshgrid(np.arange(L), np.arange(A), np.arange(D), indexing="ij")
    rows_x, cols_x, vals_x = (l * A + a).ravel(), lay.x(l, a, d).ravel(), perf_d[a, d].ravel()
    return np.concatenate([rows_y, rows_x]), np.concatenate([cols_y, cols_x]), np.concatenate([vals_y, vals_x])


def add_performance(m: LinearModel, lay: Layout, data: ProblemData, levels: np.ndarray) -> None:
    rows, cols, vals = _performance_entries(lay, data)
    m.add_rows(rows, cols, vals, lower=np.asarray(levels, dtype=float).ravel(), upper=np.full(lay.n_levels * lay.n_apps, INF))


def add_served_fraction(m: LinearModel, lay: Layout, data: ProblemData, workload: np.ndarray) -> None:
    """served_a ≤ performance given to a;  0 ≤ served_a ≤ demand_a;  objective Σ served_a / demand_a."""
    rows, cols, vals = _performance_entries(lay, data)
    s_cols = lay.served_start + np.arange(lay.n_apps)
    m.add_rows(
        np.concatenate([rows, np.arange(lay.n_apps)]),
        np.concatenate([cols, s_cols]),
        np.concatenate([-vals, np.ones(lay.n_apps)]),
        lower=np.full(lay.n_apps, -INF),
        upper=np.zeros(lay.n_apps),
    )
    demand = np.asarray(workload, dtype=float)
    m.integer[s_cols] = False
    m.upper[s_cols] = demand
    positive = demand > 0
    m.cost[s_cols[positive]] = 1.0 / demand[positive]


def add_class_limits(m: LinearModel, lay: Layout, data: ProblemData) -> None:
    A, R, D, L = lay.n_apps, lay.n_reserved, lay.n_on_demand, lay.n_levels
    for r in range(R):
        cap = data.class_max[r]
        if cap > 0:
            m.add_rows(np.zeros(A), lay.y(np.arange(A), r), np.ones(A), lower=[-INF], upper=[cap])
    for d in range(D):
        cap = data.class_max[R + d]
        if cap <= 0:
            continue
        if A == 1:  # one app: the limit is a bound on each level's variable
            cols = lay.x(np.arange(L), 0, d)
            m.upper[cols] = np.minimum(m.upper[cols], cap)
            continue
        l, a = np.meshgrid(np.arange(L), np.arange(A), indexing="ij")
        m.add_rows(l.ravel(), lay.x(l, a, d).ravel(), np.ones(L * A), lower=np.full(L, -INF), upper=np.full(L, cap))


def _add_set_rows(m: LinearModel, lay: Layout, members: np.ndarray, weight: np.ndarray, cap: float) -> None:
    """Σ weight·VMs of the member classes ≤ cap, at every level (once if only reserved members)."""
    A, R, L = lay.n_apps, lay.n_reserved, lay.n_levels
    res = np.flatnonzero(members[:R])
    dem = np.flatnonzero(members[R:])
    a_r, r_r = np.meshgrid(np.arange(A), res, indexing="ij")
    y_cols, y_vals = lay.y(a_r, r_r).ravel(), weight[r_r].ravel()
    if len(dem) == 0:
        if len(res):
            m.add_rows(np.zeros(len(y_cols)), y_cols, y_vals, lower=[-INF], upper=[cap])
        return
    l, a, d = np.meshgrid(np.arange(L), np.arange(A), dem, indexing="ij")
    x_rows, x_cols, x_vals = l.ravel(), lay.x(l, a, d).ravel(), weight[R + d].ravel()
    y_rows = np.repeat(np.arange(L), len(y_cols))
    m.add_rows(
        np.concatenate([y_rows, x_rows]),
        np.concatenate([np.tile(y_cols, L), x_cols]),
        np.concatenate([np.tile(y_vals, L), x_vals]),
        lower=np.full(L, -INF),
        upper=np.full(L, cap),
    )


def add_limiting_set_vms(m: LinearModel, lay: Layout, data: ProblemData) -> None:
    for s, cap in enumerate(data.set_max_vms):
        if cap > 0:
            _add_set_rows(m, lay, data.member[s], np.ones(len(data.classes)), cap)


def add_limiting_set_cores(m: LinearModel, lay: Layout, data: ProblemData) -> None:
    for s, cap in enumerate(data.set_max_cores):
        if cap > 0:
            _add_set_rows(m, lay, data.member[s], data.cores, cap)


def add_fixed_reserved(m: LinearModel, lay: Layout, fixed: np.ndarray) -> None:
    A = lay.n_apps
    for r, count in enumerate(fixed):
        m.add_rows(np.zeros(A), lay.y(np.arange(A), r), np.ones(A), lower=[count], upper=[count])
