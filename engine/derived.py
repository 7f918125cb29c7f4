"""Derived values of FORMATS.md, as the solvers read them.

A VM's migration minutes and Gbps, a customer's conflict limit, a host's usable
capacity: every solver (maintenance and placement), the bounds and the console
read them here. The validator (engine/validate.py) does NOT: it derives its own
from FORMATS.md's text, and tests/test_rules.py checks the two agree on random
fleets, so a mistake here is caught rather than shared.
"""

from __future__ import annotations

import math
from typing import Optional

from engine.model import VM, Host, Limits, Snapshot


def migration_minutes(vm: VM, limits: Limits) -> int:
    """FORMATS.md: explicit value, else max(1, ceil(memory_gb / gb_per_minute))."""
    if vm.migration_minutes is not None:
        return vm.migration_minutes
    return max(1, math.ceil(vm.memory_gb / limits.migration.gb_per_minute - 1e-9))


def migration_gbps(vm: VM, limits: Limits) -> float:
    return vm.migration_gbps if vm.migration_gbps is not None else limits.migration.default_gbps


def customer_limit(customer_id: str, snapshot: Snapshot, limits: Limits) -> Optional[int]:
    """Per-customer conflict limit, first found (FORMATS.md); None means no limit."""
    conflict = limits.conflict
    if customer_id in conflict.overrides:
        return conflict.overrides[customer_id]
    customer = snapshot.customer_by_id.get(customer_id)
    if customer is not None and customer.max_concurrent_migrations is not None:
        return customer.max_concurrent_migrations
    if conflict.per_customer_fraction is not None:
        count = snapshot.vm_count_by_customer.get(customer_id, 0)
        return max(1, math.floor(conflict.per_customer_fraction * count + 1e-9))
    return conflict.per_customer


def usable_capacity(host: Host, resource: str, limits: Limits) -> float:
    """capacity × (1 − headroom)."""
    return host.capacity(resource) * (1.0 - getattr(limits.capacity.headroom, resource))
