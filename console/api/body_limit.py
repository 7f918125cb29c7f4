"""A cap on request bodies (413 problem), checked before a route reads anything.

A declared Content-Length over the cap is refused at once; a chunked body is counted as it
arrives and refused as soon as it passes the cap, so no request can make the server buffer more.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException

from console.api.problems import PROBLEM_MEDIA


class _TooLarge(HTTPException):
    """An HTTPException so that FastAPI's body parsing passes it on as a 413, not a 400."""

    def __init__(self, detail: str):
        super().__init__(413, detail)


class BodyLimitMiddleware:
    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def _refuse(self, send, detail: str) -> None:
        body = json.dumps({"type": "about:blank", "title": "Request body too large", "status": 413,
                           "detail": detail}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", PROBLEM_MEDIA.encode()), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.max_bytes
        detail = f"request bodies are limited to {limit} bytes (fleetctl serve --max-body-mb)"
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > limit:
                    return await self._refuse(send, detail)
        seen = 0
        started = False

        async def counted_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge(detail)
            return message

        async def tracked_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except _TooLarge:
            if not started:
                await self._refuse(send, detail)
