"""The store: SQLModel over SQLite (embedded default) or PostgreSQL (shared), schema by Alembic.

Front-ends call the application layer (console.ops), which calls these. Modules (importing this
package stays light):
  console.store.urls          parse_db_target, DbTarget, mask_url: the one reading of --db / FLEETCTL_DB
  console.store.db            open_engine, close_engine, session_scope, TABLE_MODULES, private files
  console.store.schema        ensure_schema / check_schema on open, HEAD, SchemaOutdated, SchemaTooNew
  console.store.migrate       upgrade, current (console/store/migrations: Alembic, run programmatically)
  console.store.tx            write transactions (SQLite BEGIN IMMEDIATE), retries, advisory locks
  console.store.fleet_store   save_snapshot (a version, compare-and-set), current_snapshot, snapshot_document,
                              snapshot_info, snapshot_history, snapshot_summary, list_hosts, vms_on_host
  console.store.limits_store  save_limits, load_limits, list_limit_sets, delete_limit_set, LimitSetNotFound
  console.store.runs          the runs facade over run_submit (queue, read), run_worker (claim, pump,
                              finish, workers), run_recovery (dead workers), run_views, run_provenance
  console.store.schedules     add/list/remove schedules, fire_due_schedules (once per slot), latest_plans
  console.store.tables, run_tables   the tables
"""
