"""Snapshot versions (content hash, kept document), run inputs by reference and hash,
schedule slots (fire once per slot), idempotency keys, run provenance.

Revision ID: 0002_versions_provenance
Revises: 0001_baseline
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0002_versions_provenance"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None

RUN_COLUMNS = (
    ("snapshot_id", sa.Integer()),
    ("snapshot_sha256", sa.String()),
    ("limits_sha256", sa.String()),
    ("schedule_slot", sa.Float()),
    ("idempotency_key", sa.String()),
    ("solver_name", sa.String()),
    ("solver_params_json", sa.String()),
    ("seed", sa.Integer()),
    ("versions_json", sa.String()),
    ("termination", sa.String()),
    ("plan_sha256", sa.String()),
)


def upgrade() -> None:
    op.add_column("snapshots", sa.Column("sha256", sa.String(length=64), nullable=True))
    op.add_column("snapshots", sa.Column("body_key", sa.String(length=64), nullable=True))
    for name, type_ in RUN_COLUMNS:
        op.add_column("runs", sa.Column(name, type_, nullable=True))
    op.create_index("ux_runs_schedule_slot", "runs", ["schedule_id", "schedule_slot"], unique=True)
    op.create_index("ux_runs_idempotency_key", "runs", ["idempotency_key"], unique=True)

    # Existing runs: their input documents were already stored by content hash, and their limits
    # inline as canonical JSON, so both hashes follow from what is there.
    conn = op.get_bind()
    runs = sa.table("runs", sa.column("id", sa.Integer()), sa.column("kind", sa.String()),
                    sa.column("input_key", sa.String()), sa.column("limits_json", sa.String()),
                    sa.column("snapshot_sha256", sa.String()), sa.column("limits_sha256", sa.String()),
                    sa.column("termination", sa.String()), sa.column("status", sa.String()),
                    sa.column("plan_status", sa.String()))
    conn.execute(runs.update().where(runs.c.kind != "capacity").values(snapshot_sha256=runs.c.input_key))
    for run_id, limits_json in conn.execute(sa.select(runs.c.id, runs.c.limits_json)
                                            .where(runs.c.limits_json.is_not(None))).all():
        conn.execute(runs.update().where(runs.c.id == run_id)
                     .values(limits_sha256=hashlib.sha256(limits_json.encode("utf-8")).hexdigest()))
    conn.execute(runs.update().where(runs.c.status == "succeeded").values(termination=runs.c.plan_status))
    conn.execute(runs.update().where(runs.c.status.in_(("failed", "cancelled", "infeasible")))
                 .values(termination=runs.c.status))


def downgrade() -> None:
    op.drop_index("ux_runs_idempotency_key", table_name="runs")
    op.drop_index("ux_runs_schedule_slot", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        for name, _ in reversed(RUN_COLUMNS):
            batch.drop_column(name)
    with op.batch_alter_table("snapshots") as batch:
        batch.drop_column("body_key")
        batch.drop_column("sha256")
