"""The schema revisions this code knows (no imports: cheap for the CLI's pre-checks).
HEAD must equal the newest file in console/store/migrations/versions (a test checks it)."""

BASELINE = "0001_baseline"        # the schema of fleetctl before migrations (main of 2026-12-02)
HEAD = "0004_api_tables"
KNOWN_REVISIONS = (BASELINE, "0002_versions_provenance", "0003_plan_lifecycle", HEAD)  # oldest first
