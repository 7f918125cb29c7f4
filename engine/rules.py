"""Where each rule of FORMATS.md ("What a valid maintenance plan satisfies") lives, per component.

The rules are written six times on purpose: two exact models, two MIP
formulations (sharing `formulation.Rules` and the fixed-targets checks), a
constructive heuristic, the lower bounds (relaxations), and the independent
validator that trusts none of them. This table says where, so a change to a rule
in FORMATS.md can be carried to every place; tests/test_rules.py checks that no
component lacks a rule and that every function named here exists.

An entry is "module:qualified.name". Module paths are relative to `engine.`.
"""

from __future__ import annotations

RULES: dict[int, str] = {
    1: "every migratable VM on a needs_reboot host migrates exactly once, from that host, for its minutes",
    2: "every needs_reboot host reboots once, for its reboot_minutes, after each migration leaving it",
    3: "a target is in the source's datacenter, not the source, not disabled; a needs_reboot target only "
       "after its reboot (rolling)",
    4: "capacity × (1 − headroom) on every host from its first arrival on",
    5: "concurrency: per source host, per target host, per rack, per datacenter, global",
    6: "bandwidth: Σ migration_gbps touching a host ≤ its bandwidth_gbps",
    7: "conflict: a customer's migrating VMs plus its non-migratable VMs on rebooting hosts ≤ its limit",
    8: "hosts rebooting at once in one rack ≤ max_hosts_down_per_rack",
    9: "makespan = the latest end; lower_bound ≤ makespan",
}

COMPONENTS: tuple[str, ...] = ("cpsat", "heuristic", "mip_time_indexed", "mip_continuous", "validate", "bounds")

_CP = "maintenance.cpsat:Constraints."
_H = "maintenance.heuristic:"
_F = "maintenance.formulation:Rules."
_FT = "maintenance.fixed_targets:"
_V = "validate:"
_B = "maintenance.bounds:"

IMPLEMENTED_BY: dict[int, dict[str, tuple[str, ...]]] = {
    1: {
        "cpsat": (_CP + "add_migrate_once",),
        "heuristic": (_H + "_Pass._open_one", _H + "_Pass.pack"),
        "mip_time_indexed": (_FT + "_tasks", "maintenance.mip_time_indexed:TimeIndexedModel.add_one_start"),
        "mip_continuous": (_FT + "_tasks",),  # one start variable per task
        "validate": (_V + "check_migrate_once", _V + "migration_minutes"),
        "bounds": (_B + "_Facts",),  # the movers every family counts
    },
    2: {
        "cpsat": (_CP + "add_reboot_after_evacuation",),
        "heuristic": (_H + "_Pass._finish_due", _H + "_Pass._start_reboots"),
        "mip_time_indexed": (_FT + "reboot_after_evacuation", _F + "add_reboot_after_evacuation"),
        "mip_continuous": (_FT + "reboot_after_evacuation", _F + "add_reboot_after_evacuation"),
        "validate": (_V + "check_reboots",),
        "bounds": (_B + "source_host_bound",),
    },
    3: {
        "cpsat": (_CP + "add_target_rules", "maintenance.problem:Problem.can_target"),
        "heuristic": ("maintenance.problem:build_problem", _H + "_Pass.pack", _H + "_Pass._finish_due"),
        "mip_time_indexed": (_FT + "check_targets", _FT + "target_after_reboot", _F + "add_target_after_reboot"),
        "mip_continuous": (_FT + "check_targets", _FT + "target_after_reboot", _F + "add_target_after_reboot"),
        "validate": (_V + "check_targets",),
        "bounds": (_B + "target_hosts_bound", _B + "rebooted_target_bound"),
    },
    4: {
        "cpsat": (_CP + "add_capacity", "maintenance.problem:build_problem"),
        "heuristic": (_H + "_Pass.pack",),
        "mip_time_indexed": (_FT + "check_static_capacity",),
        "mip_continuous": (_FT + "check_static_capacity",),
        "validate": (_V + "check_capacity", _V + "usable_capacity"),
        "bounds": (_B + "rebooted_target_bound",),
    },
    5: {
        "cpsat": (_CP + "add_concurrency",),
        "heuristic": (_H + "_Running.start_migration",),
        "mip_time_indexed": (_FT + "concurrency", _F + "add_concurrency"),
        "mip_continuous": (_FT + "concurrency", _F + "add_concurrency"),
        "validate": (_V + "check_concurrency",),
        "bounds": (_B + "source_host_bound", _B + "rack_bound", _B + "datacenter_bound", _B + "fleet_bound",
                   _B + "target_hosts_bound"),
    },
    6: {
        "cpsat": (_CP + "add_bandwidth",),
        "heuristic": (_H + "_Running.start_migration",),
        "mip_time_indexed": (_FT + "bandwidth", _F + "add_bandwidth"),
        "mip_continuous": (_FT + "bandwidth", _F + "add_bandwidth"),
        "validate": (_V + "check_bandwidth", _V + "migration_gbps"),
        "bounds": (_B + "source_bandwidth_bound", _B + "target_bandwidth_bound"),
    },
    7: {
        "cpsat": (_CP + "add_conflict",),
        "heuristic": (_H + "_Running.start_migration", _H + "_Running.reboot_blocked"),
        "mip_time_indexed": (_FT + "conflict", _F + "add_conflict"),
        "mip_continuous": (_FT + "conflict", _F + "add_conflict"),
        "validate": (_V + "check_conflict", _V + "customer_limits"),
        "bounds": (_B + "customer_bound",),
    },
    8: {
        "cpsat": (_CP + "add_hosts_down",),
        "heuristic": (_H + "_Running.reboot_blocked",),
        "mip_time_indexed": (_FT + "hosts_down_per_rack", _F + "add_hosts_down_per_rack"),
        "mip_continuous": (_FT + "hosts_down_per_rack", _F + "add_hosts_down_per_rack"),
        "validate": (_V + "check_hosts_down",),
        "bounds": (_B + "hosts_down_bound", _B + "rack_sequence_bound", _B + "rack_drain_bound"),
    },
    9: {
        "cpsat": (_CP + "add_makespan",),
        "heuristic": ("maintenance.schedule:Schedule.makespan",),
        "mip_time_indexed": (_F + "add_makespan",),
        "mip_continuous": (_F + "add_makespan",),
        "validate": (_V + "check_makespan",),
        "bounds": ("maintenance.bound_check:settle",),  # a bound above a valid plan's makespan is refuted
    },
}


def resolve(entry: str):
    """The object an entry names (imports its module)."""
    import importlib

    module, _, qualname = entry.partition(":")
    obj = importlib.import_module("engine." + module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj
