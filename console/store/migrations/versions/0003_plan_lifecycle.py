"""Plan lifecycle: plan states and their append-only events, executions and their append-only events
(unique per execution, action, state and minute: a retried report is never applied twice).

Revision ID: 0003_plan_lifecycle
Revises: 0002_versions_provenance
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_plan_lifecycle"
down_revision = "0002_versions_provenance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plan_states",
        sa.Column("run_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("parent_run_id", sa.Integer(), nullable=True),
        sa.Column("execution_id", sa.Integer(), nullable=True),
        sa.Column("events_seen", sa.Integer(), nullable=True),
        sa.Column("snapshot_id", sa.Integer(), nullable=True),
        sa.Column("snapshot_sha256", sa.String(length=64), nullable=True),
        sa.Column("limits_sha256", sa.String(length=64), nullable=True),
        sa.Column("plan_sha256", sa.String(length=64), nullable=True),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("approved_at", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("run_id"),
    )
    op.create_table(
        "plan_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=False),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_plan_events_run_id", "plan_events", ["run_id"])
    op.create_table(
        "executions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("first_run_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("started_by", sa.String(length=200), nullable=False),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sa.Column("applied_snapshot_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_executions_run_id", "executions", ["run_id"])
    op.create_table(
        "execution_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("execution_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=300), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("at", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("execution_id", "action", "state", "at", name="uq_execution_event"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_execution_events_execution_id", "execution_events", ["execution_id"])


def downgrade() -> None:
    op.drop_index("ix_execution_events_execution_id", table_name="execution_events")
    op.drop_table("execution_events")
    op.drop_index("ix_executions_run_id", table_name="executions")
    op.drop_table("executions")
    op.drop_index("ix_plan_events_run_id", table_name="plan_events")
    op.drop_table("plan_events")
    op.drop_table("plan_states")
