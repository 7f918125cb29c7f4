"""The fleet as an execution has left it: the snapshot a next plan starts from."""

from __future__ import annotations

from engine.execution.state import Execution
from engine.model import Snapshot


def fleet_after(snapshot: Snapshot, execution: Execution, *, count_in_progress: bool = False) -> Snapshot:
    """`snapshot` with every done migration's VM on its target and every rebooted host active
    (`count_in_progress`: in-progress actions as if done — the fleet once they have ended)."""
    over = ("done", "in_progress") if count_in_progress else ("done",)
    moved, rebooted = {}, set()
    for aid, p in execution.planned.items():
        if execution.actions[aid].state in over:
            if p.kind == "migrate":
                moved[p.subject] = p.target
            else:
                rebooted.add(p.subject)
    data = snapshot.model_dump(mode="json", by_alias=True, exclude_none=True)
    for vm in data["vms"]:
        if vm["id"] in moved:
            vm["host"] = moved[vm["id"]]
    for h in data["hosts"]:
        if h["id"] in rebooted:
            h["state"] = "active"
    return Snapshot.model_validate(data)
