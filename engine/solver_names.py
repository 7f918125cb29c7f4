"""The solver names of every kind, in one place, with no imports: the CLI's `--help`, the console's
pickers and the runs dispatcher read them without loading a solver. Each engine checks a requested
name against its own registry, and `tests/test_solver_names.py` keeps this list equal to those
registries (`engine.maintenance.solve.available_solvers()`, `engine.placement.solve.SOLVERS`)."""

MAINTENANCE: tuple[str, ...] = ("cp-sat", "heuristic", "mip-time-indexed", "mip-continuous", "cp-sat-fixed")
PLACEMENT: tuple[str, ...] = ("auto", "ffd", "bfd", "cbc", "cp-sat", "lns", "colgen")

BY_KIND: dict[str, tuple[str, ...]] = {"maintenance": MAINTENANCE, "placement": PLACEMENT}
