"""The plan lifecycle over HTTP against a real `fleetctl serve` (SQLite and PostgreSQL): approve → start → report →
next → status, replan, apply, every refusal as a problem (never a 500), idempotent event retries, auth.

One server for the module; each test adds its own run of the same fleet, so tests do not depend on
each other, except that the apply test (last) replaces the current fleet."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from lifecycle_support import LIMITS, add_run, store_with_run
from tests.service_support import Server, auth, database, make_token

PROBLEM = "application/problem+json"


@dataclass
class Svc:
    client: httpx.Client
    engine: object
    snapshot: object
    plan: object
    admin: dict
    reader: dict
    submitter: dict
    server: Server

    def new_run(self, plan=None) -> int:
        return add_run(self.engine, self.snapshot, LIMITS, plan or self.plan)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def svc(request, tmp_path_factory):
    from console.store.fleet_store import current_snapshot

    tmp = tmp_path_factory.mktemp(f"api-lifecycle-{request.param}")
    with database(request.param, tmp) as db:
        engine, _, plan = store_with_run(db)
        tokens = {scope: make_token(db, f"t-{scope}", scope) for scope in ("admin", "read", "submit")}
        server = Server(db, workers=0, log_dir=tmp).start()
        try:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                yield Svc(client, engine, current_snapshot(engine), plan, auth(tokens["admin"]),
                          auth(tokens["read"]), auth(tokens["submit"]), server)
        finally:
            server.stop()
            engine.dispose()
        assert "Traceback" not in server.log(), server.log()


def problem(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status and body["title"] and "Traceback" not in r.text
    return body


def started(svc: Svc, run_id: int | None = None) -> tuple[int, int]:
    """(run id, execution id) of a fresh run, approved and started."""
    run_id = run_id or svc.new_run()
    r = svc.client.post(f"/v1/runs/{run_id}/approve", json={"by": "alice", "note": "CHG-7"}, headers=svc.submitter)
    assert r.status_code == 200, r.text
    r = svc.client.post("/v1/executions", json={"run_id": run_id, "at": "2026-12-02T06:00:00Z"},
                        headers=svc.submitter)
    assert r.status_code == 201, r.text
    return run_id, r.json()["id"]


def first_action(svc: Svc, i: int = 0) -> str:
    return f"migrate:{svc.plan.runbook()[i].vm}"


# --------------------------------------------------------------------------- auth


def test_lifecycle_endpoints_need_a_token_and_writes_need_the_submit_scope(svc):
    run_id = svc.new_run()
    for method, path in (("POST", f"/v1/runs/{run_id}/approve"), ("GET", f"/v1/runs/{run_id}/history"),
                         ("GET", f"/v1/runs/{run_id}/margins"), ("POST", "/v1/executions"),
                         ("GET", "/v1/executions/1"), ("POST", "/v1/executions/1/events"),
                         ("GET", "/v1/executions/1/next"), ("POST", "/v1/executions/1/cancel")):
        r = svc.client.request(method, path)
        problem(r, 401)
        assert r.headers["www-authenticate"].startswith("Bearer"), path
    body = problem(svc.client.post(f"/v1/runs/{run_id}/approve", json={}, headers=svc.reader), 403)
    assert "submit" in body["detail"]
    problem(svc.client.post("/v1/executions", json={"run_id": run_id}, headers=svc.reader), 403)
    problem(svc.client.post("/v1/executions/1/events", json={"action": "x", "state": "done", "at": 0},
                            headers=svc.reader), 403)
    problem(svc.client.get(f"/v1/runs/{run_id}/history", headers=svc.submitter), 403)
    # the read-only token did not approve anything
    hist = svc.client.get(f"/v1/runs/{run_id}/history", headers=svc.reader).json()
    assert hist["state"]["state"] == "draft" and hist["events"] == []


# --------------------------------------------------------------------------- the workflow


def test_approve_start_report_next_status(svc):
    run_id = svc.new_run()
    r = svc.client.post(f"/v1/runs/{run_id}/approve", json={"note": "CHG-42"}, headers=svc.submitter)
    assert r.status_code == 200, r.text
    st = r.json()
    assert st["state"] == "approved" and st["approved_by"] == "t-submit" and st["note"] == "CHG-42"
    assert len(st["snapshot_sha256"]) == 64 and len(st["plan_sha256"]) == 64
    hist = svc.client.get(f"/v1/runs/{run_id}/history", headers=svc.reader).json()
    assert [(e["from_state"], e["to_state"], e["actor"]) for e in hist["events"]] == [("draft", "approved", "t-submit")]
    margins = svc.client.get(f"/v1/runs/{run_id}/margins", headers=svc.reader).json()
    assert margins["makespan"] == svc.plan.makespan and margins["margins"]

    r = svc.client.post("/v1/executions", json={"run_id": run_id, "at": "2026-12-02T06:00:00Z"}, headers=svc.submitter)
    assert r.status_code == 201, r.text
    ex = r.json()["id"]
    assert r.headers["location"] == f"/v1/executions/{ex}"
    assert svc.client.get(f"/v1/runs/{run_id}/history", headers=svc.reader).json()["state"]["state"] == "executing"

    aid = first_action(svc)
    r = svc.client.post(f"/v1/executions/{ex}/events", json={"action": aid, "state": "started", "at": 0},
                        headers=svc.submitter)
    assert r.status_code == 200 and r.json()["applied"] == 1, r.text
    nxt = svc.client.get(f"/v1/executions/{ex}/next", params={"now": 1}, headers=svc.reader).json()
    assert nxt["now"] == 1 and aid not in [a["action"] for a in nxt["may_start"]]
    assert {"may_start", "held_back", "not_due"} <= set(nxt)
    for h in nxt["held_back"]:
        assert h["reasons"], h
    status = svc.client.get(f"/v1/executions/{ex}", params={"now": 1}, headers=svc.reader).json()
    assert status["state"] == "executing" and status["counts"]["in_progress"] == 1 and status["run"] == run_id
    assert status["planned_end"] == svc.plan.makespan

    # a long-running action is late and pushes the projected end
    late = svc.client.get(f"/v1/executions/{ex}", params={"now": svc.plan.makespan + 5}, headers=svc.reader).json()
    assert aid in [d["action"] for d in late["late"]] and late["projected_end"] > late["planned_end"]


def test_an_event_retry_is_recorded_once_and_a_batch_is_all_or_none(svc):
    _, ex = started(svc)
    a0, a1 = first_action(svc, 0), first_action(svc, 1)
    batch = [{"action": a0, "state": "started", "at": 0}, {"action": a0, "state": "done", "at": 30}]
    first = svc.client.post(f"/v1/executions/{ex}/events", json=batch, headers=svc.submitter).json()
    assert (first["applied"], first["duplicates"]) == (2, 0)
    retry = svc.client.post(f"/v1/executions/{ex}/events", json=batch, headers=svc.submitter).json()
    assert (retry["applied"], retry["duplicates"]) == (0, 2)
    # one bad event in a batch: 409 naming it, and the good one before it is not recorded
    bad = [{"action": a1, "state": "started", "at": 31}, {"action": "migrate:no-such-vm", "state": "started", "at": 31}]
    body = problem(svc.client.post(f"/v1/executions/{ex}/events", json=bad, headers=svc.submitter), 409)
    assert any("event 2" in e["detail"] and "no-such-vm" in e["detail"] for e in body["errors"])
    assert all(e["record"] == f"execution {ex}" for e in body["errors"])
    counts = svc.client.get(f"/v1/executions/{ex}", headers=svc.reader).json()["counts"]
    assert counts["done"] == 1 and counts["in_progress"] == 0


def test_the_same_batch_sent_concurrently_is_recorded_once(svc):
    """Reporters retrying at the same moment: the store's row lock makes exactly one of them record it."""
    from concurrent.futures import ThreadPoolExecutor

    _, ex = started(svc)
    aid = first_action(svc)
    batch = [{"action": aid, "state": "started", "at": 0}, {"action": aid, "state": "done", "at": 9}]

    def send(_):
        with httpx.Client(base_url=svc.client.base_url, timeout=60) as c:
            return c.post(f"/v1/executions/{ex}/events", json=batch, headers=svc.submitter)

    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(send, range(4)))
    assert all(r.status_code == 200 for r in replies), [r.text for r in replies]
    assert sorted(r.json()["applied"] for r in replies) == [0, 0, 0, 2]
    assert sum(r.json()["duplicates"] for r in replies) == 6
    assert svc.client.get(f"/v1/executions/{ex}", headers=svc.reader).json()["counts"]["done"] == 1
    svc.client.post(f"/v1/executions/{ex}/cancel", json={"reason": "test done"}, headers=svc.submitter)


