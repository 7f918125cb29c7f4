"""Bearer tokens with scopes: `Depends(require("submit"))` on each route.

401 without a valid token (with `WWW-Authenticate: Bearer`), 403 when the token lacks the
scope. A token is looked up by its sha256; hits are cached for a second so that a busy
client does not cost a query per request, and a revocation takes effect within that second.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Optional

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from console.api.problems import ApiProblem

CACHE_S = 1.0
_bearer = HTTPBearer(auto_error=False, description="A token from `fleetctl tokens create NAME --scope …`")


@dataclass(frozen=True)
class Principal:
    token_id: int          # console.store.submissions.ANONYMOUS without authentication
    name: str
    scopes: tuple[str, ...]


class _TokenCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, tuple[float, object]] = {}

    def get(self, engine, secret: str):
        from console.store.tokens import authenticate, token_hash

        now = time.monotonic()
        digest = token_hash(secret)  # the cache holds hashes too, never a token
        with self._lock:
            hit = self._items.get(digest)
        if hit is not None and now - hit[0] < CACHE_S:
            return hit[1]
        view = authenticate(engine, secret)
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[digest] = (now, view)
        return view


_cache = _TokenCache()


def require(scope: str):
    """A dependency that returns the caller's Principal once it holds `scope` (or `admin`)."""

    def dependency(request: Request,
                   credentials: Optional[HTTPAuthorizationCredentials] = Depends(_bearer)) -> Principal:
        from console.store.submissions import ANONYMOUS

        state = request.app.state
        if not state.settings.auth:
            return Principal(ANONYMOUS, "anonymous", ("admin",))
        challenge = {"WWW-Authenticate": 'Bearer realm="fleetctl"'}
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise ApiProblem(401, "Unauthorized", "send a token: Authorization: Bearer <token>", headers=challenge)
        view = _cache.get(state.engine, credentials.credentials)
        if view is None:
            raise ApiProblem(401, "Unauthorized", "unknown or revoked token", headers=challenge)
        if not view.allows(scope):
            raise ApiProblem(403, "Forbidden", f"token {view.name!r} lacks the {scope!r} scope "
                          f"(it has: {', '.join(view.scopes)})")
        return Principal(view.id, view.name, view.scopes)

    return dependency
