"""The maintenance problem with every VM's target fixed: a pure scheduling problem.

The MIP formulations (and their CP-SAT twin) solve this subproblem. It is
built once from a snapshot, limits and a target per migrating VM, and holds:

* tasks: one per migration (its VM's migration minutes) and one per reboot
  (the host's reboot minutes);
* precedences, end to start: a migration leaving a host before that host's
  reboot (rule 2); a needs_reboot target's reboot before any migration into
  it (rule 3, rolling);
* cumulatives, each `Σ weight of tasks running at a minute ≤ capacity`: one
  per source / target host, rack, datacenter and the fleet (rule 5), per host
  bandwidth (rule 6), per customer (rule 7: its migrations, and the reboots of
  hosts holding its non-migratable VMs weighted by how many they hold), per
  rack for reboots (rule 8).

Why capacity (rule 4) needs no time dimension here — the assumption, checked:
with targets fixed, the load of a target only grows from its first arrival on.
An `active` target never gives VMs away; a `needs_reboot` target receives
only after its reboot, when every migratable VM of its own has left (rule 2),
so from its first arrival it holds its non-migratable VMs plus arrivals. Its
peak is therefore its final load, whatever the timing: the assignment fits at
every minute iff every target fits everything that ever arrives. `build`
checks exactly that and refuses an assignment that does not fit (no timing
could make it valid), naming host, resource, arrivals and room.

Every number (migration minutes, Gbps, customer limits, the room a host
offers) is read from the shared `engine.maintenance.problem.Problem`, never
re-derived from the documents; the tasks here only name hosts and VMs by id.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import Literal, Mapping, Optional

from engine.maintenance.problem import SCALE, Problem, build_problem
from engine.model import RESOURCES, Limits, MaintenancePlan, Migration, Reboot, Snapshot, SolverInfo

EPS = 1e-9


class FixedTargetsRefused(ValueError):
    """The fixed assignment cannot give a valid plan at any timing (or the horizon is too short)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("fixed targets refused:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Task:
    index: int
    kind: Literal["migration", "reboot"]
    key: str                      # VM id of a migration, host id of a reboot
    duration: int
    source: str                   # the host left (migration) or rebooted (reboot)
    target: Optional[str] = None  # migrations only

    @property
    def label(self) -> str:
        return f"{self.kind} {self.key}"


@dataclass(frozen=True)
class Precedence:
    before: int
    after: int                    # `after` starts no earlier than `before` ends
    rule: str


@dataclass
class Cumulative:
    rule: str                     # FORMATS.md rule, e.g. "5-concurrency"
    name: str                     # e.g. "per_source_host h1"
    capacity: float
    weights: dict[int, float]     # task index -> weight (tasks of positive duration only)

    @property
    def binding(self) -> bool:
        """False when even all members at once fit: the constraint can be left out of any model."""
        return sum(self.weights.values()) > self.capacity + EPS


@dataclass
class FixedTargetsProblem:
    tasks: list[Task]
    precedences: list[Precedence]
    cumulatives: list[Cumulative]
    targets: dict[str, str]
    horizon: int = 0
    earliest: list[int] = field(default_factory=list)   # earliest start per task (precedence heads)
    latest: list[int] = field(default_factory=list)     # latest start per task within the horizon
    tail: list[int] = field(default_factory=list)       # longest chain of successors after a task ends

    def binding_cumulatives(self, rule: Optional[str] = None) -> list[Cumulative]:
        return [c for c in self.cumulatives if c.binding and (rule is None or c.rule == rule)]

    def successors(self) -> list[list[int]]:
        out: list[list[int]] = [[] for _ in self.tasks]
        for p in self.precedences:
            out[p.before].append(p.after)
        return out

    def sinks(self) -> list[int]:
        has_succ = {p.before for p in self.precedences}
        return [t.index for t in self.tasks if t.index not in has_succ]

    def critical_path(self) -> int:
        return max((self.earliest[t.index] + t.duration + self.tail[t.index] for t in self.tasks), default=0)

    def lower_bound(self) -> int:
        """Longest precedence chain, and each cumulative's energy / capacity (a valid bound for this subproblem)."""
        bound = self.critical_path()
        for c in self.binding_cumulatives():
            if c.capacity > EPS:
                energy = sum(w * self.tasks[i].duration for i, w in c.weights.items())
                bound = max(bound, _ceil(energy / c.capacity))
        return bound

    def with_horizon(self, horizon: int) -> "FixedTargetsProblem":
        """Set the horizon and each task's start window [earliest, latest]; refuse a horizon that is too short."""
        latest = [horizon - t.duration - self.tail[t.index] for t in self.tasks]
        short = [t for t in self.tasks if latest[t.index] < self.earliest[t.index]]
        if short:
            need = self.critical_path()
            raise FixedTargetsRefused([f"horizon {horizon} is shorter than the longest precedence chain ({need} minutes)"])
        self.horizon, self.latest = horizon, latest
        return self

    # ------------------------------------------------------------------ solutions

    def is_schedule(self, starts: Mapping[int, int]) -> bool:
        """True when `starts` satisfies every precedence and cumulative of this problem (a warm start to trust)."""
        if any(i not in starts or starts[i] < 0 for i in range(len(self.tasks))):
            return False
        if any(starts[p.after] < starts[p.before] + self.tasks[p.before].duration for p in self.precedences):
            return False
        for c in self.binding_cumulatives():
            events = [(starts[i], w) for i, w in c.weights.items()]
            events += [(starts[i] + self.tasks[i].duration, -w) for i, w in c.weights.items()]
            load = 0.0
            for _, delta in sorted(events):  # at one minute, ends (negative) before starts: [start, end)
                load += delta
                if load > c.capacity + EPS:
                    return False
        return True

    def makespan_of(self, starts: Mapping[int, int]) -> int:
        return max((starts[t.index] + t.duration for t in self.tasks), default=0)

    def to_plan(self, starts: Mapping[int, int], *, status: str, solver: str, wall_s: float,
                lower_bound: Optional[int]) -> MaintenancePlan:
        migrations, reboots = [], []
        for t in self.tasks:
            s = int(starts[t.index])
            if t.kind == "migration":
                migrations.append(Migration(vm=t.key, source=t.source, target=t.target or "", start=s, end=s + t.duration))
            else:
                reboots.append(Reboot(host=t.key, start=s, end=s + t.duration))
        makespan = self.makespan_of(starts)
        return MaintenancePlan(status=status, makespan=makespan, lower_bound=lower_bound,
                               migrations=sorted(migrations, key=lambda m: (m.start, m.vm)),
                               reboots=sorted(reboots, key=lambda r: (r.start, r.host)),
                               solver=SolverInfo(name=solver, wall_s=round(wall_s, 3)))


def _ceil(x: float) -> int:
    return int(math.ceil(x - 1e-9))


# --------------------------------------------------------------------------- targets


def simple_targets(snapshot: Snapshot, limits: Limits, problem: Optional[Problem] = None) -> dict[str, str]:
    """A static worst-fit assignment: largest VM first, to the host of its datacenter with the most room left.

    Worst fit spreads arrivals over targets, so per-target concurrency serialises less.

    Candidates: `active` hosts, and (rolling) `needs_reboot` hosts that come earlier in an
    evacuation order (emptiest first), so targets never form a precedence cycle. Room is the
    problem's (see the module docstring); a VM that fits nowhere keeps no target and `build`
    names it.
    """
    p = problem if problem is not None else build_problem(snapshot, limits)
    hosts = p.hosts
    rebooting = sorted(p.reboot_hosts, key=lambda h: (hosts[h].load_fraction, hosts[h].id))
    order = {h: i for i, h in enumerate(rebooting)}
    room = {h.index: list(h.room) for h in hosts}
    norm = [max(1, max((h.room[k] for h in hosts), default=1)) for k in range(len(RESOURCES))]
    movers = sorted(p.tasks, key=lambda t: (-sum(d / n for d, n in zip(t.demand, norm)), t.vm))
    out: dict[str, str] = {}
    for t in movers:
        best, best_slack = None, None
        for h in p.targets_by_datacenter[hosts[t.source].datacenter]:
            if h == t.source or (hosts[h].reboots and not order[h] < order.get(t.source, -1)):
                continue
            slack = min((room[h][k] - d) / n for k, (d, n) in enumerate(zip(t.demand, norm)))
            if slack < 0:
                continue
            if best_slack is None or slack > best_slack:
                best, best_slack = h, slack
        if best is not None:
            out[t.vm] = hosts[best].id
            for k, d in enumerate(t.demand):
                room[best][k] -= d
    return out


# --------------------------------------------------------------------------- build


def build(snapshot: Snapshot, limits: Limits, targets: Mapping[str, str], horizon: Optional[int] = None,
          problem: Optional[Problem] = None) -> FixedTargetsProblem:
    """The scheduling subproblem for these targets; `FixedTargetsRefused` names every reason it cannot work.

    `problem` is the whole fleet's `build_problem(snapshot, limits)` when the caller has it."""
    p = problem if problem is not None else build_problem(snapshot, limits)
    problems: list[str] = []
    tasks, index_of_vm, index_of_reboot = _tasks(snapshot, p, targets, problems)
    problems += check_targets(p, tasks)
    problems += check_static_capacity(p, tasks)
    precedences = reboot_after_evacuation(tasks, index_of_reboot) + target_after_reboot(tasks, index_of_reboot)
    cumulatives = (concurrency(p, tasks) + bandwidth(p, tasks)
                   + conflict(p, tasks, index_of_reboot) + hosts_down_per_rack(p, tasks))
    for c in cumulatives:
        for i, w in c.weights.items():
            if w > c.capacity + EPS:
                problems.append(f"rule {c.rule}: {tasks[i].label} alone needs {w:g} of {c.name}, "
                                f"whose limit is {c.capacity:g}")
    if problems:
        raise FixedTargetsRefused(problems)
    fixed = FixedTargetsProblem(tasks=tasks, precedences=precedences, cumulatives=cumulatives, targets=dict(targets))
    _heads_and_tails(fixed)
    if horizon is not None:
        fixed.with_horizon(horizon)
    return fixed


def _tasks(snapshot: Snapshot, p: Problem, targets: Mapping[str, str], problems: list[str]):
    tasks: list[Task] = []
    index_of_vm: dict[str, int] = {}
    index_of_reboot: dict[str, int] = {}
    moving = set()
    for t in p.tasks:
        moving.add(t.vm)
        target = targets.get(t.vm)
        if target is None:
            problems.append(f"vm {t.vm!r} must migrate from {p.hosts[t.source].id!r} but has no target")
            continue
        index_of_vm[t.vm] = len(tasks)
        tasks.append(Task(len(tasks), "migration", t.vm, t.duration, p.hosts[t.source].id, target))
    for h in p.reboot_hosts:
        hd = p.hosts[h]
        index_of_reboot[hd.id] = len(tasks)
        tasks.append(Task(len(tasks), "reboot", hd.id, hd.reboot_minutes, hd.id))
    for v in sorted(set(targets) - moving):
        if v in snapshot.vm_by_id:
            problems.append(f"vm {v!r} has a target but does not migrate (rule 1)")
        else:
            problems.append(f"vm {v!r} in the targets is not in the snapshot")
    return tasks, index_of_vm, index_of_reboot


def _host_index(p: Problem) -> dict[str, int]:
    return {h.id: h.index for h in p.hosts}


def check_targets(p: Problem, tasks: list[Task]) -> list[str]:
    """Rule 3, the static part: same datacenter, not the source, not disabled, needs_reboot only if rolling."""
    out = []
    index = _host_index(p)
    for t in tasks:
        if t.kind != "migration":
            continue
        if t.target not in index:
            out.append(f"vm {t.key!r}: target {t.target!r} is not a host of the snapshot")
            continue
        tgt, src = p.hosts[index[t.target]], p.hosts[index[t.source]]
        if tgt.id == t.source:
            out.append(f"vm {t.key!r}: target is its source host {t.source!r}")
        if tgt.datacenter != src.datacenter:
            out.append(f"vm {t.key!r}: target {tgt.id!r} is in another datacenter than {t.source!r}")
        if tgt.state == "disabled":
            out.append(f"vm {t.key!r}: target {tgt.id!r} is disabled")
        if tgt.state == "needs_reboot" and not p.rolling:
            out.append(f"vm {t.key!r}: target {tgt.id!r} needs a reboot and capacity.rolling is false")
    return out


def check_static_capacity(p: Problem, tasks: list[Task]) -> list[str]:
    """Rule 4 under fixed targets: what arrives on each target fits the room it offers (Problem's `room`:
    usable capacity less what stays there from its first arrival on; see the module doc)."""
    index = _host_index(p)
    demand = {t.vm: t.demand for t in p.tasks}
    arriving: dict[int, list[str]] = {}
    for t in tasks:
        if t.kind == "migration" and t.target in index:
            arriving.setdefault(index[t.target], []).append(t.key)
    out = []
    for h, vms in arriving.items():
        host = p.hosts[h]
        for k, r in enumerate(RESOURCES):
            total = sum(demand[v][k] for v in vms)
            if total > host.room[k]:
                out.append(f"rule 4-capacity: host {host.id!r} would receive {total / SCALE:g} {r} in its {len(vms)} "
                           f"arrival(s), more than the {max(0, host.room[k]) / SCALE:g} it has room for; no timing "
                           f"can fix these targets")
    return out


# --------------------------------------------------------------------------- precedences (rules 2, 3)


def reboot_after_evacuation(tasks: list[Task], index_of_reboot: dict[str, int]) -> list[Precedence]:
    """Rule 2: a host reboots no earlier than the end of each migration leaving it."""
    return [Precedence(t.index, index_of_reboot[t.source], "2-reboot")
            for t in tasks if t.kind == "migration"]


def target_after_reboot(tasks: list[Task], index_of_reboot: dict[str, int]) -> list[Precedence]:
    """Rule 3: a migration into a needs_reboot host starts no earlier than that host's reboot end."""
    return [Precedence(index_of_reboot[t.target], t.index, "3-target")
            for t in tasks if t.kind == "migration" and t.target in index_of_reboot]


def _heads_and_tails(problem: FixedTargetsProblem) -> None:
    """Earliest starts and tails by longest paths; a cycle (A's VMs into B after B's reboot and back) is refused."""
    n = len(problem.tasks)
    succ = problem.successors()
    indeg = [0] * n
    for p in problem.precedences:
        indeg[p.after] += 1
    order, ready = [], [i for i in range(n) if indeg[i] == 0]
    while ready:
        i = ready.pop()
        order.append(i)
        for j in succ[i]:
            indeg[j] -= 1
            if indeg[j] == 0:
                ready.append(j)
    if len(order) < n:
        stuck = sorted({problem.tasks[i].source for i in range(n) if indeg[i] > 0})
        raise FixedTargetsRefused([f"rules 2-3: the targets form a cycle of evacuations and reboots among hosts {stuck}"])
    dur = [t.duration for t in problem.tasks]
    earliest, tail = [0] * n, [0] * n
    for i in order:
        for j in succ[i]:
            earliest[j] = max(earliest[j], earliest[i] + dur[i])
    for i in reversed(order):
        for j in succ[i]:
            tail[i] = max(tail[i], dur[j] + tail[j])
    problem.earliest, problem.tail = earliest, tail


# --------------------------------------------------------------------------- cumulatives (rules 5-8)


def concurrency(p: Problem, tasks: list[Task]) -> list[Cumulative]:
    """Rule 5: migrations in progress leaving a host, arriving at a host, touching a rack (once), per datacenter, in all."""
    index = _host_index(p)
    rack = lambda host_id: p.racks[p.hosts[index[host_id]].rack]  # noqa: E731
    families = [
        ("per_source_host", p.per_source_host, lambda t: {t.source}),
        ("per_target_host", p.per_target_host, lambda t: {t.target}),
        ("per_rack", p.per_rack, lambda t: {rack(t.source), rack(t.target)}),
        ("per_datacenter", p.per_datacenter, lambda t: {p.datacenters[p.hosts[index[t.source]].datacenter]}),
        ("global", p.global_limit, lambda t: {"fleet"}),
    ]
    out = []
    for key, limit, groups_of in families:
        if limit is None:
            continue
        groups: dict[str, dict[int, float]] = {}
        for t in tasks:
            if t.kind == "migration":
                for g in groups_of(t):
                    groups.setdefault(g, {})[t.index] = 1.0
        out += [Cumulative("5-concurrency", f"{key} {g}", float(limit), w) for g, w in sorted(groups.items())]
    return out


def bandwidth(p: Problem, tasks: list[Task]) -> list[Cumulative]:
    """Rule 6: Σ migration_gbps of migrations touching a host with bandwidth_gbps ≤ that bandwidth."""
    index = _host_index(p)
    gbps = {t.vm: t.gbps / SCALE for t in p.tasks}
    groups: dict[str, dict[int, float]] = {}
    for t in tasks:
        if t.kind != "migration" or gbps[t.key] <= 0:
            continue
        for h in {t.source, t.target}:
            if p.hosts[index[h]].bandwidth is not None:
                groups.setdefault(h, {})[t.index] = gbps[t.key]
    return [Cumulative("6-bandwidth", f"bandwidth {h}", p.hosts[index[h]].bandwidth / SCALE, w)
            for h, w in sorted(groups.items())]


def conflict(p: Problem, tasks: list[Task], index_of_reboot: dict[str, int]) -> list[Cumulative]:
    """Rule 7: a customer's migrating VMs plus its non-migratable VMs on rebooting hosts ≤ its limit."""
    customer_of = {t.vm: t.customer for t in p.tasks}
    groups: dict[int, dict[int, float]] = {}
    for t in tasks:
        if t.kind == "migration":
            groups.setdefault(customer_of[t.key], {})[t.index] = 1.0
    for h in p.reboot_hosts:
        hd = p.hosts[h]
        r = index_of_reboot[hd.id]
        if tasks[r].duration == 0:
            continue
        for c, n in hd.down_customers:
            g = groups.setdefault(c, {})
            g[r] = g.get(r, 0.0) + float(n)
    out = []
    for c, w in sorted(groups.items(), key=lambda kv: p.customers[kv[0]]):
        limit = p.customer_limits[c]
        if limit is not None:
            out.append(Cumulative("7-conflict", f"customer {p.customers[c]}", float(limit), w))
    return out


def hosts_down_per_rack(p: Problem, tasks: list[Task]) -> list[Cumulative]:
    """Rule 8: hosts rebooting at once in one rack ≤ max_hosts_down_per_rack."""
    limit = p.max_hosts_down_per_rack
    if limit is None:
        return []
    index = _host_index(p)
    groups: dict[str, dict[int, float]] = {}
    for t in tasks:
        if t.kind == "reboot" and t.duration > 0:
            groups.setdefault(p.racks[p.hosts[index[t.key]].rack], {})[t.index] = 1.0
    return [Cumulative("8-hosts-down", f"hosts down in rack {r}", float(limit), w) for r, w in sorted(groups.items())]


# --------------------------------------------------------------------------- a first schedule


def list_schedule(problem: FixedTargetsProblem) -> dict[int, int]:
    """Serial schedule generation: each task, in precedence order (earliest head, longest tail first),
    at the earliest minute where its predecessors are done and every cumulative has room.

    Always succeeds (each task fits alone), so its makespan is a horizon that admits a solution;
    it also serves as the MIP warm start and the CP-SAT hint.
    """
    n = len(problem.tasks)
    dur = [t.duration for t in problem.tasks]
    member_of: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    cums = problem.binding_cumulatives()
    for ci, c in enumerate(cums):
        for i, w in c.weights.items():
            member_of[i].append((ci, w))
    profile: list[dict[int, float]] = [dict() for _ in cums]   # minute -> load
    preds: list[list[int]] = [[] for _ in range(n)]
    indeg = [0] * n
    for p in problem.precedences:
        preds[p.after].append(p.before)
        indeg[p.after] += 1
    succ = problem.successors()
    heap = [(problem.earliest[i], -problem.tail[i], i) for i in range(n) if indeg[i] == 0]
    heapq.heapify(heap)
    starts: dict[int, int] = {}
    while heap:
        _, _, i = heapq.heappop(heap)
        t = max([problem.earliest[i]] + [starts[p] + dur[p] for p in preds[i]])
        while not all(profile[ci].get(m, 0.0) + w <= cums[ci].capacity + EPS
                      for ci, w in member_of[i] for m in range(t, t + dur[i])):
            t += 1
        starts[i] = t
        for ci, w in member_of[i]:
            for m in range(t, t + dur[i]):
                profile[ci][m] = profile[ci].get(m, 0.0) + w
        for j in succ[i]:
            indeg[j] -= 1
            if indeg[j] == 0:
                heapq.heappush(heap, (problem.earliest[j], -problem.tail[j], j))
    return starts


# --------------------------------------------------------------------------- what a formulation returns


@dataclass
class FormulationResult:
    """One solve of the fixed-targets problem by one formulation (for plans and the benchmark)."""

    formulation: str
    status: str                       # optimal | feasible | infeasible | unknown
    makespan: Optional[int]
    bound: Optional[float]            # the solver's proven lower bound on this subproblem
    starts: Optional[dict[int, int]]  # task index -> start minute
    variables: int
    constraints: int
    build_s: float
    solve_s: float
    stopped_by: Optional[str] = None
    cpu_s: Optional[float] = None     # CPU seconds, build included

    @property
    def wall_s(self) -> float:
        return self.build_s + self.solve_s

    @property
    def gap(self) -> Optional[float]:
        if self.makespan is None or self.bound is None or self.makespan <= 0:
            return None
        return max(0.0, (self.makespan - math.ceil(self.bound - 1e-6)) / self.makespan)
