"""Deterministic data for the console tests: a small fleet, a fixed maintenance plan built by
a simple list schedule (not a solver), a placement plan, and runs with fixed timestamps."""

from __future__ import annotations

from typing import Optional

from engine.model import (
    VM,
    Assignment,
    Customer,
    Datacenter,
    Host,
    Limits,
    MaintenancePlan,
    Migration,
    PlacementPlan,
    Rack,
    Reboot,
    Snapshot,
    SolverInfo,
)

T0 = 1_790_000_000.0  # fixed "created at" of every fixture run


def small_fleet(racks: int = 3, hosts_per_rack: int = 4, vms_per_host: int = 5) -> Snapshot:
    customers = [Customer(id=f"cust-{c}") for c in "abcdef"]
    dcs = [Datacenter(id="dc1")]
    rack_list, hosts, vms = [], [], []
    n = 0
    for r in range(1, racks + 1):
        rack = f"dc1-r{r:02d}"
        rack_list.append(Rack(id=rack, datacenter="dc1"))
        for h in range(1, hosts_per_rack + 1):
            host = f"{rack}-h{h:02d}"
            state = "needs_reboot" if h == 1 else ("disabled" if (r, h) == (3, 4) else "active")
            hosts.append(Host(id=host, rack=rack, cpu=64, memory_gb=512, disk_gb=4000, state=state,
                              reboot_minutes=15))
            for k in range(vms_per_host if h != 2 else 2):
                n += 1
                vms.append(VM(id=f"vm-{n:04d}", host=host, customer=customers[(n * 7) % len(customers)].id,
                              cpu=2 + (n % 4) * 2, memory_gb=8 * (1 + n % 5), disk_gb=50 + 10 * (n % 3),
                              migration_minutes=5 + (n % 4) * 5, migratable=(n % 17 != 0)))
    for p in range(4):
        n += 1
        vms.append(VM(id=f"vm-{n:04d}", host=None, customer=customers[p].id, cpu=4, memory_gb=16, disk_gb=100))
    return Snapshot(name="console-fixture", datacenters=dcs, racks=rack_list, hosts=hosts,
                    customers=customers, vms=vms)


def list_schedule(snapshot: Snapshot, per_source: int = 2, stretch: int = 0) -> MaintenancePlan:
    """Evacuate each rebooting host with `per_source` lanes to the active hosts in turn, then reboot."""
    targets = [h.id for h in snapshot.hosts if h.state == "active"]
    migrations, reboots = [], []
    t_index = 0
    host_start = 0
    for host in snapshot.hosts:
        if host.state != "needs_reboot":
            continue
        lanes = [host_start] * per_source
        for vm in snapshot.vms_by_host.get(host.id, []):
            if not vm.migratable:
                continue
            lane = min(range(per_source), key=lambda i: lanes[i])
            start = lanes[lane]
            end = start + (vm.migration_minutes or 10) + stretch
            migrations.append(Migration(vm=vm.id, source=host.id, target=targets[t_index % len(targets)],
                                        start=start, end=end))
            t_index += 1
            lanes[lane] = end
        done = max(lanes)
        reboots.append(Reboot(host=host.id, start=done, end=done + host.reboot_minutes))
        host_start = done // 2
    makespan = max([r.end for r in reboots] + [m.end for m in migrations], default=0)
    return MaintenancePlan(status="feasible", makespan=makespan, lower_bound=int(makespan * 0.8),
                           migrations=migrations, reboots=reboots, solver=SolverInfo(name="fixture", wall_s=0.5))


