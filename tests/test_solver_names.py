"""One list of solvers: the light list the front-ends read equals the engines' registries."""

from engine import solver_names
from engine.maintenance.solve import available_solvers
from engine.placement.solve import SOLVERS as PLACEMENT_SOLVERS


def test_the_light_list_is_the_engines_registries():
    assert set(solver_names.MAINTENANCE) == set(available_solvers())
    assert set(solver_names.PLACEMENT) == set(PLACEMENT_SOLVERS)


def test_every_front_end_offers_exactly_those_solvers():
    from console.cli.solve_placement_cmd import Solver
    from console.screens.solve import SOLVERS as console_solvers

    assert tuple(s.value for s in Solver) == solver_names.PLACEMENT
    assert console_solvers["maintenance"] == solver_names.MAINTENANCE
    assert console_solvers["placement"] == solver_names.PLACEMENT
