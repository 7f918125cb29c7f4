"""What a running API server was configured with (from `fleetctl serve`'s options)."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024
DEFAULT_MAX_BODY_BYTES = 256 * MIB
DEFAULT_QUEUE_QUOTA = 100  # queued runs per token before 429


@dataclass(frozen=True)
class ServiceSettings:
    db: str                                   # path or URL (never logged with its password)
    auth: bool = True                         # False only with --insecure-no-auth on 127.0.0.1
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    queue_quota: int = DEFAULT_QUEUE_QUOTA
    sse_poll_s: float = 0.05                  # how often an event stream looks for new events
    sse_max_s: float = 3600.0                 # a stream closes after this; the client resumes (Last-Event-ID)
    sse_heartbeat_s: float = 15.0             # comment lines keep idle proxies from closing the stream
    sse_coalesce_above: int = 200             # more pending events than this: send only the newest ones
