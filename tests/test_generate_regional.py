"""`--regional-customers`: each customer lives in one datacenter, so datacenters decompose."""

from engine.generate import FleetSpec, generate_snapshot
from engine.maintenance.decompose import plan_components
from engine.model import Limits


def test_regional_customers_keep_each_customer_in_one_datacenter_and_datacenters_solve_apart():
    spec = dict(seed=3, datacenters=5, vms=3000)
    snapshot = generate_snapshot(FleetSpec(**spec, regional_customers=True))
    dc_of_host = {h.id: snapshot.rack_by_id[h.rack].datacenter for h in snapshot.hosts}
    homes: dict[str, set] = {}
    for vm in snapshot.vms:
        homes.setdefault(vm.customer, set()).add(dc_of_host[vm.host])
    assert all(len(dcs) == 1 for dcs in homes.values())
    limits = Limits.model_validate({"conflict": {"per_customer": 1}})
    assert len(plan_components(snapshot, limits)) == 5
    spread = generate_snapshot(FleetSpec(**spec))  # the default: customers spread, one coupled component
    assert len(plan_components(spread, limits)) == 1
    assert len(spread.vms) == len(snapshot.vms) and spread.hosts == snapshot.hosts