# --------------------------------------------------------------------------- refusals


def test_each_refusal_is_a_problem_naming_the_reason_and_the_record(svc):
    run_id, ex = started(svc)
    body = problem(svc.client.post(f"/v1/runs/{run_id}/approve", json={}, headers=svc.submitter), 409)
    assert "already executing" in body["detail"] and body["errors"][0]["record"] == f"run {run_id}"

    invalid = svc.new_run(svc.plan.model_copy(update={"makespan": svc.plan.makespan + 1}))
    body = problem(svc.client.post(f"/v1/runs/{invalid}/approve", headers=svc.submitter), 409)
    assert "not valid" in body["detail"] and "makespan" in body["detail"]

    draft = svc.new_run()
    body = problem(svc.client.post("/v1/executions", json={"run_id": draft}, headers=svc.submitter), 409)
    assert "only an approved plan can start" in body["detail"]
    body = problem(svc.client.post("/v1/executions", json={"run_id": 999_999}, headers=svc.submitter), 422)
    assert body["errors"][0]["field"] == "run_id" and "no run 999999" in body["detail"]
    body = problem(svc.client.post("/v1/executions", json={"run_id": draft, "at": "2026-12-02T06:00:00"},
                                   headers=svc.submitter), 422)
    assert any("at" in e["detail"] for e in body["errors"])

    problem(svc.client.post("/v1/runs/999999/approve", headers=svc.submitter), 404)
    problem(svc.client.get("/v1/runs/999999/history", headers=svc.reader), 404)
    problem(svc.client.get("/v1/executions/999999", headers=svc.reader), 404)
    problem(svc.client.post("/v1/executions/999999/events", json={"action": first_action(svc), "state": "started",
                                                                  "at": 0}, headers=svc.submitter), 404)

    aid = first_action(svc)
    body = problem(svc.client.post(f"/v1/executions/{ex}/events", json={"action": "reboot:nowhere", "state": "started",
                                                                      "at": 0}, headers=svc.submitter), 409)
    assert "reboot:nowhere" in body["detail"]
    body = problem(svc.client.post(f"/v1/executions/{ex}/events", json={"action": aid, "state": "done", "at": 3},
                                   headers=svc.submitter), 409)  # done before it started
    assert aid in body["detail"] or "not started" in body["detail"] or "pending" in body["detail"]
    body = problem(svc.client.post(f"/v1/executions/{ex}/events",
                                   json=[{"action": aid, "state": "begun", "at": -1, "extra": 1}],
                                   headers=svc.submitter), 422)
    assert body["errors"][0]["pointer"] == "#/body/0" and "state" in body["errors"][0]["detail"]
    assert "extra" in body["errors"][0]["detail"] and "'at'" in body["errors"][0]["detail"]
    problem(svc.client.post(f"/v1/executions/{ex}/events", json=[], headers=svc.submitter), 422)

    assert svc.client.post(f"/v1/executions/{ex}/events", json={"action": aid, "state": "started", "at": 5},
                           headers=svc.submitter).status_code == 200
    body = problem(svc.client.get(f"/v1/executions/{ex}", params={"now": 1}, headers=svc.reader), 409)
    assert "before the latest event" in body["detail"]

    problem(svc.client.post(f"/v1/executions/{ex}/cancel", json={"reason": " "}, headers=svc.submitter), 422)
    r = svc.client.post(f"/v1/executions/{ex}/cancel", json={"reason": "window closed"}, headers=svc.submitter)
    assert r.status_code == 200 and r.json()["state"] == "cancelled", r.text
    body = problem(svc.client.post(f"/v1/executions/{ex}/cancel", json={"reason": "again"}, headers=svc.submitter), 409)
    assert "already cancelled" in body["detail"]
    body = problem(svc.client.post(f"/v1/executions/{ex}/events", json={"action": aid, "state": "done", "at": 9},
                                   headers=svc.submitter), 409)
    assert "cancelled" in body["detail"]
    problem(svc.client.get(f"/v1/executions/{ex}/next", headers=svc.reader), 409)
    assert svc.client.get(f"/v1/runs/{run_id}/history", headers=svc.reader).json()["state"]["state"] == "cancelled"


