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
    db_cmds,
    serve_cmd,
    tokens_cmd,
    replay_cmds,
    plan_cmds,
    exec_cmds,
    cluster_cmd,
)
from console.cli.apps import app


def main() -> None:
    try:
        app()
    except BrokenPipeError:
        # The reader went away (`fleetctl … | head`): stop quietly, as a SIGPIPE'd tool does.
        import os
        import sys

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        sys.exit(141)
    except OSError as exc:
        # Safety net: a file the operator named cannot be read or written (e.g. `--out` into a missing
        # directory). Commands should check their paths first; this keeps a traceback off the screen.
        if exc.filename is None:
            raise
        import sys

        sys.stderr.write(f"error: {exc.filename}: {exc.strerror or exc}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
