"""Baseline: the schema of fleetctl before migrations (main of 2026-12-02, commit 32e2e02).

A database made by that code has these tables and no alembic_version table; `fleetctl db
upgrade` stamps it with this revision, then applies the newer ones.

Revision ID: 0001_baseline
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('customers',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(), nullable=True),
    sa.Column('max_concurrent_migrations', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('datacenters',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('limit_sets',
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('body', sa.String(), nullable=False),
    sa.Column('saved_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('run_inputs',
    sa.Column('key', sa.String(), nullable=False),
    sa.Column('media', sa.String(), nullable=False),
    sa.Column('name', sa.String(), nullable=True),
    sa.Column('body', sa.String(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('run_progress',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.Column('elapsed_s', sa.Float(), nullable=False),
    sa.Column('objective', sa.Float(), nullable=True),
    sa.Column('bound', sa.Float(), nullable=True),
    sa.Column('message', sa.String(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_run_progress_run_id'), 'run_progress', ['run_id'], unique=False)
    op.create_table('run_schedules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('every_s', sa.Integer(), nullable=False),
    sa.Column('limits_json', sa.String(), nullable=True),
    sa.Column('limits_name', sa.String(), nullable=True),
    sa.Column('options_json', sa.String(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('next_due_at', sa.Float(), nullable=False),
    sa.Column('last_fired_at', sa.Float(), nullable=True),
    sa.Column('last_run_id', sa.Integer(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_run_schedules_next_due_at'), 'run_schedules', ['next_due_at'], unique=False)
    op.create_table('run_workers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('host', sa.String(), nullable=False),
    sa.Column('boot', sa.String(), nullable=False),
    sa.Column('started_at', sa.Float(), nullable=False),
    sa.Column('heartbeat_at', sa.Float(), nullable=False),
    sa.Column('concurrency', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(), nullable=False),
    sa.Column('detached', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('schedule_id', sa.Integer(), nullable=True),
    sa.Column('input_key', sa.String(), nullable=True),
    sa.Column('input_name', sa.String(), nullable=True),
    sa.Column('limits_json', sa.String(), nullable=True),
    sa.Column('limits_name', sa.String(), nullable=True),
    sa.Column('options_json', sa.String(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('started_at', sa.Float(), nullable=True),
    sa.Column('finished_at', sa.Float(), nullable=True),
    sa.Column('heartbeat_at', sa.Float(), nullable=True),
    sa.Column('worker_pid', sa.Integer(), nullable=True),
    sa.Column('worker_host', sa.String(), nullable=True),
    sa.Column('worker_boot', sa.String(), nullable=True),
    sa.Column('executor_pid', sa.Integer(), nullable=True),
    sa.Column('cancel_requested', sa.Boolean(), nullable=False),
    sa.Column('plan_json', sa.String(), nullable=True),
    sa.Column('plan_status', sa.String(), nullable=True),
    sa.Column('objective', sa.Float(), nullable=True),
    sa.Column('lower_bound', sa.Float(), nullable=True),
    sa.Column('error', sa.String(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_runs_kind'), 'runs', ['kind'], unique=False)
    op.create_index(op.f('ix_runs_schedule_id'), 'runs', ['schedule_id'], unique=False)
    op.create_index(op.f('ix_runs_status'), 'runs', ['status'], unique=False)
    op.create_table('snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('source', sa.String(), nullable=True),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('datacenters', sa.Integer(), nullable=False),
    sa.Column('racks', sa.Integer(), nullable=False),
    sa.Column('hosts', sa.Integer(), nullable=False),
    sa.Column('customers', sa.Integer(), nullable=False),
    sa.Column('vms', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sqlite_autoincrement=True
    )
    op.create_table('racks',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('datacenter', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['datacenter'], ['datacenters.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_racks_datacenter'), 'racks', ['datacenter'], unique=False)
    op.create_table('hosts',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('rack', sa.String(), nullable=False),
    sa.Column('cpu', sa.Float(), nullable=False),
    sa.Column('memory_gb', sa.Float(), nullable=False),
    sa.Column('disk_gb', sa.Float(), nullable=False),
    sa.Column('state', sa.String(), nullable=False),
    sa.Column('reboot_minutes', sa.Integer(), nullable=False),
    sa.Column('bandwidth_gbps', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['rack'], ['racks.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_hosts_rack'), 'hosts', ['rack'], unique=False)
    op.create_table('vms',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('host', sa.String(), nullable=True),
    sa.Column('customer', sa.String(), nullable=False),
    sa.Column('cpu', sa.Float(), nullable=False),
    sa.Column('memory_gb', sa.Float(), nullable=False),
    sa.Column('disk_gb', sa.Float(), nullable=False),
    sa.Column('migration_minutes', sa.Integer(), nullable=True),
    sa.Column('migration_gbps', sa.Float(), nullable=True),
    sa.Column('migratable', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['customer'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['host'], ['hosts.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_vms_customer'), 'vms', ['customer'], unique=False)
    op.create_index(op.f('ix_vms_host'), 'vms', ['host'], unique=False)


def downgrade() -> None:

    op.drop_index(op.f('ix_vms_host'), table_name='vms')
    op.drop_index(op.f('ix_vms_customer'), table_name='vms')
    op.drop_table('vms')
    op.drop_index(op.f('ix_hosts_rack'), table_name='hosts')
    op.drop_table('hosts')
    op.drop_index(op.f('ix_racks_datacenter'), table_name='racks')
    op.drop_table('racks')
    op.drop_table('snapshots')
    op.drop_index(op.f('ix_runs_status'), table_name='runs')
    op.drop_index(op.f('ix_runs_schedule_id'), table_name='runs')
    op.drop_index(op.f('ix_runs_kind'), table_name='runs')
    op.drop_table('runs')
    op.drop_table('run_workers')
    op.drop_index(op.f('ix_run_schedules_next_due_at'), table_name='run_schedules')
    op.drop_table('run_schedules')
    op.drop_index(op.f('ix_run_progress_run_id'), table_name='run_progress')
    op.drop_table('run_progress')
    op.drop_table('run_inputs')
    op.drop_table('limit_sets')
    op.drop_table('datacenters')
    op.drop_table('customers')
