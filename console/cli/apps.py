"""The Typer applications every command module registers on.

Kept free of heavy imports: `fleetctl --help` must not pay for ortools,
textual or sqlmodel. Command modules import those inside their functions.
"""

import os
from typing import Annotated, Optional

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
plan_app = typer.Typer(help="Plans: published, approved, margins.", no_args_is_help=True)
exec_app = typer.Typer(help="Execute an approved plan: start, report, status, next, replan, apply.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks.", no_args_is_help=True)
cluster_app = typer.Typer(help="A local Dask cluster for `--executor dask://`.", no_args_is_help=True)

app.add_typer(solve_app, name="solve")
app.add_typer(runs_app, name="runs")
app.add_typer(schedule_app, name="schedule")
app.add_typer(plan_app, name="plan")
app.add_typer(exec_app, name="exec")
app.add_typer(bench_app, name="bench")
app.add_typer(cluster_app, name="cluster")


@app.callback()
def _global_options(
    ctx: typer.Context,
    max_input_bytes: Annotated[Optional[int], typer.Option(
        "--max-input-bytes", min=1, envvar="FLEETCTL_MAX_INPUT_BYTES",
        help="Largest input file read, in bytes (default 1 GiB; also $FLEETCTL_MAX_INPUT_BYTES).")] = None,
) -> None:
    """Operations console for VM fleets: maintenance schedules, placement and capacity plans."""
    if max_input_bytes is None:
        return
    # engine.documents.max_input_bytes reads it, here and in workers this command spawns; restored
    # when the command ends (an embedding process, or a test, keeps its own setting).
    previous = os.environ.get("FLEETCTL_MAX_INPUT_BYTES")
    os.environ["FLEETCTL_MAX_INPUT_BYTES"] = str(max_input_bytes)

    def restore() -> None:
        if previous is None:
            os.environ.pop("FLEETCTL_MAX_INPUT_BYTES", None)
        else:
            os.environ["FLEETCTL_MAX_INPUT_BYTES"] = previous

    ctx.call_on_close(restore)
