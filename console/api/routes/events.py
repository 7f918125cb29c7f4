"""GET /v1/runs/{id}/events: Server-Sent Events of a run until it ends.

Each progress event and incumbent the executor stored is sent as `event: progress` with its
store id as the SSE `id:`; a client that reconnects with `Last-Event-ID` gets what followed.
`event: status` announces a status change, and the stream ends with `event: end` carrying the
terminal status. When more than `sse_coalesce_above` events are waiting (the client reads
slower than the solver reports), only the newest ones are sent, the first of them saying how
many were skipped (`coalesced`): the latest event is never dropped, and `end` is always sent
after every event stored before the run finished (the status is read before the events).
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Optional

import anyio
from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from console.api.auth import Principal, require

router = APIRouter(prefix="/v1/runs", tags=["runs"])
RECOVER_EVERY_S = 1.0


def _frame(event: str, data: dict, event_id: Optional[int] = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _progress(e, coalesced: int = 0) -> dict:
    d = e.to_dict()
    d["at_unix"] = e.at
    if coalesced:
        d["coalesced"] = coalesced
    return d


def _state(engine, run_id: int, recover: bool):
    from console.store.run_state import get_run_state
    from console.store.runs import recover_dead_runs

    if recover:
        recover_dead_runs(engine)
    return get_run_state(engine, run_id)


@router.get("/{run_id}/events", summary="Server-Sent Events: progress, incumbents, status, end",
            responses={200: {"content": {"text/event-stream": {}}}})
async def run_events(request: Request, run_id: Annotated[int, Path(ge=1, le=2**62)],
                     last_event_id: Optional[str] = Header(None, alias="Last-Event-ID", max_length=20,
                                                           pattern=r"^[0-9]+$"),
                     _: Principal = Depends(require("read"))) -> StreamingResponse:
    engine, settings = request.app.state.engine, request.app.state.settings
    from console.ops.runs import get_run

    await run_in_threadpool(get_run, engine, run_id)  # NotFound -> 404
    since = min(int(last_event_id), 2**62) if last_event_id else 0

    async def stream():
        # The loop polls the store's two cheap reads (status, new events) rather than ops.get_run,
        # which loads the whole plan: at 20 polls a second per client that would dominate.
        from console.store.runs import run_progress

        last_id, last_status = since, None
        opened = last_sent = last_recover = time.monotonic()
        while True:
            now = time.monotonic()
            recover = now - last_recover >= RECOVER_EVERY_S
            if recover:
                last_recover = now
            state = await run_in_threadpool(_state, engine, run_id, recover)
            if state is None:  # deleted under us
                yield _frame("end", {"run_id": run_id, "status": "gone"}, last_id)
                return
            events = await run_in_threadpool(run_progress, engine, run_id, last_id)
            skipped = max(0, len(events) - settings.sse_coalesce_above)
            for i, e in enumerate(events[skipped:]):
                yield _frame("progress", _progress(e, skipped if i == 0 else 0), e.id)
                last_id, last_sent = e.id, time.monotonic()
            if state.status != last_status:
                last_status = state.status
                yield _frame("status", state.to_dict(), last_id)
                last_sent = time.monotonic()
            if state.terminal:
                yield _frame("end", state.to_dict(), last_id)
                return
            if time.monotonic() - last_sent >= settings.sse_heartbeat_s:
                yield ": keep-alive\n\n"
                last_sent = time.monotonic()
            if time.monotonic() - opened >= settings.sse_max_s or await request.is_disconnected():
                return
            await anyio.sleep(settings.sse_poll_s)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
