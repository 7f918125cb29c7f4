"""Capacity planning: Malloovia's two-phase cost model, read from and written to its YAML.

- `reader.read_problems(path)`: Malloovia problem files -> `model.Problem`s.
- `phase_i.solve_phase_i(problem, relaxed=False, time_limit=None)`: reserved counts for the
  period and the allocation per workload level (exact search when the structure allows
  it, else the aggregated MILP/LP through HiGHS in a worker process).
- `phase_ii.solve_phase_ii(stwp_problem, phase_i_solution)`: every slot with the reserved
  counts fixed; `overfull` slots maximise the served fraction, then minimise cost.
- `writer.write_solution(path, phase_i, phase_ii)`: Malloovia's solution format, checked
  against `solution.schema.json`.

Every answer passes `validate` (an independent checker) before it is returned.
Importing this package is cheap: solver code loads only when a phase runs.
"""
