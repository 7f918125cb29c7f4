"""Alembic environment, run programmatically by console.store.migrate (no alembic.ini): the
caller passes an open connection, already inside its write transaction and holding the schema
lock, in config.attributes["connection"]."""

from alembic import context

from console.store.schema import store_metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=store_metadata(), render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
