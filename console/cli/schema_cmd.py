"""`fleetctl schema snapshot|limits|plan`: the published JSON Schemas."""

from typing import Annotated

import typer

from console.cli.apps import app
from console.cli.common import emit_json, fail


@app.command()
def schema(kind: Annotated[str, typer.Argument(help="snapshot, limits or plan")]) -> None:
    """Print the JSON Schema of a FORMATS.md document."""
    from engine.model import schema_of

    if kind not in ("snapshot", "limits", "plan"):
        fail(f"unknown schema {kind!r}: choose snapshot, limits or plan")
    emit_json(schema_of(kind))
