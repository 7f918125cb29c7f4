"""`fleetctl serve` end to end: a real uvicorn server on a loopback port, httpx as the client,
on SQLite and on PostgreSQL (one server with one worker per backend for the module)."""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass

import httpx
import pytest
import yaml

from tests.service_support import (
    Server,
    auth,
    database,
    make_token,
    read_sse,
    toy_limits,
    toy_snapshot,
    wait_terminal,
    wait_until,
)

PROBLEM = "application/problem+json"


@dataclass
class Service:
    url: str
    db: str
    admin: dict
    reader: dict
    submitter: dict
    client: httpx.Client
    server: Server


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def svc(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"api-{request.param}")
    with database(request.param, tmp) as db:
        tokens = {scope: make_token(db, f"t-{scope}", scope) for scope in ("admin", "read", "submit")}
        server = Server(db, workers=1, log_dir=tmp).start()
        try:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                r = client.post("/v1/snapshots", json=toy_snapshot(), headers=auth(tokens["admin"]))
                assert r.status_code == 201, r.text
                yield Service(server.url, db, auth(tokens["admin"]), auth(tokens["read"]), auth(tokens["submit"]),
                              client, server)
        finally:
            server.stop()
        assert "Traceback" not in server.log(), server.log()


def _problem(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status and body["title"]
    assert "Traceback" not in r.text
    return body


def _submit(svc: Service, body: dict | None = None, headers: dict | None = None) -> dict:
    body = body or {"kind": "maintenance", "options": {"time_limit_s": 10, "workers": 1}}
    r = svc.client.post("/v1/runs", json=body, headers={**svc.submitter, **(headers or {})})
    assert r.status_code == 202, r.text
    return r.json()


# --------------------------------------------------------------------------- security


def test_healthz_needs_no_token_and_everything_else_does(svc):
    assert svc.client.get("/healthz").json() == {"status": "ok"}
    for method, path in (("GET", "/v1/runs"), ("GET", "/openapi.json"), ("GET", "/metrics"), ("GET", "/readyz"),
                         ("POST", "/v1/runs"), ("GET", "/v1/snapshots/current"), ("GET", "/v1/plans/latest")):
        r = svc.client.request(method, path)
        body = _problem(r, 401)
        assert r.headers["www-authenticate"].startswith("Bearer"), path
        assert "token" in body["detail"]
    _problem(svc.client.get("/v1/runs", headers=auth("fct_not-a-real-token")), 401)


def test_wrong_scope_is_403_and_admin_may_do_everything(svc):
    body = _problem(svc.client.post("/v1/runs", json={"kind": "maintenance"}, headers=svc.reader), 403)
    assert "submit" in body["detail"]
    _problem(svc.client.put("/v1/limit-sets/x", json={}, headers=svc.submitter), 403)
    _problem(svc.client.get("/v1/runs", headers=svc.submitter), 403)
    assert svc.client.get("/v1/runs", headers=svc.reader).status_code == 200
    assert svc.client.get("/v1/runs", headers=svc.admin).status_code == 200
    assert svc.client.get("/openapi.json", headers=svc.reader).json()["info"]["title"] == "fleetctl"


def test_a_revoked_token_is_refused_within_seconds(svc):
    from console.store.runs import runs_engine
    from console.store.tokens import revoke_token

    token = make_token(svc.db, f"short-lived-{time.monotonic_ns()}", "read")
    assert svc.client.get("/v1/runs", headers=auth(token)).status_code == 200
    engine = runs_engine(svc.db)
    assert revoke_token(engine, token_name := [t for t in _token_names(engine) if t.startswith("short-lived")][-1])
    engine.dispose()
    wait_until(lambda: svc.client.get("/v1/runs", headers=auth(token)).status_code == 401, 5, f"{token_name} refused")


def _token_names(engine):
    from console.store.tokens import list_tokens

    return [t.name for t in list_tokens(engine)]


# --------------------------------------------------------------------------- documents


def test_snapshot_json_and_yaml_give_the_same_hash(svc):
    from engine.documents import parse_snapshot
    from engine.fingerprint import sha256_of

    doc = toy_snapshot()
    r1 = svc.client.post("/v1/snapshots", json=doc, headers=svc.submitter)
    r2 = svc.client.post("/v1/snapshots", content=yaml.safe_dump(doc), headers={**svc.submitter,
                                                                               "content-type": "application/yaml"})
    assert r1.status_code == r2.status_code == 201
    a, b = r1.json(), r2.json()
    assert a["sha256"] == b["sha256"] == sha256_of(parse_snapshot(doc))
    assert a["counts"] == {"datacenters": 1, "racks": 1, "hosts": 2, "customers": 3, "vms": 3}
    assert b["id"] > a["id"]
    current = svc.client.get("/v1/snapshots/current", headers=svc.reader).json()
    assert current["id"] == b["id"] and current["sha256"] == b["sha256"]
    assert svc.client.get(f"/v1/snapshots/{b['id']}", headers=svc.reader).json()["document"]["name"] == doc["name"]


def test_a_bad_snapshot_is_422_naming_every_bad_record_and_field(svc):
    doc = toy_snapshot()
    doc["vms"][0]["cpu"] = -4
    doc["vms"][1]["host"] = "no-such-host"
    doc["hosts"][0]["memory_gb"] = "lots"
    body = _problem(svc.client.post("/v1/snapshots", json=doc, headers=svc.submitter), 422)
    text = " ".join(e["detail"] for e in body["errors"])
    assert len(body["errors"]) >= 3
    assert doc["vms"][0]["id"] in text and "cpu" in text
    assert "no-such-host" in text
    assert "memory_gb" in text
    before = svc.client.get("/v1/snapshots/current", headers=svc.reader).json()["id"]
    _problem(svc.client.post("/v1/snapshots", content=b"{not json", headers={**svc.submitter,
                                                                            "content-type": "application/json"}), 422)
    _problem(svc.client.post("/v1/snapshots", content=b"a: [", headers={**svc.submitter,
                                                                       "content-type": "application/yaml"}), 422)
    _problem(svc.client.post("/v1/snapshots", content=b"x", headers={**svc.submitter, "content-type": "text/csv"}), 415)
    assert svc.client.get("/v1/snapshots/current", headers=svc.reader).json()["id"] == before  # nothing half-written


def test_limit_sets_put_get_delete(svc):
    limits = toy_limits()
    r = svc.client.put("/v1/limit-sets/night", json=limits, headers=svc.admin)
    assert r.status_code == 200, r.text
    got = svc.client.get("/v1/limit-sets/night", headers=svc.reader).json()
    assert got["name"] == "night" and got["limits"] == r.json()["limits"]
    assert "night" in [s["name"] for s in svc.client.get("/v1/limit-sets", headers=svc.reader).json()["items"]]
    bad = _problem(svc.client.put("/v1/limit-sets/bad", json={"capacity": {"headroom": 7}, "nope": 1},
                                  headers=svc.admin), 422)
    assert len(bad["errors"]) == 2
    assert svc.client.delete("/v1/limit-sets/night", headers=svc.admin).status_code == 204
    _problem(svc.client.get("/v1/limit-sets/night", headers=svc.reader), 404)
    _problem(svc.client.delete("/v1/limit-sets/night", headers=svc.admin), 404)


# --------------------------------------------------------------------------- runs


def test_submit_follow_events_fetch_plan_and_runbook(svc):
    from engine.fingerprint import plan_sha256

    run = _submit(svc)
    assert run["status"] in ("queued", "running") and run["links"]["events"] == f"/v1/runs/{run['id']}/events"
    events = read_sse(svc.client, run["links"]["events"], svc.reader, timeout=90)
    kinds = [e[1] for e in events]
    assert kinds[-1] == "end" and events[-1][2]["status"] == "succeeded"
    assert "progress" in kinds
    progress = [e for e in events if e[1] == "progress"]
    assert [int(e[0]) for e in progress] == sorted(int(e[0]) for e in progress)
    assert all({"objective", "bound", "gap", "elapsed_s"} <= set(e[2]) for e in progress)
    plan = svc.client.get(run["links"]["plan"], headers=svc.reader).json()
    assert plan["kind"] == "maintenance" and plan["status"] == "optimal"
    runbook = svc.client.get(run["links"]["runbook"], headers=svc.reader)
    if importlib.util.find_spec("console.runbook") is None:  # the one writer comes from the console branch
        assert "console.runbook" in _problem(runbook, 409)["detail"]
    else:
        assert runbook.headers["content-type"].startswith("text/csv")
        lines = runbook.text.strip().splitlines()
        assert lines[0].startswith("step,") and "action" in lines[0]
        assert len(lines) - 1 == len(plan["migrations"]) + len(plan["reboots"])
    detail = svc.client.get(run["links"]["self"], headers=svc.reader).json()
    prov = detail["provenance"]
    assert prov["plan_sha256"] == plan_sha256(plan)
    assert prov["snapshot_sha256"] and prov["seed"] == 0 and prov["solver_params"]["workers"] == 1
    assert prov["solver_name"] == plan["solver"]["name"]
    assert prov["versions"]["ortools"] and prov["versions"]["python"] and prov["worker_host"]
    assert prov["termination"] == "optimal"


def test_events_resume_after_last_event_id(svc):
    run = _submit(svc)
    first = read_sse(svc.client, run["links"]["events"], svc.reader, timeout=90)
    progress_ids = [int(e[0]) for e in first if e[1] == "progress"]
    assert progress_ids, first
    resumed = read_sse(svc.client, run["links"]["events"], {**svc.reader, "Last-Event-ID": str(progress_ids[0])})
    again = [int(e[0]) for e in resumed if e[1] == "progress"]
    assert again == progress_ids[1:]
    assert resumed[-1][1] == "end" and resumed[-1][2]["status"] == first[-1][2]["status"]


def test_events_coalesce_a_backlog_but_never_drop_the_last_event(svc):
    """500 stored events read by a client that connects late: the stream sends only the newest ones
    (the first saying how many it skipped), always the very last event, then `end`."""
    from console.ops.store import open_store
    from console.store.runs import pump, record_failed_run, run_progress
    from engine.progress import ProgressEvent

    engine = open_store(svc.db)
    try:
        run_id = record_failed_run(engine, "maintenance", "synthetic run for the coalescing test")
        pump(engine, run_id, [ProgressEvent(i / 10, objective=1000 - i, bound=10) for i in range(500)], heartbeat=False)
        last_id = run_progress(engine, run_id)[-1].id
    finally:
        engine.dispose()
    events = read_sse(svc.client, f"/v1/runs/{run_id}/events", svc.reader)
    progress = [e for e in events if e[1] == "progress"]
    assert 0 < len(progress) < 500
    assert progress[0][2]["coalesced"] == 500 - len(progress)
    assert int(progress[-1][0]) == last_id and progress[-1][2]["objective"] == 1000 - 499
    assert events[-1][1] == "end" and events[-1][2]["status"] == "failed"


def test_idempotency_key_returns_the_same_run(svc):
    key = f"k-{time.monotonic_ns()}"
    a = svc.client.post("/v1/runs", json={"kind": "maintenance"}, headers={**svc.submitter, "Idempotency-Key": key})
    b = svc.client.post("/v1/runs", json={"kind": "maintenance"}, headers={**svc.submitter, "Idempotency-Key": key})
    assert a.status_code == b.status_code == 202
    assert a.json()["id"] == b.json()["id"]
    assert b.headers.get("idempotent-replayed") == "true" and "idempotent-replayed" not in a.headers
    other = svc.client.post("/v1/runs", json={"kind": "placement"}, headers={**svc.submitter, "Idempotency-Key": key})
    assert "different request" in _problem(other, 422)["detail"]
    wait_terminal(svc.client, "", a.json()["id"], svc.reader, timeout=90)


def test_bad_run_requests_list_every_problem_and_never_5xx(svc):
    body = _problem(svc.client.post("/v1/runs", json={"kind": "nope", "options": {"workers": 0, "colour": "red"}},
                                    headers=svc.submitter), 422)
    pointers = {e["pointer"] for e in body["errors"]}
    assert {"#/body/kind", "#/body/options/workers", "#/body/options/colour"} <= pointers
    body = _problem(svc.client.post("/v1/runs", json={"kind": "maintenance", "options": {"solver": "magic"}},
                                    headers=svc.submitter), 422)
    assert "magic" in body["errors"][0]["detail"]
    body = _problem(svc.client.post("/v1/runs", json={"kind": "maintenance", "options": {"executor": "dask://nowhere"}},
                                    headers=svc.submitter), 422)
    assert body["errors"][0]["pointer"] == "#/body/options/executor" and "dask://HOST:PORT" in body["errors"][0]["detail"]
    body = _problem(svc.client.post("/v1/runs", json={"kind": "maintenance", "limits": "no-such-set"},
                                    headers=svc.submitter), 422)
    assert "no-such-set" in body["detail"]
    bad_limits = {"kind": "maintenance", "limits": {"capacity": {"headroom": 3}}}
    _problem(svc.client.post("/v1/runs", json=bad_limits, headers=svc.submitter), 422)
    endless = b'{"kind": "maintenance", "limits": {"solve": {"time_limit_s": 1e400}}}'  # inf: the limits' own check
    body = _problem(svc.client.post("/v1/runs", content=endless, headers={**svc.submitter,
                                                                         "content-type": "application/json"}), 422)
    assert "time_limit_s" in body["errors"][0]["detail"]
    _problem(svc.client.post("/v1/runs", content=b"[1,", headers={**svc.submitter, "content-type": "application/json"}),
             422)
    _problem(svc.client.get("/v1/runs/999999999", headers=svc.reader), 404)
    _problem(svc.client.get(f"/v1/runs/{2**70}", headers=svc.reader), 422)
    _problem(svc.client.get("/v1/runs?cursor=abc", headers=svc.reader), 422)
    _problem(svc.client.post("/v1/runs/999999999/cancel", headers=svc.submitter), 404)


def test_list_pages_with_a_cursor_and_filters(svc):
    ids = {_submit(svc, {"kind": "placement", "options": {"time_limit_s": 5}})["id"] for _ in range(5)}
    seen, cursor = [], None
    for _ in range(20):
        params = {"limit": 2, "kind": "placement", **({"cursor": cursor} if cursor else {})}
        page = svc.client.get("/v1/runs", params=params, headers=svc.reader).json()
        seen += [item["id"] for item in page["items"]]
        assert all(item["kind"] == "placement" for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert ids <= set(seen) and len(seen) == len(set(seen)) and seen == sorted(seen, reverse=True)
    for run_id in ids:
        wait_terminal(svc.client, "", run_id, svc.reader, timeout=90)


def test_cancel_a_queued_run(svc):
    # A run queued behind a long one is still queued when the cancel arrives.
    long_run = _submit(svc, {"kind": "maintenance", "snapshot": _bigger_snapshot(),
                             "options": {"time_limit_s": 30, "workers": 1}})
    queued = _submit(svc)
    r = svc.client.post(f"/v1/runs/{queued['id']}/cancel", headers=svc.submitter)
    assert r.status_code == 202 and r.json()["cancel_requested"]
    done = wait_terminal(svc.client, "", queued["id"], svc.reader, timeout=60)
    assert done["status"] == "cancelled"
    svc.client.post(f"/v1/runs/{long_run['id']}/cancel", headers=svc.submitter)
    assert wait_terminal(svc.client, "", long_run["id"], svc.reader, timeout=60)["status"] in (
        "cancelled", "succeeded")


def _bigger_snapshot() -> dict:
    from engine.generate import FleetSpec, generate_snapshot

    return generate_snapshot(FleetSpec(seed=3, vms=400)).model_dump(mode="json", by_alias=True)


# --------------------------------------------------------------------------- schedules and published plans


def test_schedule_publishes_plans_with_etag(svc):
    r = svc.client.post("/v1/schedules", json={"kind": "maintenance", "every": "1h",
                                               "options": {"time_limit_s": 10, "workers": 1}}, headers=svc.admin)
    assert r.status_code == 201, r.text
    schedule = r.json()
    assert schedule["id"] in [s["id"] for s in svc.client.get("/v1/schedules", headers=svc.reader).json()["items"]]

    def published():
        resp = svc.client.get("/v1/plans/latest", params={"schedule": schedule["id"]}, headers=svc.reader)
        return resp if resp.status_code == 200 else None

    resp = wait_until(published, 90, "the schedule's first plan", every=0.2)
    etag = resp.headers["etag"]
    body = resp.json()
    assert body["schedule_id"] == schedule["id"] and body["plan"]["kind"] == "maintenance"
    again = svc.client.get("/v1/plans/latest", params={"schedule": schedule["id"]},
                           headers={**svc.reader, "If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag
    _problem(svc.client.post("/v1/schedules", json={"kind": "maintenance", "every": "soon",
                                                    "options": {"solver": "magic"}}, headers=svc.admin), 422)
    assert svc.client.delete(f"/v1/schedules/{schedule['id']}", headers=svc.admin).status_code == 204
    _problem(svc.client.get("/v1/plans/latest", params={"schedule": schedule["id"]}, headers=svc.reader), 404)


# --------------------------------------------------------------------------- health and metrics


def test_readyz_and_metrics(svc):
    assert svc.client.get("/readyz", headers=svc.reader).json() == {"status": "ready"}
    text = svc.client.get("/metrics", headers=svc.reader).text
    assert 'fleetctl_runs{kind="maintenance",status="succeeded"}' in text
    for name in ("fleetctl_queue_depth", "fleetctl_run_claims_total", "fleetctl_solve_seconds_bucket",
                 "fleetctl_live_workers 1.0"):
        assert name in text, name