def test_replan_is_a_draft_run_that_approval_makes_the_plan_the_execution_follows(svc):
    run_id, ex = started(svc)
    aid = first_action(svc)
    events = [{"action": aid, "state": "started", "at": 0}, {"action": aid, "state": "failed", "at": 2,
                                                            "reason": "network"}]
    assert svc.client.post(f"/v1/executions/{ex}/events", json=events, headers=svc.submitter).status_code == 200
    r = svc.client.post(f"/v1/executions/{ex}/replan", json={"now": 15, "time_limit_s": 3, "workers": 1},
                        headers=svc.submitter)
    assert r.status_code == 201, r.text
    res = r.json()
    assert res["now"] == 15 and r.headers["location"] == f"/v1/runs/{res['run']}"
    plan = svc.client.get(f"/v1/runs/{res['run']}/plan", headers=svc.reader).json()
    assert plan["execution"]["failed"] == [aid]
    assert svc.client.get(f"/v1/runs/{res['run']}/history", headers=svc.reader).json()["state"]["state"] == "draft"
    r = svc.client.post(f"/v1/runs/{res['run']}/approve", json={"by": "bob"}, headers=svc.submitter)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "executing" and r.json()["links"]["self"] == f"/v1/executions/{ex}"
    assert svc.client.get(f"/v1/runs/{run_id}/history", headers=svc.reader).json()["state"]["state"] == "superseded"
    assert svc.client.get(f"/v1/executions/{ex}", headers=svc.reader).json()["run"] == res["run"]
    problem(svc.client.post(f"/v1/executions/{ex}/replan", json={"time_limit_s": 0}, headers=svc.submitter), 422)
    svc.client.post(f"/v1/executions/{ex}/cancel", json={"reason": "test done"}, headers=svc.submitter)


