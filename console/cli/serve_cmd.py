"""`fleetctl serve`: the HTTP API (FastAPI on uvicorn) and N workers beside it."""

from __future__ import annotations

from typing import Annotated

import typer

from console.cli.apps import app
from console.cli.common import DbOption, fail, resolve_db


@app.command("serve")
def serve_cmd(
    db: DbOption = None,  # a password belongs in $FLEETCTL_DB or ~/.pgpass, not in argv
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.", min=1, max=65535)] = 8080,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes to start beside the server (they stop "
                                         "with it); `fleetctl worker` elsewhere joins them.", min=0, max=64)] = 0,
    insecure_no_auth: Annotated[bool, typer.Option("--insecure-no-auth", help="No tokens needed (only with "
                                                   "--host 127.0.0.1).")] = False,
    max_body_mb: Annotated[float, typer.Option("--max-body-mb", help="Largest request body, MiB.", min=0.001)] = 256,
    queue_quota: Annotated[int, typer.Option("--queue-quota", help="Most queued runs per token (429 beyond).",
                                             min=1)] = 100,
    log_level: Annotated[str, typer.Option("--log-level", help="critical, error, warning, info or debug.")] = "info",
) -> None:
    """Serve the HTTP API: OpenAPI at /openapi.json, docs at /docs. No solver runs in the server: it queues runs,
    workers execute them."""
    from console.api.server import ServeError, serve
    from console.api.settings import MIB, ServiceSettings

    if log_level not in ("critical", "error", "warning", "info", "debug"):
        fail(f"unknown --log-level {log_level!r}: choose critical, error, warning, info or debug")
    settings = ServiceSettings(db=resolve_db(db).spawn_target, auth=not insecure_no_auth, max_body_bytes=int(max_body_mb * MIB),
                               queue_quota=queue_quota)
    try:
        code = serve(settings, host=host, port=port, workers=workers, log_level=log_level)
    except ServeError as exc:
        fail(str(exc))
    raise typer.Exit(code)
