"""Placement: where pending VMs go, and how to repack a fleet (issue 5).

Entry point: `engine.placement.solve.solve_placement(snapshot, limits, ...)`.

problem.py     the problem the solvers see (items, receiving hosts, fixed load, rules)
solution.py    an assignment and the objective values it scores
bounds.py      lower bounds (volume, Martello–Toth L2, conflict clique, anti-affinity, move budget)
heuristics.py  first-fit / best-fit decreasing, worst-fit (balance), dot-product fill, consolidation
exact_fit.py   bin completion: packings into exactly lower-bound hosts
symmetry.py    symmetry breaking shared by the CP-SAT and MIP models
candidates.py  what every assignment model walks: pairs to decide, crowded customers, stays
cpsat.py       CP-SAT assignment model (hinted)
cbc.py         PuLP/CBC assignment MIP (warm-started; runs through engine.cbc, killed at the deadline)
lns.py         large-neighbourhood search (min_hosts / rebalance, and balance)
migrations.py  rebalance moves → a one-at-a-time migration runbook
vbp.py         VPSolver .vbp files → snapshots
generate.py    deterministic instances for tests and benchmarks

The independent checker is `engine.validate_placement` (it imports none of this).
"""
