"""Domain types: the snapshot, limits and plan documents of FORMATS.md (version 1).

Pydantic models mirror the JSON contract field for field; unknown keys are
errors. Derived values (a VM's migration minutes, a customer's conflict limit,
a host's usable capacity) are not here: the solvers read them from
`engine.derived`, and the validator derives its own from FORMATS.md
(`engine.validate`), so one mistake cannot hide on both sides.
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Annotated, Literal, Optional, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

RESOURCES: tuple[str, ...] = ("cpu", "memory_gb", "disk_gb")


def _json_number(expected: str):
    """JSON numbers only: pydantic's lax mode would read true as 1 and "4" as 4. NaN (JSON `NaN`,
    YAML `.nan`) is "not a number" rather than a failed comparison; an integer beyond a float's
    range is "too large" (±Infinity and large values are the cross-record checks' business,
    `engine.checks`, so that every problem of a document is listed at once)."""

    def check(value):
        if isinstance(value, (bool, str)):
            kind = "a boolean" if isinstance(value, bool) else "a string"
            raise PydanticCustomError("number_type", "Input should be a valid {expected}, not {kind} {shown}",
                                      {"expected": expected, "kind": kind, "shown": repr(value)[:40]})
        if isinstance(value, float) and math.isnan(value):
            raise PydanticCustomError("not_a_number", "Input is not a number (NaN)")
        if isinstance(value, int) and abs(value) > 1e308:
            raise PydanticCustomError("number_too_large", "Input is too large ({digits} digits)", {"digits": len(str(abs(value)))})
        return value

    return BeforeValidator(check)


def _json_bool(value):
    """JSON true/false only: pydantic's lax mode would read "no", "off", 0 and 1 as booleans."""
    if not isinstance(value, bool):
        raise PydanticCustomError("bool_type", "Input should be true or false, got {shown}", {"shown": repr(value)[:40]})
    return value


Number = _json_number("number")
Integer = _json_number("integer")
Bool = Annotated[bool, BeforeValidator(_json_bool)]
Id = Annotated[str, Field(min_length=1)]
NonNeg = Annotated[float, Field(ge=0), Number]
PosInt = Annotated[int, Field(ge=1), Integer]
NonNegInt = Annotated[int, Field(ge=0), Integer]
Fraction = Annotated[float, Field(ge=0, lt=1), Number]


class Strict(BaseModel):
    """Base for every document type: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# --------------------------------------------------------------------------- snapshot


class Datacenter(Strict):
    id: Id
    name: Optional[str] = None


class Rack(Strict):
    id: Id
    datacenter: Id


HostState = Literal["active", "needs_reboot", "disabled"]


class Host(Strict):
    id: Id
    rack: Id
    cpu: NonNeg
    memory_gb: NonNeg
    disk_gb: NonNeg
    state: HostState = "active"
    reboot_minutes: NonNegInt = 10
    bandwidth_gbps: Optional[NonNeg] = None

    def capacity(self, resource: str) -> float:
        return float(getattr(self, resource))


class Customer(Strict):
    id: Id
    name: Optional[str] = None
    max_concurrent_migrations: Optional[NonNegInt] = None


class VM(Strict):
    id: Id
    host: Optional[Id] = None
    customer: Id
    cpu: NonNeg
    memory_gb: NonNeg
    disk_gb: NonNeg
    migration_minutes: Optional[PosInt] = None
    migration_gbps: Optional[NonNeg] = None
    migratable: Bool = True

    def demand(self, resource: str) -> float:
        return float(getattr(self, resource))


class Snapshot(Strict):
    """A fleet at one moment. Cross-record checks live in `engine.checks`."""

    version: Literal[1] = 1
    name: str = ""
    # Every collection must be present (possibly empty): a missing "vms" key is a
    # typo far more often than an intentionally empty fleet.
    datacenters: list[Datacenter]
    racks: list[Rack]
    hosts: list[Host]
    customers: list[Customer]
    vms: list[VM]

    # Lookups below are cached: treat a Snapshot as immutable once built.

    @cached_property
    def host_by_id(self) -> dict[str, Host]:
        return {h.id: h for h in self.hosts}

    @cached_property
    def rack_by_id(self) -> dict[str, Rack]:
        return {r.id: r for r in self.racks}

    @cached_property
    def customer_by_id(self) -> dict[str, Customer]:
        return {c.id: c for c in self.customers}

    @cached_property
    def vm_by_id(self) -> dict[str, VM]:
        return {v.id: v for v in self.vms}

    @cached_property
    def vms_by_host(self) -> dict[str, list[VM]]:
        out: dict[str, list[VM]] = {h.id: [] for h in self.hosts}
        for v in self.vms:
            if v.host is not None:
                out.setdefault(v.host, []).append(v)
        return out

    @cached_property
    def vm_count_by_customer(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for v in self.vms:
            out[v.customer] = out.get(v.customer, 0) + 1
        return out

    def datacenter_of(self, host_id: str) -> str:
        return self.rack_by_id[self.host_by_id[host_id].rack].datacenter

    def rack_of(self, host_id: str) -> str:
        return self.host_by_id[host_id].rack


# --------------------------------------------------------------------------- limits


class Headroom(Strict):
    cpu: Fraction = 0.0
    memory_gb: Fraction = 0.0
    disk_gb: Fraction = 0.0


class CapacityLimits(Strict):
    headroom: Headroom = Field(default_factory=Headroom)
    rolling: Bool = True


class ConcurrencyLimits(Strict):
    per_source_host: Optional[NonNegInt] = None
    per_target_host: Optional[NonNegInt] = None
    per_rack: Optional[NonNegInt] = None
    per_datacenter: Optional[NonNegInt] = None
    global_: Optional[NonNegInt] = Field(default=None, alias="global")
    max_hosts_down_per_rack: Optional[NonNegInt] = None


class ConflictLimits(Strict):
    per_customer: Optional[NonNegInt] = None
    per_customer_fraction: Optional[Annotated[float, Field(ge=0, le=1), Number]] = None
    overrides: dict[str, NonNegInt] = Field(default_factory=dict)


class MigrationLimits(Strict):
    gb_per_minute: Annotated[float, Field(gt=0), Number] = 2.0
    default_gbps: NonNeg = 1.0


class PlacementLimits(Strict):
    objective: Literal["min_hosts", "balance"] = "min_hosts"
    max_vms_per_customer_per_host: Optional[PosInt] = None


class SolveLimits(Strict):
    time_limit_s: Annotated[float, Field(gt=0), Number] = 30
    workers: Optional[PosInt] = None  # None: all cores
    seed: NonNegInt = 0


class Limits(Strict):
    capacity: CapacityLimits = Field(default_factory=CapacityLimits)
    concurrency: ConcurrencyLimits = Field(default_factory=ConcurrencyLimits)
    conflict: ConflictLimits = Field(default_factory=ConflictLimits)
    migration: MigrationLimits = Field(default_factory=MigrationLimits)
    placement: PlacementLimits = Field(default_factory=PlacementLimits)
    solve: SolveLimits = Field(default_factory=SolveLimits)

    def to_json_dict(self) -> dict:
        return self.model_dump(mode="json", by_alias=True)


# --------------------------------------------------------------------------- plans

PlanStatus = Literal["optimal", "feasible", "infeasible", "unknown"]


class SolverInfo(Strict):
    name: str
    wall_s: NonNeg = 0.0


class Migration(Strict):
    vm: Id
    source: Id
    target: Id
    start: NonNegInt
    end: NonNegInt


class Reboot(Strict):
    host: Id
    start: NonNegInt
    end: NonNegInt


class PlanInputs(Strict):
    """What a plan was made from (FORMATS.md `inputs`): never shown or approved against another fleet."""

    snapshot_id: Optional[NonNegInt] = None
    snapshot_sha256: Optional[str] = None
    limits_sha256: Optional[str] = None


class ExecutionState(Strict):
    """A continuation's `execution` section (FORMATS.md): the facts a replan kept."""

    now: NonNegInt
    done: list[Id] = Field(default_factory=list)
    in_progress: list[Id] = Field(default_factory=list)
    failed: list[Id] = Field(default_factory=list)
    changed: NonNegInt = 0


