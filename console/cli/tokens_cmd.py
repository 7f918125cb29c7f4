"""`fleetctl tokens create NAME --scope … | list | revoke NAME`: API bearer tokens.

Only a hash is stored; `create` prints the token once, on stdout, as its only output."""

from __future__ import annotations

from typing import Annotated

import typer

from console.cli.apps import app
from console.cli.common import EXIT_USAGE, DbOption, emit_json, err, fail, resolve_db, store_session

tokens_app = typer.Typer(help="API tokens for `fleetctl serve`: create, list, revoke.", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")


def _store(db):
    return store_session(resolve_db(db), create=True)


@tokens_app.command("create")
def tokens_create(
    name: Annotated[str, typer.Argument(help="A name to recognise the token by (unique).")],
    scope: Annotated[list[str], typer.Option("--scope", help="read, submit or admin (repeat for several; admin "
                                             "grants all).")] = None,
    db: DbOption = None,
) -> None:
    """Create a token and print it once (only its hash is stored: keep it now)."""
    from console.store.tokens import create_token

    with _store(db) as engine:
        try:
            view, secret = create_token(engine, name, scope or [])
        except ValueError as exc:
            fail([p.strip() for p in str(exc).split(";")])
    err(f"token {view.name!r} (id {view.id}) with scope(s) {', '.join(view.scopes)}: shown once, store it now")
    typer.echo(secret)


@tokens_app.command("list")
def tokens_list(db: DbOption = None,
                json_out: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False) -> None:
    """Every token (never the token itself): name, scopes, created, revoked."""
    from console.store.tokens import list_tokens

    with _store(db) as engine:
        views = list_tokens(engine)
    if json_out:
        emit_json([v.to_dict() for v in views])
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(views)} token(s)", title_justify="left")
    for col in ("id", "name", "scopes", "created", "revoked"):
        table.add_column(col)
    for v in views:
        d = v.to_dict()
        table.add_row(str(v.id), v.name, ", ".join(v.scopes), d["created_at"], d["revoked_at"] or "-")
    Console().print(table)


@tokens_app.command("revoke")
def tokens_revoke(name: Annotated[str, typer.Argument(help="Token name (or id).")], db: DbOption = None) -> None:
    """Revoke a token: requests with it get 401 from then on (within a second)."""
    from console.store.tokens import revoke_token

    with _store(db) as engine:
        revoked = revoke_token(engine, name)
    if not revoked:
        fail(f"no live token named {name!r} (see `fleetctl tokens list`)", code=EXIT_USAGE)
    typer.echo(f"revoked token {name}")
