"""The Typer applications every command module registers on.

Kept free of heavy imports: `fleetctl --help` must not pay for ortools,
textual or sqlmodel. Command modules import those inside their functions.
"""

import typer

app = typer.Typer(
    name="fleetctl",
    help="Operations console for VM fleets: maintenance schedules, placement and capacity plans.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
solve_app = typer.Typer(help="Solve a maintenance, placement or capacity problem.", no_args_is_help=True)
runs_app = typer.Typer(help="Background runs: list, show, watch, cancel.", no_args_is_help=True)
schedule_app = typer.Typer(help="Scheduled runs fired by the worker.", no_args_is_help=True)
plan_app = typer.Typer(help="Published plans.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks.", no_args_is_help=True)
cluster_app = typer.Typer(help="A local Dask cluster for `--executor dask://`.", no_args_is_help=True)

app.add_typer(solve_app, name="solve")
app.add_typer(runs_app, name="runs")
app.add_typer(schedule_app, name="schedule")
app.add_typer(plan_app, name="plan")
app.add_typer(bench_app, name="bench")
app.add_typer(cluster_app, name="cluster")
