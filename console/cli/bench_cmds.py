"""`fleetctl bench ...`: benchmarks that print tables (and plots).

`fleetctl bench formulations` compares the maintenance formulations on the
same fixed-targets problem (seed-style instances, see
engine/maintenance/formulation_bench.py): CP-SAT, time-indexed MIP and
time-continuous MIP, per size and horizon. The table goes to stdout, one
progress line per run to stderr; optional CSV and PNG/SVG plot (matplotlib: the `bench`
extra), both written atomically.
"""

from __future__ import annotations

import csv
import importlib.util
import io
from pathlib import Path
from typing import Annotated, Optional

import typer

from console.cli.apps import bench_app
from console.cli.common import check_output_path, err, fail, markup_safe, write_output
from console.output_files import is_stdout

FORMULATION_NAMES = ("cp-sat-fixed", "mip-time-indexed", "mip-continuous")  # as in engine.maintenance.formulation_bench


def _int_list(text: str, option: str) -> list[int]:
    values, bad = [], []
    for part in text.split(","):
        part = part.strip()
        if part.isdigit() and int(part) > 0:
            values.append(int(part))
        else:
            bad.append(part or "(empty)")
    if bad or not values:
        fail(f"{option}: expected positive integers separated by commas, got {', '.join(bad) or repr(text)}")
    return values


@bench_app.command("formulations")
def formulations(
    sizes: Annotated[str, typer.Option("--sizes", help="Numbers of migrations, comma-separated.")] = "5,10,20,40,80",
    horizons: Annotated[str, typer.Option("--horizons", help="Horizons in minutes, comma-separated.")] = "100,400,1440",
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.1, help="Seconds per solve (build included).")] = 60.0,
    only: Annotated[Optional[str], typer.Option("--formulations", help=f"Subset of {','.join(FORMULATION_NAMES)}.")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Instance generator seed.")] = 0,
    csv_path: Annotated[Optional[Path], typer.Option("--csv", help="Write every row to this CSV file.")] = None,
    plot_path: Annotated[Optional[Path], typer.Option("--plot", help="Plot solve time vs size (.png or .svg).")] = None,
) -> None:
    """Compare CP-SAT, time-indexed MIP and time-continuous MIP on seed-style instances with fixed targets."""
    size_list = _int_list(sizes, "--sizes")
    horizon_list = _int_list(horizons, "--horizons")
    names = list(FORMULATION_NAMES)
    if only is not None:
        names = [n.strip() for n in only.split(",") if n.strip()]
        unknown = [n for n in names if n not in FORMULATION_NAMES]
        if unknown or not names:
            fail(f"--formulations: unknown {', '.join(unknown) or '(none)'}; choose from {', '.join(FORMULATION_NAMES)}")
    if plot_path is not None and plot_path.suffix.lower() not in (".png", ".svg"):
        fail(f"--plot: {plot_path} must end in .png or .svg")
    if plot_path is not None and not _have_matplotlib():  # before the long run, not after
        fail("--plot needs matplotlib, which is not installed: pip install 'fleetctl[bench]' (or leave out --plot)")
    if csv_path is not None and plot_path is not None and csv_path.resolve() == plot_path.resolve():
        fail("--csv and --plot name the same file")
    for option, path in (("--csv", csv_path), ("--plot", plot_path)):
        check_output_path(path, option)

    from engine.maintenance.formulation_bench import run

    def progress(row) -> None:
        shown = "-" if row.wall_s is None else f"{row.wall_s:.2f}s"
        err(f"[dim]size {row.size:>4} horizon {row.horizon:>5} {row.formulation:<17} {row.status:<10} "
            f"makespan {row.makespan if row.makespan is not None else '-':>4} {shown}[/]")

    err(f"[dim]{len(size_list) * len(horizon_list) * len(names)} runs, {time_limit:g} s each at most "
        "(CBC gets a hard deadline a little later)[/]")
    rows = run(size_list, horizon_list, time_limit, formulations=names, seed=seed, on_row=progress)
    if not is_stdout(csv_path):  # `--csv -`: stdout holds the CSV alone
        _print_table(rows, time_limit)
    if csv_path is not None:
        _write_csv(rows, csv_path)
        if not is_stdout(csv_path):
            err(f"wrote {markup_safe(csv_path)}")
    if plot_path is not None:
        _plot(rows, plot_path, time_limit)
        err(f"wrote {markup_safe(plot_path)}")