class MaintenancePlan(Strict):
    version: Literal[1] = 1
    kind: Literal["maintenance"] = "maintenance"
    status: PlanStatus
    makespan: Optional[NonNegInt] = None
    lower_bound: Optional[NonNegInt] = None
    migrations: list[Migration] = Field(default_factory=list)
    reboots: list[Reboot] = Field(default_factory=list)
    solver: SolverInfo
    explanation: Optional[str] = None
    inputs: Optional[PlanInputs] = None
    execution: Optional[ExecutionState] = None
    notes: Optional[list[str]] = None  # what the operator should know (a dropped bound, a fallback)

    def runbook(self) -> list[Migration]:
        """Migrations in execution order (start, then VM id)."""
        return sorted(self.migrations, key=lambda m: (m.start, m.end, m.vm))


class Assignment(Strict):
    vm: Id
    host: Id


class Move(Strict):
    """A rebalance move: an existing VM changes host."""

    vm: Id
    source: Id
    target: Id


class PlacementPlan(Strict):
    version: Literal[1] = 1
    kind: Literal["placement"] = "placement"
    status: PlanStatus
    objective: Literal["min_hosts", "balance", "rebalance"] = "min_hosts"
    value: Optional[Annotated[float, Number]] = None
    lower_bound: Optional[Annotated[float, Number]] = None
    assignments: list[Assignment] = Field(default_factory=list)
    moves: list[Move] = Field(default_factory=list)
    solver: SolverInfo
    explanation: Optional[str] = None
    inputs: Optional[PlanInputs] = None
    notes: Optional[list[str]] = None


Plan = Annotated[Union[MaintenancePlan, PlacementPlan], Field(discriminator="kind")]


class PlanDocument(Strict):
    """Wrapper used to parse either plan kind and to publish one schema."""

    plan: Plan


def parse_plan(data: dict) -> MaintenancePlan | PlacementPlan:
    return PlanDocument.model_validate({"plan": data}).plan


def schema_of(kind: str) -> dict:
    """JSON Schema of `snapshot`, `limits` or `plan` (both plan kinds)."""
    if kind == "snapshot":
        return Snapshot.model_json_schema(by_alias=True)
    if kind == "limits":
        return Limits.model_json_schema(by_alias=True)
    if kind == "plan":
        from pydantic import TypeAdapter

        return TypeAdapter(Plan).json_schema(by_alias=True)
    raise ValueError(f"unknown schema {kind!r}: choose snapshot, limits or plan")
