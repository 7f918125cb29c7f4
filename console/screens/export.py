"""Export a runbook from a screen: which fleet's plan, which file, never a silent overwrite.

1. A plan made for another fleet is exported only after the operator confirms it.
2. The operator picks the file; the default names the fleet, the run and the time
   (`runbook-<fleet>-run<N>-<UTC time>.csv`), so exports from two databases never collide.
3. An existing file is replaced only after a second confirmation.
4. The bytes come from `console.runbook` (the CLI's `--csv` writer), written atomically.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Optional

from console.screens.ask import AskScreen
from console.screens.confirm import ConfirmScreen


def default_runbook_path(fleet: Optional[str], run_id: Optional[int], what: str = "runbook",
                         now: Optional[float] = None, folder: Optional[Path] = None) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(time.time() if now is None else now))
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", fleet or "fleet").strip("-.") or "fleet"
    run = f"run{run_id}" if run_id is not None else "unsaved"
    return (folder or Path.cwd()) / f"{what}-{name}-{run}-{stamp}.csv"


def export_runbook(screen, migrations: list, reboots: list, what: str = "runbook") -> None:
    """Ask (stale plan → confirm; path; overwrite → confirm), then write in a worker thread."""
    app = screen.app
    snapshot = app.snapshot
    fleet = (snapshot.name if snapshot is not None else None) or Path(getattr(app.data, "label", "") or "fleet").stem
    default = default_runbook_path(fleet, app.shown_run_id, what)

    def ask_path(_ok: object = True) -> None:
        app.push_screen(AskScreen(f"Write the {what} ({len(migrations)} migrations, {len(reboots)} reboots) to:",
                                  str(default), hint="enter write · esc cancel · an existing file is never "
                                                     "replaced without asking"), chosen)

    def chosen(answer: Optional[str]) -> None:
        if not answer:
            screen.notify("export cancelled", timeout=2)
            return
        path = Path(answer).expanduser()
        if path.is_dir():
            path = path / default.name
        if path.exists():
            app.push_screen(ConfirmScreen(f"{path} exists.\nReplace it with this {what}?", yes="Replace"),
                            lambda yes: write(path) if yes else screen.notify("not written: the file is kept",
                                                                              timeout=3))
        else:
            write(path)

    def write(path: Path) -> None:
        _write(app, screen, path, migrations, reboots, snapshot, what)

    problem = app.plan_origin_problem()
    if problem is not None:
        app.push_screen(ConfirmScreen(f"{problem}\n\nExport its {what} anyway?", yes="Export anyway"),
                        lambda yes: ask_path() if yes else screen.notify("not exported", timeout=2))
    else:
        ask_path()


def _write(app, screen, path: Path, migrations, reboots, snapshot, what: str) -> None:
    def job() -> None:
        from console.runbook import write_runbook

        try:
            write_runbook(path, migrations, reboots, snapshot)
        except OSError as exc:
            app.call_from_thread(screen.notify, str(exc), title="not exported", severity="error", timeout=8)
            return
        app.call_from_thread(screen.notify, f"{what} written to {path}", timeout=6)

    app.run_worker(job, thread=True, group="export", exit_on_error=False)


