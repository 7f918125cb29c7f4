"""The application layer: the ONLY functions the CLI, the console and the HTTP API call to work
with the store, so the three front-ends cannot drift. Dependencies run one way:
front-ends → console.ops → console.store / console.runner → engine.

    console.ops.errors     Problem (message, record, field), OpsError and its kinds: InvalidInput,
                           NotFound, Conflict, StoreUnavailable. Each front-end renders them
                           (CLI: `error:` lines and exit 2; API: RFC 9457 problem details).
    console.ops.store      open_store(db) -> Engine; close_store(engine)
    console.ops.snapshots  parse_snapshot, load_snapshot, current_snapshot, get_snapshot,
                           snapshot_document, list_snapshots -> SnapshotRef
    console.ops.limits     parse_limits, save_limit_set, get_limit_set, list_limit_sets,
                           delete_limit_set -> LimitSetRef
    console.ops.runs       RunRequest, submit_run, list_runs, get_run, cancel_run, run_events,
                           run_plan, run_runbook_csv
    console.ops.schedules  add_schedule, list_schedules, remove_schedule, latest_plans
    console.ops.lifecycle  approve, margins, plan_history, start_execution, report, status,
                           next_actions, replan, apply_execution, cancel_execution (Refused)

Every function takes the store's Engine first (open it once with open_store and keep it).
Importing this package is light: each module imports the store and the engine lazily.
"""
