"""Approve and replan from the Schedule screen: a confirmation first, then the application layer
(console.ops.lifecycle) in a thread worker that posts its outcome; refusals show its own words.

A mixin of ScheduleScreen, which provides the view it reads (`_view`), the header (`_progress_changed`)
and the lifecycle refresh (`read_lifecycle`).
"""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual import work
from textual.message import Message

from console.screens.confirm import ConfirmScreen
from console.widgets.gantt import fmt_minutes
from engine.model import MaintenancePlan

REPLAN_TIME_LIMIT_S = 10.0  # the replan's solve (issue 15: a valid replan within 10 s)


class LifecycleOpDone(Message):
    """An approve or replan finished: `text` on success, else the application layer's reasons."""

    def __init__(self, text: str, error: Optional[list[str]] = None, open_run: Optional[int] = None) -> None:
        super().__init__()
        self.text, self.error, self.open_run = text, error, open_run


class LifecycleActions:

    def _has_store(self) -> bool:
        """Whether the console reads a database (else in-memory data: tests, embedding; no lifecycle).
        Asked of the data's type: the instance's `engine` property would open the store."""
        return hasattr(type(self.app.data), "engine")

    def _store_engine(self):
        """The runs store's engine (worker threads only: opening it imports SQLModel); None without a store."""
        return self.app.data.engine if self._has_store() else None

    def _lifecycle_ready(self, what: str) -> Optional[int]:
        """The shown run's id when `what` can be asked for; else say why and return None."""
        if self._op_running:
            self.notify("an approval or replan is still running", severity="warning")
            return None
        run_id = self.app.shown_run_id
        if run_id is None or not isinstance(self.app.shown_plan, MaintenancePlan):
            self.notify(f"no maintenance plan shown to {what}: open a run on Runs (6)", severity="warning")
            return None
        if not self._has_store():
            self.notify(f"to {what} a plan the console needs its database (fleetctl console --db FILE)",
                        severity="warning")
            return None
        return run_id

    def action_approve_plan(self) -> None:
        from console.ops.lifecycle import default_actor

        run_id = self._lifecycle_ready("approve")
        if run_id is None:
            return
        plan: MaintenancePlan = self.app.shown_plan
        who = default_actor()
        question = (f"Approve run {run_id}'s plan as {who}?\n\n{len(plan.migrations)} migrations, "
                    f"{len(plan.reboots)} reboots, makespan {fmt_minutes(plan.makespan or 0)}.\n"
                    "The approval is bound to the current fleet snapshot, the run's limits and exactly this plan.")
        state = self._view.state if self._view is not None else None
        if state is not None and state.parent_run_id is not None:
            question += (f"\nExecution {state.execution_id} then continues on it and run {state.parent_run_id}"
                         " is superseded.")

        def answer(yes: Optional[bool]) -> None:
            if yes:
                self._op_running = True
                self._approve(run_id, who)

        self.app.push_screen(ConfirmScreen(question, yes="Approve"), answer)

    @work(thread=True, exclusive=True, group="schedule-op")
    def _approve(self, run_id: int, who: str) -> None:
        from console.ops.lifecycle import Refused, approve
        from console.screens.schedule_lifecycle import utc

        try:
            st = approve(self._store_engine(), run_id, by=who)
        except Refused as exc:
            self.post_message(LifecycleOpDone(f"run {run_id} not approved", error=exc.lines()))
            return
        except Exception as exc:  # never a traceback on screen: the one line that says what failed
            self.post_message(LifecycleOpDone(f"run {run_id} not approved", error=[f"{type(exc).__name__}: {exc}"]))
            return
        text = f"run {run_id}: plan {st.state}, approved by {st.approved_by} at {utc(st.approved_at)}"
        if st.parent_run_id is not None:
            text += f"; run {st.parent_run_id} superseded, execution {st.execution_id} continues on run {run_id}"
        self.post_message(LifecycleOpDone(text))

    def action_replan_execution(self) -> None:
        from console.ops.lifecycle import default_actor

        run_id = self._lifecycle_ready("replan")
        if run_id is None:
            return
        view = self._view
        if view is None or not view.executing:
            self.notify(f"no execution follows run {run_id}'s plan: nothing to replan (approve it, then "
                        f"fleetctl exec start {run_id})", severity="warning", timeout=6)
            return
        s = view.status
        question = (f"Replan execution {view.execution.id} from minute {s.now}?\n\n"
                    f"{s.counts['done']} done and {s.counts['in_progress']} in-progress actions stay as they are; "
                    f"the other {s.counts['pending'] + s.counts['failed']} are solved again "
                    f"(up to {REPLAN_TIME_LIMIT_S:g} s).\nThe new plan opens as a draft: approving it (a) "
                    f"supersedes run {run_id}.")
        who = default_actor()

        def answer(yes: Optional[bool]) -> None:
            if yes:
                self._op_running = True
                self._op_message = Text(f"replanning execution {view.execution.id} …", style="bold blue")
                self._progress_changed(0)
                self._replan(view.execution.id, run_id, who)

        self.app.push_screen(ConfirmScreen(question, yes="Replan"), answer)

    @work(thread=True, exclusive=True, group="schedule-op")
    def _replan(self, execution_id: int, run_id: int, who: str) -> None:
        from console.ops.lifecycle import Refused, replan

        try:
            out = replan(self._store_engine(), execution_id, time_limit_s=REPLAN_TIME_LIMIT_S, by=who)
        except Refused as exc:
            self.post_message(LifecycleOpDone(f"execution {execution_id} not replanned", error=exc.lines()))
            return
        except Exception as exc:
            self.post_message(LifecycleOpDone(f"execution {execution_id} not replanned",
                                          error=[f"{type(exc).__name__}: {exc}"]))
            return
        self.post_message(LifecycleOpDone(
            f"run {out.run_id}: replan of execution {execution_id} in {out.wall_s:.1f} s — makespan "
            f"{fmt_minutes(out.old_makespan)} → {fmt_minutes(out.plan.makespan or 0)}, {out.changed} of "
            f"{out.pending} pending actions changed. Approve it (a) to supersede run {run_id}.",
            open_run=out.run_id))

    def on_lifecycle_op_done(self, event: LifecycleOpDone) -> None:
        self._op_running = False
        if event.error:
            self._op_message = Text(f"{event.text}: " + "; ".join(event.error), style="bold red")
            self.notify("\n".join(event.error), title=event.text, severity="error", timeout=10)
        else:
            self.notify(event.text, timeout=8)
        if event.open_run is not None:
            self.app.open_run(event.open_run)  # the new plan replaces the chart (and its header)
        else:
            if not event.error:
                self._op_message = Text(event.text, style="green")
            self._progress_changed(0)
            self.read_lifecycle(force=True)
