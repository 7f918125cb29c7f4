"""API bearer tokens (only their sha256 is stored) and API submissions (Idempotency-Key replays,
per-token queue quotas): until now the API created these two tables on first use.

A 0003 database on which the API already ran holds them, created from the same models: they are
kept as they are (rows included), only what is missing is created.

Revision ID: 0004_api_tables
Revises: 0003_plan_lifecycle
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_api_tables"
down_revision = "0003_plan_lifecycle"
branch_labels = None
depends_on = None


def _tables() -> set[str]:
    return set(sa.inspect(op.get_bind()).get_table_names())


def _indexes(table: str) -> set[str]:
    return {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes(table)}


def _index(name: str, table: str, columns: list[str], *, unique: bool) -> None:
    if name not in _indexes(table):
        op.create_index(name, table, columns, unique=unique)


def upgrade() -> None:
    existing = _tables()
    if "api_tokens" not in existing:
        op.create_table(
            "api_tokens",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("name", sa.String(), nullable=False),
            sa.Column("token_sha256", sa.String(), nullable=False),
            sa.Column("scopes", sa.String(), nullable=False),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.Column("revoked_at", sa.Float(), nullable=True),
            sa.Column("last_used_at", sa.Float(), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
    _index("ix_api_tokens_name", "api_tokens", ["name"], unique=True)
    _index("ix_api_tokens_token_sha256", "api_tokens", ["token_sha256"], unique=True)
    if "api_submissions" not in existing:
        op.create_table(
            "api_submissions",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("token_id", sa.Integer(), nullable=False),
            sa.Column("idem_key", sa.String(), nullable=True),
            sa.Column("request_sha256", sa.String(), nullable=False),
            sa.Column("run_id", sa.Integer(), nullable=True),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.Column("owner_pid", sa.Integer(), nullable=False),
            sa.Column("owner_host", sa.String(), nullable=False),
            sa.Column("owner_boot", sa.String(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("token_id", "idem_key", name="uq_api_submissions_token_key"),
        )
    _index("ix_api_submissions_token_id", "api_submissions", ["token_id"], unique=False)
    _index("ix_api_submissions_run_id", "api_submissions", ["run_id"], unique=False)


def downgrade() -> None:
    op.drop_table("api_submissions")
    op.drop_table("api_tokens")
