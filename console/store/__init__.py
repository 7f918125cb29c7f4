"""The store: SQLModel over SQLite (any SQLAlchemy URL later).

Public API (import from the submodules; importing this package stays light):
  console.store.db            open_engine, close_engine, session_scope, TABLE_MODULES
  console.store.fleet_store   save_snapshot, current_snapshot, current_snapshot_info, current_snapshot_id,
                              snapshot_history, snapshot_summary, list_hosts, vms_on_host
  console.store.limits_store  save_limits, load_limits, list_limit_sets, delete_limit_set, LimitSetNotFound
  console.store.tables        the fleet tables (SnapshotRow, DatacenterRow, RackRow, HostRow, CustomerRow,
                              VMRow, LimitSetRow)
"""