def test_an_event_beyond_any_plan_minute_or_far_too_long_is_a_422_not_a_server_error(svc):
    """A minute past what the store's integers hold was an OverflowError (500) before parse_event bounded it."""
    _, ex = started(svc)
    aid = first_action(svc)
    for bad, word in (({"action": aid, "state": "started", "at": 10**30}, "'at' is too large"),
                      ({"action": "migrate:" + "v" * 5000, "state": "started", "at": 1}, "'action' is too long"),
                      ({"action": aid, "state": "failed", "at": 1, "reason": "x" * 20_000}, "'reason' is too long")):
        body = problem(svc.client.post(f"/v1/executions/{ex}/events", json=bad, headers=svc.submitter), 422)
        assert word in body["errors"][0]["detail"] and len(body["errors"][0]["detail"]) < 300
    assert svc.client.get(f"/v1/executions/{ex}", headers=svc.reader).json()["counts"]["in_progress"] == 0
    svc.client.post(f"/v1/executions/{ex}/cancel", json={"reason": "test done"}, headers=svc.submitter)


def test_apply_refuses_while_actions_run_then_writes_the_fleet_and_older_plans_go_stale(svc):
    """Last: it replaces the current fleet."""
    _, ex = started(svc)
    stale = svc.new_run()
    aid = first_action(svc)
    svc.client.post(f"/v1/executions/{ex}/events", json={"action": aid, "state": "started", "at": 0},
                    headers=svc.submitter)
    body = problem(svc.client.post(f"/v1/executions/{ex}/apply", headers=svc.submitter), 409)
    assert "in progress" in body["detail"]
    svc.client.post(f"/v1/executions/{ex}/events", json={"action": aid, "state": "done", "at": 20},
                    headers=svc.submitter)
    body = problem(svc.client.post(f"/v1/executions/{ex}/apply", json={}, headers=svc.submitter), 409)
    assert "not done" in body["detail"]
    r = svc.client.post(f"/v1/executions/{ex}/apply", json={"partial": True}, headers=svc.submitter)
    assert r.status_code == 200, r.text
    snap_id = r.json()["snapshot_id"]
    assert svc.client.get("/v1/snapshots/current", headers=svc.reader).json()["id"] == snap_id
    body = problem(svc.client.post(f"/v1/runs/{stale}/approve", headers=svc.submitter), 409)
    assert "another fleet" in body["detail"]
    problem(svc.client.post(f"/v1/executions/{ex}/apply", json={"partial": True}, headers=svc.submitter), 409)
