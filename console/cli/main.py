"""Entry point of `fleetctl`: imports each command module so it registers itself."""

from console.cli import (  # noqa: F401  (imported for their registrations)
    schema_cmd,
    fleet_cmds,
    check_cmd,
    solve_maintenance_cmd,
    solve_placement_cmd,
    solve_capacity_cmd,
    runs_cmds,
    bench_cmds,
    console_cmd,
)
from console.cli.apps import app


def main() -> None:
    app()


if __name__ == "__main__":
    main()
