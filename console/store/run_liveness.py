"""Is the process that owns a run still alive? Host, boot and pid identity.

A pid alone is not an identity: after a machine restart the same number can
belong to another process. A run therefore records its host and the kernel's
boot id; on the same host and boot a pid check is exact, elsewhere only the
heartbeat age can tell.
"""

from __future__ import annotations

import os
import socket
from functools import lru_cache

# A run whose owner lives on another host is presumed dead after this much heartbeat silence.
STALE_HEARTBEAT_S = 60.0


@lru_cache(maxsize=1)
def this_host() -> str:
    return socket.gethostname()


@lru_cache(maxsize=1)
def this_boot() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def pid_alive(pid: int | None) -> bool:
    """True when `pid` is a live (not zombie) process on this machine."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return True  # no /proc (not Linux): trust kill(0)


def owner_death_reason(pid: int | None, host: str | None, boot: str | None, heartbeat_at: float | None, now: float,
                       stale_s: float = STALE_HEARTBEAT_S) -> str | None:
    """Why the owner (pid on host/boot) must be dead, or None when it may be alive."""
    if host == this_host():
        if boot and this_boot() and boot != this_boot():
            return f"the machine {host} restarted since worker process {pid} took the run"
        if not pid_alive(pid):
            return f"worker process {pid} on {host} is no longer alive (killed or crashed)"
        if heartbeat_at is not None and now - heartbeat_at > stale_s:
            return f"worker process {pid} on {host} sent no heartbeat for {now - heartbeat_at:.0f} s (pid reused or hung)"
        return None
    if heartbeat_at is None or now - heartbeat_at > stale_s:
        silent = "ever" if heartbeat_at is None else f"for {now - heartbeat_at:.0f} s"
        return f"worker process {pid} on {host} sent no heartbeat {silent}"
    return None