def big_plan(migrations: int = 10_000, hosts: int = 500, per_source: int = 2) -> tuple[Snapshot, MaintenancePlan]:
    """A synthetic plan with `migrations` bars over `hosts` source hosts (benchmarks, smoothness tests)."""
    customers = [Customer(id=f"c{i:03d}") for i in range(50)]
    racks = [Rack(id=f"r{i:03d}", datacenter="dc1") for i in range(max(1, hosts // 10))]
    host_list, vms, moves, reboots = [], [], [], []
    per_host = max(1, migrations // hosts)
    targets = [f"t{i:04d}" for i in range(hosts)]
    for i in range(hosts):
        host_list.append(Host(id=f"h{i:04d}", rack=racks[i % len(racks)].id, cpu=64, memory_gb=512, disk_gb=4000,
                              state="needs_reboot"))
        host_list.append(Host(id=targets[i], rack=racks[i % len(racks)].id, cpu=64, memory_gb=512, disk_gb=4000))
    n = 0
    for i in range(hosts):
        lanes = [(i * 37) % 600] * per_source
        for k in range(per_host):
            if n >= migrations:
                break
            vm_id = f"vm{n:06d}"
            vms.append(VM(id=vm_id, host=f"h{i:04d}", customer=customers[n % 50].id, cpu=1, memory_gb=4, disk_gb=10,
                          migration_minutes=3 + n % 11))
            lane = k % per_source
            start = lanes[lane]
            end = start + 3 + n % 11
            lanes[lane] = end
            moves.append(Migration(vm=vm_id, source=f"h{i:04d}", target=targets[(i + 1 + k) % hosts],
                                   start=start, end=end))
            n += 1
        done = max(lanes)
        reboots.append(Reboot(host=f"h{i:04d}", start=done, end=done + 10))
    snap = Snapshot.model_construct(name="big", datacenters=[Datacenter(id="dc1")], racks=racks, hosts=host_list,
                                    customers=customers, vms=vms)
    makespan = max(r.end for r in reboots)
    plan = MaintenancePlan(status="feasible", makespan=makespan, lower_bound=makespan // 2, migrations=moves,
                           reboots=reboots, solver=SolverInfo(name="synthetic"))
    return snap, plan


def placement_for(snapshot: Snapshot) -> PlacementPlan:
    active = [h.id for h in snapshot.hosts if h.state == "active"]
    pending = [v for v in snapshot.vms if v.host is None]
    return PlacementPlan(status="optimal", objective="min_hosts", value=2, lower_bound=2,
                         assignments=[Assignment(vm=v.id, host=active[i % 2]) for i, v in enumerate(pending)],
                         solver=SolverInfo(name="ffd", wall_s=0.01))


def small_fleet_key() -> str:
    """The runs store's input key of small_fleet(): the sha256 of its canonical JSON."""
    from engine.fingerprint import sha256_of

    return sha256_of(small_fleet())


def run_view(run_id: int, kind: str, status: str, plan: Optional[dict], *, solver: str = "cp-sat",
             objective: Optional[float] = None, bound: Optional[float] = None, error: Optional[str] = None,
             minutes_ago: float = 0, input_key: Optional[str] = None, limits: Optional[dict] = None,
             limits_name: Optional[str] = None):
    from console.store.runs import RunView

    created = T0 + run_id * 60
    if input_key is None:
        input_key = small_fleet_key() if kind != "capacity" else "capacity-problem"
    return RunView(
        id=run_id, kind=kind, status=status, schedule_id=None, input_key=input_key, input_name="console-fixture",
        limits_name=limits_name, options={"solver": solver, "time_limit_s": 30}, created_at=created,
        started_at=created + 1, finished_at=None if status in ("queued", "running") else created + 13.5,
        heartbeat_at=None, worker_pid=None, worker_host=None, executor_pid=None, cancel_requested=False,
        plan_status=(plan or {}).get("status"), objective=objective, lower_bound=bound, error=error, plan=plan,
        limits=limits,
    )


def capacity_plan() -> dict:
    """A Phase II solution in Malloovia's shape: 4 slots × 2 apps × 3 instance classes."""
    classes = [{"id": "m3large_r"}, {"id": "m3large"}, {"id": "m4xlarge"}]
    apps = [{"id": "web"}, {"id": "db"}]
    loads = [[30, 10], [45, 12], [80, 15], [30, 10]]
    counts = [[[3, 0, 0], [1, 0, 0]], [[3, 2, 0], [1, 0, 0]], [[3, 2, 2], [1, 1, 0]], [[3, 0, 0], [1, 0, 0]]]
    return {"status": "optimal", "cost": 41.5, "phase": "ii", "Solutions": [{
        "id": "solution_phase_ii_example", "solving_stats": [
            {"status": s} for s in ("optimal", "optimal", "overfull", "optimal")],
        "allocation": {"instance_classes": classes, "apps": apps, "workload_tuples": loads,
                       "repeats": [1, 1, 1, 1], "vms_number": counts}}]}


def capacity_slots_plan() -> dict:
    """A stored capacity run (engine.capacity.result, Phase II): 6 slots, 2 apps, one reserved class."""
    loads = [(30, 10), (45, 12), (80, 15), (120, 20), (60, 14), (30, 10)]
    slots = []
    for t, (web, db) in enumerate(loads):
        od_web = max(0, (web - 30) // 15)
        slots.append({"slot": t, "workload": [web, db], "status": "optimal" if t != 3 else "overfull",
                      "cost": 12.0 + 2.5 * od_web + (1.5 if db > 12 else 0), "served": [web, db],
                      "vms": {"web": {"m3large_r": 3, **({"m3large": od_web} if od_web else {})},
                              "db": {"m3large_r": 1, **({"m4xlarge": 1} if db > 12 else {})}}})
    return {"version": 1, "kind": "capacity", "phase": "ii", "problem": "example", "status": "optimal",
            "cost": sum(s["cost"] for s in slots), "reserved": {"m3large_r": 4},
            "slot_statuses": [s["status"] for s in slots], "slots": slots,
            "solver": {"name": "highs", "wall_s": 0.4}}


def fixture_data():
    """MemoryData with the fleet, two maintenance runs, a placement run and a failed one."""
    from console.console_data import MemoryData

    snap = small_fleet()
    a = list_schedule(snap, per_source=2)
    b = list_schedule(snap, per_source=1, stretch=2)
    p = placement_for(snap)
    dump = lambda plan: plan.model_dump(mode="json", by_alias=True, exclude_none=True)  # noqa: E731
    runs = [
        run_view(1, "maintenance", "succeeded", dump(a), objective=a.makespan, bound=a.lower_bound),
        run_view(2, "maintenance", "succeeded", dump(b), solver="heuristic", objective=b.makespan,
                 bound=b.lower_bound, limits={"concurrency": {"per_source_host": 1}}, limits_name="night"),
        run_view(3, "placement", "succeeded", dump(p), solver="ffd", objective=p.value, bound=p.lower_bound),
        run_view(4, "maintenance", "failed", None, solver="mip-continuous",
                 error="no plan found within the time limit (solver status 'unknown')"),
    ]
    runs.append(run_view(5, "capacity", "succeeded", capacity_slots_plan(), solver="phase ii",
                         objective=capacity_slots_plan()["cost"]))
    limit_sets = {"night": Limits.model_validate({"concurrency": {"per_source_host": 3}})}
    return MemoryData(snap, runs, limit_sets=limit_sets, label="fixture.db"), snap, a, b
