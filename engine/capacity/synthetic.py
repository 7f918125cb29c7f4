"""Deterministic synthetic capacity problems: one-year hourly workloads for benchmarks
and small random problems for differential tests against Malloovia."""

from __future__ import annotations

import numpy as np

from engine.capacity.model import App, InstanceClass, LimitingSet, PerformanceSet, Problem, Workload

HOURS_PER_YEAR = 8760


def yearly_workload(seed: int, base: float, daily: float, weekly: float, noise: float, quantum: float = 1.0) -> np.ndarray:
    """Hourly workload for one year: daily and weekly cycles, slow growth, seeded noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(HOURS_PER_YEAR)
    day = np.sin(2 * np.pi * (t % 24 - 8) / 24)
    week = np.where((t // 24) % 7 >= 5, -1.0, 0.3)
    growth = 1 + 0.25 * t / HOURS_PER_YEAR
    w = (base + daily * day + weekly * week) * growth + rng.normal(0, noise, HOURS_PER_YEAR)
    return np.maximum(0, np.round(w / quantum) * quantum)


def _problem(pid: str, apps: list[App], values: list[np.ndarray], classes: list[InstanceClass], perf: dict) -> Problem:
    workloads = tuple(Workload(f"wl_{a.id}", a, tuple(float(v) for v in vals), "h") for a, vals in zip(apps, values))
    return Problem(pid, pid, workloads, tuple(classes), PerformanceSet("perf", "h", perf))


def one_app_year(seed: int = 1) -> Problem:
    """1 app × 2 classes (reserved and on-demand m5.large in one region), 8,760 slots."""
    region = LimitingSet("region", "region", 0, 0)
    res = InstanceClass("m5large_r", "m5.large reserved", (region,), 0, 0.058, "h", True, 2)
    dem = InstanceClass("m5large", "m5.large on demand", (region,), 0, 0.096, "h", False, 2)
    app = App("web", "web")
    w = yearly_workload(seed, base=2600, daily=1500, weekly=400, noise=180)
    return _problem("one_app_year", [app], [w], [res, dem], {(res.id, app.id): 100.0, (dem.id, app.id): 100.0})


def two_apps_year(seed: int = 2) -> Problem:
    """2 apps × 2 classes, 8,760 slots; workloads quantised to give a few thousand levels."""
    region = LimitingSet("region", "region", 0, 0)
    res = InstanceClass("m5large_r", "m5.large reserved", (region,), 0, 0.058, "h", True, 2)
    dem = InstanceClass("m5large", "m5.large on demand", (region,), 0, 0.096, "h", False, 2)
    web, db = App("web", "web"), App("db", "db")
    w1 = yearly_workload(seed, base=2600, daily=1500, weekly=400, noise=150, quantum=20)
    w2 = yearly_workload(seed + 100, base=900, daily=500, weekly=150, noise=60, quantum=20)
    perf = {(res.id, web.id): 100.0, (dem.id, web.id): 100.0, (res.id, db.id): 60.0, (dem.id, db.id): 60.0}
    return _problem("two_apps_year", [web, db], [w1, w2], [res, dem], perf)


def three_apps_24_classes_year(seed: int = 3, zone_max_vms: int = 400) -> Problem:
    """3 apps × 24 classes: 8 VM types reserved in two zones (16) and on demand in the region (8).
    Each zone holds at most `zone_max_vms` VMs (400 does not bind; 100 does)."""
    rng = np.random.default_rng(seed)
    region = LimitingSet("region", "us-east", 0, 0)
    zones = [LimitingSet("zone_a", "us-east-a", zone_max_vms, 0), LimitingSet("zone_b", "us-east-b", zone_max_vms, 0)]
    vm_types = [("t3med", 2, 0.042), ("m5l", 2, 0.096), ("m5xl", 4, 0.192), ("m52xl", 8, 0.384),
                ("c5l", 2, 0.085), ("c5xl", 4, 0.17), ("r5l", 2, 0.126), ("r5xl", 4, 0.252)]
    apps = [App("web", "web"), App("api", "api"), App("db", "db")]
    classes, perf = [], {}
    base_perf = {a.id: rng.uniform(20, 40) for a in apps}
    for name, cores, price in vm_types:
        fit = {a.id: rng.uniform(0.7, 1.3) for a in apps}
        for z in zones:
            ic = InstanceClass(f"{name}_{z.id}_r", f"{name} reserved in {z.name}", (region, z), 0, round(price * 0.62, 4), "h", True, cores)
            classes.append(ic)
            for a in apps:
                perf[(ic.id, a.id)] = round(base_perf[a.id] * cores * fit[a.id], 2)
        ic = InstanceClass(name, f"{name} on demand in {region.name}", (region,), 0, price, "h", False, cores)
        classes.append(ic)
        for a in apps:
            perf[(ic.id, a.id)] = round(base_perf[a.id] * cores * fit[a.id], 2)
    values = [
        yearly_workload(seed + 10 * k, base=b, daily=b * 0.5, weekly=b * 0.15, noise=b * 0.06)
        for k, b in enumerate((6000, 3500, 2000))
    ]
    return _problem("three_apps_24_classes_year", apps, values, classes, perf)


def random_small(seed: int, n_apps: int = 2, n_slots: int = 12) -> Problem:
    """A small random problem (1–2 reserved and 1–2 on-demand classes, random limits)."""
    rng = np.random.default_rng(seed)
    sets = [LimitingSet(f"ls{k}", f"ls{k}", int(rng.choice([0, 0, 30, 60])), int(rng.choice([0, 0, 80, 160]))) for k in range(2)]
    classes = []
    n_res, n_dem = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    for k in range(n_res + n_dem):
        reserved = k < n_res
        base = float(rng.uniform(1, 5))
        classes.append(InstanceClass(
            f"ic{k}", f"class {k}", (sets[int(rng.integers(0, 2))],), int(rng.choice([0, 0, 25, 40])),
            round(base * (0.6 if reserved else 1.0), 2), "h", reserved, int(rng.choice([1, 2, 4])),
        ))
    apps = [App(f"app{k}", f"app {k}") for k in range(n_apps)]
    perf = {(ic.id, a.id): float(rng.integers(5, 40)) for ic in classes for a in apps}
    values = [np.round(rng.uniform(0, 1, n_slots) ** 2 * rng.uniform(50, 400)) for _ in apps]
    return _problem(f"random_{seed}", apps, values, classes, perf)
