"""Runs INSIDE the Malloovia venv (PuLP 2.0): solve one problem, print one JSON line.

argv[1] is a JSON object: file, problem, phase ("i" or "ii"), relaxed, stwp_problem,
reserved ({class id: count} to use instead of Malloovia's own Phase I counts).
"""

import json
import resource
import sys
import time


def cpu_seconds():
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # CBC runs as a child process
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main():
    args = json.loads(sys.argv[1])
    from malloovia import PhaseI, PhaseII, util
    from malloovia.solution_model import ReservedAllocation

    problems = util.read_problems_from_yaml(args["file"])
    problem = problems[args["problem"]]
    wall0, cpu0 = time.perf_counter(), cpu_seconds()
    phase_i = PhaseI(problem).solve(relaxed=args.get("relaxed", False))
    st = phase_i.solving_stats
    out = {
        "status": st.algorithm.status.name,
        "cost": st.optimal_cost,
        "reserved": None,
        "creation_time": st.creation_time,
        "solving_time": st.solving_time,
    }
    if phase_i.reserved_allocation is not None:
        ra = phase_i.reserved_allocation
        out["reserved"] = {ic.id: float(n) for ic, n in zip(ra.instance_classes, ra.vms_number)}
    if args["phase"] == "ii" and phase_i.reserved_allocation is not None:
        if args.get("reserved") is not None:
            ics = phase_i.reserved_allocation.instance_classes
            fixed = ReservedAllocation(instance_classes=ics, vms_number=tuple(float(args["reserved"][ic.id]) for ic in ics))
            phase_i = phase_i._replace(reserved_allocation=fixed)
        stwp = problems[args["stwp_problem"]] if args.get("stwp_problem") else problem
        sol = PhaseII(stwp, phase_i).solve_period()
        g = sol.global_solving_stats
        out.update(
            phase_ii_status=g.status.name,
            phase_ii_cost=g.optimal_cost,
            slot_statuses=[s.algorithm.status.name for s in sol.solving_stats],
            slot_costs=[s.optimal_cost for s in sol.solving_stats],
        )
    out["wall_seconds"] = time.perf_counter() - wall0
    out["cpu_seconds"] = cpu_seconds() - cpu0
    print(json.dumps(out))


if __name__ == "__main__":
    main()
