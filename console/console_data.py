"""What the console reads and writes, behind one small facade.

`StoreData` talks to the SQLite store and the runs store (solves run in worker
processes started by `console.runner`); `MemoryData` holds fixed data for
snapshot tests and demos. Every method is synchronous and safe to call from a
worker thread; screens never call them on the UI thread for anything big.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Optional

from engine.model import RESOURCES, Limits, Snapshot, parse_plan


@dataclass(frozen=True)
class HostRowData:
    id: str
    rack: str
    datacenter: str
    state: str
    vms: int
    capacity: dict
    used: dict

    def utilisation(self, resource: str) -> Optional[float]:
        cap = self.capacity.get(resource, 0.0)
        return self.used.get(resource, 0.0) / cap if cap else None


def host_rows(snapshot: Snapshot, extra: Optional[dict[str, list]] = None) -> list[HostRowData]:
    """Hosts with their load; `extra` adds VMs per host (e.g. a placement plan's assignments)."""
    racks = snapshot.rack_by_id
    used: dict[str, list[float]] = {h.id: [0.0, 0.0, 0.0] for h in snapshot.hosts}
    count: dict[str, int] = dict.fromkeys(used, 0)
    vms = list(snapshot.vms)
    for vm in vms:
        if vm.host in used:
            u = used[vm.host]
            u[0] += vm.cpu
            u[1] += vm.memory_gb
            u[2] += vm.disk_gb
            count[vm.host] += 1
    for host_id, added in (extra or {}).items():
        if host_id in used:
            for vm in added:
                u = used[host_id]
                u[0] += vm.cpu
                u[1] += vm.memory_gb
                u[2] += vm.disk_gb
                count[host_id] += 1
    out = []
    for h in snapshot.hosts:
        rack = racks.get(h.rack)
        out.append(HostRowData(h.id, h.rack, rack.datacenter if rack else "?", h.state, count[h.id],
                               {r: h.capacity(r) for r in RESOURCES}, dict(zip(RESOURCES, used[h.id]))))
    return out


def plan_from_dict(data: Optional[dict]) -> Any:
    """A maintenance / placement plan model, the raw dict for other kinds, or None."""
    if not data:
        return None
    if data.get("kind") in ("maintenance", "placement"):
        try:
            return parse_plan(data)
        except ValueError:
            return data
    return data


class ConsoleData:
    """Interface; see StoreData and MemoryData."""

    label = ""
    summary_info: Optional[dict] = None  # set by host_summaries when it knows the fleet's name and counts

    def snapshot(self) -> Optional[Snapshot]:
        raise NotImplementedError

    def host_summaries(self) -> Optional[list[HostRowData]]:
        """The hosts with their load, cheaply (None: not available; read `snapshot()` instead)."""
        return None

    def fleet_sha256(self, snapshot: Snapshot) -> str:
        """engine.fingerprint hash of the current fleet (what plans' `inputs` name)."""
        from engine.fingerprint import sha256_of

        return sha256_of(snapshot)

    def list_runs(self, limit: int = 200) -> list:
        return []

    def get_run(self, run_id: int):
        return None

    def run_progress(self, run_id: int, since_id: int = 0) -> list:
        return []

    def start_run(self, kind: str, limits: Limits, options: dict, problem_path: Optional[str] = None,
                  limits_name: Optional[str] = None) -> int:
        raise RuntimeError("this console has no runs store: open it with --db")

    def cancel_run(self, run_id: int) -> None:
        raise RuntimeError("this console has no runs store")

    def list_limit_sets(self) -> list[str]:
        return []

    def save_limits(self, name: str, limits: Limits) -> None:
        raise RuntimeError("this console has no store to save limit sets in")

    def load_limits(self, name: str) -> Limits:
        raise KeyError(name)


class MemoryData(ConsoleData):
    """Fixed, in-memory data (tests, screenshots)."""

    def __init__(self, snapshot: Optional[Snapshot] = None, runs: Optional[list] = None,
                 progress: Optional[dict[int, list]] = None, limit_sets: Optional[dict[str, Limits]] = None,
                 label: str = "memory") -> None:
        self._snapshot = snapshot
        self._runs = {r.id: r for r in (runs or [])}
        self._progress = progress or {}
        self._limit_sets = dict(limit_sets or {})
        self._lock = threading.Lock()
        self.label = label

    def snapshot(self) -> Optional[Snapshot]:
        return self._snapshot

    def list_runs(self, limit: int = 200) -> list:
        with self._lock:
            runs = sorted(self._runs.values(), key=lambda r: -r.id)[:limit]
        return [replace(r, plan=None) for r in runs]

    def get_run(self, run_id: int):
        return self._runs.get(run_id)

    def run_progress(self, run_id: int, since_id: int = 0) -> list:
        return [p for p in self._progress.get(run_id, []) if p.id > since_id]

    def cancel_run(self, run_id: int) -> None:
        with self._lock:
            run = self._runs[run_id]
            if not run.terminal:
                self._runs[run_id] = replace(run, status="cancelled", cancel_requested=True)

    def list_limit_sets(self) -> list[str]:
        return sorted(self._limit_sets)

    def save_limits(self, name: str, limits: Limits) -> None:
        self._limit_sets[name] = limits

    def load_limits(self, name: str) -> Limits:
        return self._limit_sets[name]


class StoreData(ConsoleData):
    """The SQLite store at `db_path` (fleet, limit sets, runs)."""

    def __init__(self, db_path: Path | str, worker_idle_exit_s: Optional[float] = None, lazy: bool = False) -> None:
        from console.store.urls import mask_url  # light: no SQL import

        self.db_path = db_path if "://" in str(db_path) else Path(db_path)  # a server URL is not a path
        self.label = mask_url(str(db_path))
        self._engine = None
        self._open_lock = threading.Lock()
        if not lazy:
            self._open()
        self._snapshot: Optional[Snapshot] = None
        self._snapshot_id: Optional[int] = None
        self.summary_info: Optional[dict] = None  # the fleet named by the last host summary (name, vms, …)
        self.worker_idle_exit_s = worker_idle_exit_s  # None: the runner's default for detached workers
        self.spawned_workers: list[int] = []

    def _open(self):
        with self._open_lock:
            if self._engine is None:
                from console.store.db import open_engine  # SQLModel's import is slow: lazy opens pay it off the UI

                self._engine = open_engine(self.db_path)
            return self._engine

    @property
    def engine(self):
        return self._engine if self._engine is not None else self._open()

    def snapshot(self) -> Optional[Snapshot]:
        from console.store.fleet_store import current_snapshot, current_snapshot_id

        sid = current_snapshot_id(self.engine)
        if sid is None:
            return None
        if sid != self._snapshot_id or self._snapshot is None:
            self._snapshot = current_snapshot(self.engine)
            self._snapshot_id = sid
        return self._snapshot

    def host_summaries(self) -> Optional[list[HostRowData]]:
        """One SQL summary per host: the Fleet table fills from it while the snapshot loads. A
        SQLite file is read through the stdlib driver before SQLAlchemy is even imported (0.2 s at
        100k VMs, see console.store.host_summary); a server goes through the store."""
        from console.store.host_summary import read_host_summary

        fast = read_host_summary(self.db_path)
        if fast is not None:
            info, rows = fast
            self.summary_info = info
            return [HostRowData(h, rack, dc, state, n, dict(zip(RESOURCES, (c, m, d))), dict(zip(RESOURCES, used)))
                    for h, rack, dc, state, c, m, d, n, *used in rows]
        from console.store.fleet_store import list_hosts

        return [HostRowData(h.id, h.rack, h.datacenter, h.state, h.vms, dict(h.capacity), dict(h.used))
                for h in list_hosts(self.engine)]

    def fleet_sha256(self, snapshot: Snapshot) -> str:
        """The store keeps each fleet version's hash (the same canonical sha256): no need to hash
        100k VMs again (2 s) unless the version predates it."""
        from console.store.fleet_store import current_snapshot_info

        info = current_snapshot_info(self.engine)
        if info is not None and getattr(info, "sha256", None) and info.id == self._snapshot_id:
            return info.sha256
        return super().fleet_sha256(snapshot)

    def list_runs(self, limit: int = 200) -> list:
        from console.store.runs import list_runs

        return list_runs(self.engine, limit=limit)

    def get_run(self, run_id: int):
        from console.store.runs import get_run

        return get_run(self.engine, run_id)

    def run_progress(self, run_id: int, since_id: int = 0) -> list:
        from console.store.runs import run_progress

        return run_progress(self.engine, run_id, since_id)

    def start_run(self, kind: str, limits: Limits, options: dict, problem_path: Optional[str] = None,
                  limits_name: Optional[str] = None) -> int:
        """Queue through the application layer's one submit path (console.ops.runs.submit_run), as the
        CLI and the API do; a refusal comes back as one ValueError line naming every problem."""
        from console.ops.errors import OpsError
        from console.ops.runs import RunRequest, submit_run
        from engine.documents import DocumentError, parse_limits, read_input_text

        try:
            limits = parse_limits(limits.to_json_dict(), "limits")  # the CLI's one validation, again at the door
            request = RunRequest(kind=kind, limits=limits, limits_name=limits_name, options=options)
            if kind == "capacity":
                if not problem_path:
                    raise ValueError("a capacity solve needs a Malloovia problem file")
                path = Path(problem_path).expanduser()
                request.problem_yaml, request.problem_name = read_input_text(path), path.name
            elif self.snapshot() is None:
                raise ValueError("no fleet loaded: run `fleetctl load FILE --db DB` first")
            run_id = submit_run(self.engine, request, spawn_worker=False).id
        except (OpsError, DocumentError) as exc:
            raise ValueError(str(exc)) from None
        self._ensure_worker()
        return run_id

    def _ensure_worker(self) -> None:
        from console.runner import ensure_worker

        pid = ensure_worker(self.db_path, idle_exit_s=self.worker_idle_exit_s)
        if pid is not None:
            self.spawned_workers.append(pid)

    def cancel_run(self, run_id: int) -> None:
        from console.store.runs import request_cancel

        request_cancel(self.engine, run_id)

    def list_limit_sets(self) -> list[str]:
        from console.store.limits_store import list_limit_sets

        return [info.name for info in list_limit_sets(self.engine)]

    def save_limits(self, name: str, limits: Limits) -> None:
        from console.store.limits_store import save_limits

        save_limits(self.engine, name, limits)

    def load_limits(self, name: str) -> Limits:
        from console.store.limits_store import load_limits

        return load_limits(self.engine, name)


SQLITE_HEADER = b"SQLite format 3\x00"


def database_problem(path: Path) -> Optional[str]:
    """Why `path` cannot be a fleetctl database (cheap: no SQL import), or None."""
    if path.is_dir():
        return "it is a directory"
    if path.exists() and path.stat().st_size > 0:
        try:
            with open(path, "rb") as fh:
                head = fh.read(len(SQLITE_HEADER))
        except OSError as exc:
            return str(exc)
        if head != SQLITE_HEADER:
            return "it is not a SQLite database"
    return None
