"""A worker started by `fleetctl serve --workers N`: the ordinary worker, its database from
$FLEETCTL_DB (never argv, where a password would show in `ps`)."""

from __future__ import annotations

import os
import sys


def main() -> int:
    from console.runner.worker import Worker

    db = os.environ.get("FLEETCTL_DB")
    if not db:
        print("console.api.worker_process: FLEETCTL_DB is not set", file=sys.stderr)
        return 2
    return Worker(db, 1).run()


if __name__ == "__main__":
    sys.exit(main())
