"""The rules table (engine/rules.py) and the validator's independence from the solvers.

* every FORMATS rule 1-9 names a function in every component, and each one exists;
* every validator rule check, CP-SAT rule method and bound family is in the table;
* the validator imports no solver code (only the document models), and its own derived values
  (FORMATS.md's text) agree with the solvers' `engine.derived` on random fleets.
"""

from __future__ import annotations

import ast
import inspect
import random
from pathlib import Path

import pytest

from engine import derived
from engine import validate as validator
from engine.generate import FleetSpec, generate_snapshot
from engine.model import RESOURCES, Limits, Snapshot
from engine.rules import COMPONENTS, IMPLEMENTED_BY, RULES, resolve


def test_every_rule_has_every_component():
    assert sorted(RULES) == list(range(1, 10))
    assert sorted(IMPLEMENTED_BY) == sorted(RULES)
    for rule, by_component in IMPLEMENTED_BY.items():
        missing = [c for c in COMPONENTS if not by_component.get(c)]
        assert not missing, f"rule {rule} has no implementation named for {missing}"
        assert set(by_component) <= set(COMPONENTS), f"rule {rule}: unknown component"


@pytest.mark.parametrize("entry", sorted({e for by in IMPLEMENTED_BY.values() for es in by.values() for e in es}))
def test_every_named_function_exists(entry):
    obj = resolve(entry)
    assert callable(obj), entry


def _named() -> set[object]:
    return {resolve(e) for by in IMPLEMENTED_BY.values() for es in by.values() for e in es}


def test_the_table_covers_every_check_model_rule_and_bound_family():
    from engine.maintenance import bounds, cpsat

    named = _named()
    assert [f for f in validator.RULES if f not in named] == []
    assert [f for f in bounds.FAMILIES if f not in named] == []
    cp_methods = [getattr(cpsat.Constraints, n) for n in dir(cpsat.Constraints) if n.startswith("add_")
                  and n != "add_constraints"]
    assert [m.__name__ for m in cp_methods if m not in named] == []


def test_rule_tagged_components_name_the_rule_they_implement():
    """CP-SAT's and the MIPs' rule methods and the validator's checks say "Rule N" in their docstring."""
    for rule, by_component in IMPLEMENTED_BY.items():
        for component in ("cpsat", "validate", "mip_time_indexed", "mip_continuous"):
            for entry in by_component[component]:
                if not (".Constraints.add_" in entry or ":check_" in entry or ":Rules.add_" in entry):
                    continue
                doc = inspect.getdoc(resolve(entry)) or ""
                assert f"Rule {rule}" in doc or f"Rules {rule}" in doc, (rule, entry, doc)


def test_heuristic_blocks_carry_their_rule():
    from engine.maintenance.heuristic import RULE_OF_LIMIT, Blocked

    assert Blocked("per_rack", 3).rule == 5 and Blocked("bandwidth", 1).rule == 6
    assert Blocked("conflict", 0).rule == 7 and Blocked("max_hosts_down_per_rack", 2).rule == 8
    assert set(RULE_OF_LIMIT.values()) == {5, 6, 7, 8}


# ---------------------------------------------------------------- the validator shares no solver code


def test_the_validator_imports_only_document_models():
    tree = ast.parse(Path(validator.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    engine_modules = {m for m in imported if m.startswith("engine")}
    assert engine_modules <= {"engine.model", "engine.violations", "engine.validate_placement"}, engine_modules


def _random_fleet(rng: random.Random) -> tuple[Snapshot, Limits]:
    spec = FleetSpec(seed=rng.randrange(10_000), vms=rng.randrange(20, 200), customers=rng.randrange(1, 25),
                     racks_per_datacenter=rng.randrange(1, 4), reboot_fraction=rng.random())
    doc = generate_snapshot(spec).model_dump(mode="json", by_alias=True)
    for c in doc["customers"]:
        if rng.random() < 0.3:
            c["max_concurrent_migrations"] = rng.randrange(0, 5)
    for v in doc["vms"]:
        v["memory_gb"] = round(rng.uniform(0, 64), rng.choice([0, 1, 2, 3]))
        v["migration_minutes"] = rng.choice([None, None, rng.randrange(1, 90)])
        v["migration_gbps"] = rng.choice([None, None, round(rng.uniform(0, 10), 2)])
    for h in doc["hosts"]:
        for r in RESOURCES:
            h[r] = round(rng.uniform(0.5, 1024), rng.choice([0, 1, 3]))
    limits = {
        "migration": {"gb_per_minute": rng.choice([0.5, 1.0, 1.5, 2.0, 2.2, 3.3, 7.0]),
                      "default_gbps": rng.choice([0.5, 1.0, 2.5])},
        "capacity": {"headroom": {r: rng.choice([0.0, 0.05, 0.1, 0.15, 0.3, 0.33]) for r in RESOURCES}},
        "conflict": {"per_customer": rng.choice([None, 0, 1, 2]),
                     "per_customer_fraction": rng.choice([None, 0.05, 0.1, 0.3, 0.57, 0.7, 1.0]),
                     "overrides": {c["id"]: rng.randrange(0, 4) for c in doc["customers"] if rng.random() < 0.2}},
    }
    return Snapshot.model_validate(doc), Limits.model_validate(limits)


@pytest.mark.parametrize("seed", range(25))
def test_solver_and_validator_derive_the_same_values(seed):
    """Two independent implementations of FORMATS.md's derived values agree on random fleets."""
    fleet, lim = _random_fleet(random.Random(seed))
    for vm in fleet.vms:
        assert derived.migration_minutes(vm, lim) == validator.migration_minutes(vm, lim), vm
        assert derived.migration_gbps(vm, lim) == validator.migration_gbps(vm, lim), vm
    theirs = validator.customer_limits(fleet, lim)
    customers = {c.id for c in fleet.customers} | {v.customer for v in fleet.vms}
    assert set(theirs) == customers
    for cid in customers:
        assert derived.customer_limit(cid, fleet, lim) == theirs[cid], cid
    for host in fleet.hosts:
        for r in RESOURCES:
            assert derived.usable_capacity(host, r, lim) == pytest.approx(validator.usable_capacity(host, r, lim),
                                                                          rel=1e-12, abs=1e-12), (host.id, r)


@pytest.mark.parametrize("module", ["bounds", "explain", "fixed_targets", "heuristic", "cpsat"])
def test_solver_components_read_the_one_problem_view(module):
    """Bounds, explanations and the fixed-target MIPs consume problem.Problem: they never re-derive
    minutes, Gbps, customer limits or room from the documents (only problem.py reads engine.derived)."""
    tree = ast.parse((Path(validator.__file__).parent / "maintenance" / f"{module}.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert "engine.derived" not in imported