def _have_matplotlib() -> bool:
    try:
        return importlib.util.find_spec("matplotlib") is not None
    except (ImportError, ValueError):
        return False


def _fmt(value, spec: str = "") -> str:
    return "-" if value is None else format(value, spec)


def _print_table(rows, time_limit: float) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Formulations on seed-style instances (targets fixed, time limit {time_limit:g} s, 1 thread)")
    for col, justify in [("N", "right"), ("H", "right"), ("formulation", "left"), ("vars", "right"),
                         ("cons", "right"), ("build s", "right"), ("wall s", "right"), ("cpu s", "right"),
                         ("status", "left"),
                         ("makespan", "right"), ("bound", "right"), ("gap", "right"), ("note", "left")]:
        table.add_column(col, justify=justify)
    colours = {"optimal": "green", "feasible": "yellow", "infeasible": "red", "unknown": "red"}
    for r in rows:
        table.add_row(str(r.size), str(r.horizon), r.formulation, _fmt(r.variables), _fmt(r.constraints),
                      _fmt(r.build_s, ".2f"), _fmt(r.wall_s, ".2f"), _fmt(r.cpu_s, ".2f"), f"[{colours.get(r.status, 'white')}]{r.status}[/]",
                      _fmt(r.makespan), _fmt(r.bound, ".1f"), "-" if r.gap is None else f"{100 * r.gap:.1f}%",
                      r.note[:60])
    Console(soft_wrap=False, width=170).print(table)


def _write_csv(rows, path: Path) -> None:
    fields = list(rows[0].as_dict()) if rows else ["size"]
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    for r in rows:
        writer.writerow(r.as_dict())
    write_output(path, buffer.getvalue(), "--csv")


def _plot(rows, path: Path, time_limit: float) -> None:
    """Two panels, wall and CPU seconds vs size: on a shared machine CPU time is the fair one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"cp-sat-fixed": "tab:green", "mip-time-indexed": "tab:blue", "mip-continuous": "tab:orange"}
    styles = ["-", "--", ":", "-."]
    horizons = sorted({r.horizon for r in rows})
    fig, axes = plt.subplots(1, 2, figsize=(12, 5), sharey=True)
    for ax, field, label in ((axes[0], "wall_s", "wall time, s (build included)"),
                             (axes[1], "cpu_s", "CPU time, s (build included)")):
        for name in dict.fromkeys(r.formulation for r in rows):
            for k, h in enumerate(horizons):
                pts = sorted((r.size, getattr(r, field), r.status == "optimal") for r in rows
                             if r.formulation == name and r.horizon == h and getattr(r, field) is not None)
                if not pts:
                    continue
                xs, ys = [p[0] for p in pts], [max(p[1], 1e-3) for p in pts]
                colour = colours.get(name)
                ax.plot(xs, ys, styles[k % len(styles)], color=colour, label=f"{name}, H={h}")
                for x, y, (_, _, proven) in zip(xs, ys, pts):
                    if proven:
                        ax.scatter([x], [y], color=colour, marker="o", zorder=3)
                    else:
                        ax.scatter([x], [y], facecolors="none", edgecolors=colour, marker="s", s=60, zorder=3)
        ax.axhline(time_limit, color="grey", linewidth=0.8, linestyle=":")
        ax.set_xlabel("migrations (N)")
        ax.set_ylabel(label)
        ax.set_yscale("log")
    axes[0].set_title("wall time vs size")
    axes[1].set_title("CPU time vs size")
    axes[1].legend(fontsize=7)
    fig.suptitle("Maintenance with fixed targets (seed-style instances): "
                 "filled dot = proven optimal, hollow square = stopped (feasible or no solution)", fontsize=9)
    fig.tight_layout()
    image = io.BytesIO()
    fig.savefig(image, format=path.suffix.lower().lstrip("."))
    plt.close(fig)
    write_output(path, image.getvalue(), "--plot")
