"""What really happened while a maintenance plan ran: actions, events, facts.

An execution follows one plan (FORMATS.md action ids `migrate:<vm>` / `reboot:<host>`).
Each action moves pending → in_progress → done | failed | skipped; a failed action may be
started again (a failed migration leaves its VM on the source, a failed reboot leaves the
host needing one). `Execution.apply(event)` refuses an illegal event with `EventRefused`
and changes nothing: an unknown action, a transition from a final state (done → started),
a time before the action's previous event, a reboot started while VMs still leave its host,
a migration started to a rolling target that has not rebooted yet.

Applying the very same event twice (same action, state and minute) is a no-op, so a
recorder that retries after a crash never applies an event twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from engine.checks import MAX_PLAN_MINUTE
from engine.model import MaintenancePlan

EVENT_STATES = ("started", "done", "failed", "skipped")
ACTION_STATES = ("pending", "in_progress", "done", "failed", "skipped")
EVENT_KEYS = ("action", "state", "at", "reason")
MAX_ACTION_CHARS, MAX_REASON_CHARS = 1000, 10_000  # far beyond `reboot:<host id>`; bounded so a refusal stays short


class EventRefused(ValueError):
    """An event that cannot be applied; the execution is unchanged."""


@dataclass(frozen=True)
class Event:
    action: str
    state: str
    at: int
    reason: Optional[str] = None

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.action, self.state, self.at)

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"action": self.action, "state": self.state, "at": self.at}
        if self.reason:
            out["reason"] = self.reason
        return out


def parse_event(data: Any) -> Event:
    """An event from its JSON object (FORMATS.md); every problem named in one EventRefused."""
    if not isinstance(data, dict):
        raise EventRefused(f"an event must be a JSON object, got {type(data).__name__}")
    problems = [f"unknown key {k!r}" for k in sorted(set(data) - set(EVENT_KEYS))]
    action, state, at, reason = (data.get(k) for k in EVENT_KEYS)
    if not isinstance(action, str) or not action:
        problems.append("'action' must be a non-empty string (migrate:<vm> or reboot:<host>)")
    elif len(action) > MAX_ACTION_CHARS:
        problems.append(f"'action' is too long ({len(action)} characters, at most {MAX_ACTION_CHARS})")
    if state not in EVENT_STATES:
        problems.append(f"'state' must be one of {', '.join(EVENT_STATES)}, got {state!r}")
    if isinstance(at, bool) or not isinstance(at, int) or at < 0:
        problems.append(f"'at' must be a whole number of minutes ≥ 0, got {repr(at)[:40]}")
    elif at > MAX_PLAN_MINUTE:  # a plan's times are bounded so; a larger one overflows the store's integers
        problems.append(f"'at' is too large (at most {MAX_PLAN_MINUTE:g} minutes)")
    if reason is not None and not isinstance(reason, str):
        problems.append(f"'reason' must be a string, got {repr(reason)[:40]}")
    elif reason is not None and len(reason) > MAX_REASON_CHARS:
        problems.append(f"'reason' is too long ({len(reason)} characters, at most {MAX_REASON_CHARS})")
    if problems:
        raise EventRefused("; ".join(problems))
    return Event(action, state, at, reason or None)


@dataclass(frozen=True)
class PlannedAction:
    """One action as the plan has it."""

    id: str
    kind: str                 # migrate | reboot
    subject: str              # vm id or host id
    source: Optional[str]     # migrate: the VM's host; reboot: the host
    target: Optional[str]     # migrate only
    start: int
    end: int

    @property
    def duration(self) -> int:
        return self.end - self.start


def migrate_id(vm: str) -> str:
    return f"migrate:{vm}"


def reboot_id(host: str) -> str:
    return f"reboot:{host}"


def planned_actions(plan: MaintenancePlan) -> dict[str, PlannedAction]:
    out: dict[str, PlannedAction] = {}
    for m in plan.migrations:
        out[migrate_id(m.vm)] = PlannedAction(migrate_id(m.vm), "migrate", m.vm, m.source, m.target, m.start, m.end)
    for r in plan.reboots:
        out[reboot_id(r.host)] = PlannedAction(reboot_id(r.host), "reboot", r.host, r.host, None, r.start, r.end)
    return out


@dataclass
class ActionState:
    id: str
    state: str = "pending"
    started_at: Optional[int] = None
    ended_at: Optional[int] = None   # done / failed / skipped minute
    last_at: Optional[int] = None    # minute of the latest event applied to it
    attempts: int = 0
    reason: Optional[str] = None


@dataclass(frozen=True)
class Fact:
    """A done or in-progress action: where and when it really ran (in progress: end projected)."""

    id: str
    kind: str
    subject: str
    source: Optional[str]
    target: Optional[str]
    start: int
    end: int
    state: str  # done | in_progress


@dataclass
class Facts:
    """What a continuation may not move, at minute `now`."""

    now: int
    done: dict[str, Fact] = field(default_factory=dict)
    in_progress: dict[str, Fact] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    skipped: set[str] = field(default_factory=set)

    def all(self) -> dict[str, Fact]:
        return {**self.done, **self.in_progress}


class Execution:
    """The states of one plan's actions, built by applying events in the order recorded."""

    def __init__(self, plan: MaintenancePlan, events: Iterable[Event] = (), *, history: bool = False):
        """`history=True`: `events` were checked when recorded, perhaps on an earlier plan this one
        continues, so start-order checks are not re-run and events of actions the plan no longer has
        (skipped migrations) are kept out of its states."""
        self.plan = plan
        self.planned = planned_actions(plan)
        self.actions = {a: ActionState(a) for a in self.planned}
        self.events: list[Event] = []
        self._keys: set[tuple[str, str, int]] = set()
        self._leaving: dict[str, list[str]] = {}
        for a in self.planned.values():
            if a.kind == "migrate":
                self._leaving.setdefault(a.source, []).append(a.id)
        self.outside: dict[str, str] = {}  # history: actions the plan no longer has -> their last state
        for e in events:
            if history and e.action not in self.planned:
                self.outside[e.action] = e.state
                self.events.append(e)
                self._keys.add(e.key)
                continue
            self.apply(e, history=history)

    # ---------------------------------------------------------------- events

    def is_duplicate(self, event: Event) -> bool:
        return event.key in self._keys

    def check(self, event: Event, *, history: bool = False) -> None:
        """Raise EventRefused if `event` may not be applied now (duplicates pass: they are no-ops)."""
        if self.is_duplicate(event):
            return
        planned = self.planned.get(event.action)
        if planned is None:
            raise EventRefused(f"unknown action {event.action!r}: not in the plan "
                               "(action ids are migrate:<vm id> and reboot:<host id>)")
        a = self.actions[event.action]
        if a.last_at is not None and event.at < a.last_at:
            raise EventRefused(f"{event.action} {event.state} at minute {event.at}: time goes backwards "
                               f"(its previous event was at minute {a.last_at})")
        if a.state in ("done", "skipped"):
            raise EventRefused(f"{event.action} is already {a.state} (at minute {a.ended_at}): "
                               f"it cannot be {event.state} again")
        if event.state == "started":
            if a.state == "in_progress":
                raise EventRefused(f"{event.action} is already in progress (started at minute {a.started_at})")
            if not history:
                self.check_start(planned)
        elif event.state in ("done", "failed"):
            if a.state != "in_progress":
                raise EventRefused(f"{event.action} cannot be {event.state}: it is {a.state}, not in progress "
                                   "(report 'started' first)")
            if event.state == "done" and planned.kind == "migrate" and event.at <= a.started_at:
                raise EventRefused(f"{event.action} done at minute {event.at}: a migration lasts at least one "
                                   f"minute and it started at minute {a.started_at}")
        elif event.state == "skipped":
            if planned.kind == "reboot":
                raise EventRefused(f"{event.action}: a reboot cannot be skipped (its host would stay "
                                   "needs_reboot with its VMs gone); report it failed or cancel the execution")
            if a.state == "in_progress":
                raise EventRefused(f"{event.action} is in progress: report it done or failed, not skipped")

    def check_start(self, planned: PlannedAction) -> None:
        """Rules 2 and 3 as event checks: a reboot after its host is evacuated, a rolling target's reboot first."""
        if planned.kind == "reboot":
            open_ = [i for i in self._leaving.get(planned.subject, [])
                     if self.actions[i].state not in ("done", "skipped")]
            if open_:
                raise EventRefused(f"{planned.id} cannot start: {len(open_)} migration(s) leaving the host are "
                                   f"not done ({', '.join(sorted(open_)[:5])})")
        else:
            target_reboot = self.actions.get(reboot_id(planned.target))
            if target_reboot is not None and target_reboot.state != "done":
                raise EventRefused(f"{planned.id} cannot start: its target {planned.target!r} has not "
                                   f"finished its reboot ({target_reboot.state})")

    def apply(self, event: Event, *, history: bool = False) -> bool:
        """Apply `event`; False when it was already applied (a retry), EventRefused when illegal."""
        if self.is_duplicate(event):
            return False
        self.check(event, history=history)
        a = self.actions[event.action]
        if event.state == "started":
            a.state, a.started_at, a.ended_at = "in_progress", event.at, None
            a.attempts += 1
        else:
            a.state = {"done": "done", "failed": "failed", "skipped": "skipped"}[event.state]
            a.ended_at = event.at
        a.last_at = event.at
        a.reason = event.reason
        self.events.append(event)
        self._keys.add(event.key)
        return True

    def check_all(self, events: Iterable[Event]) -> list[str]:
        """Every problem of applying `events` in order to a copy of this execution (none applied here)."""
        trial = Execution(self.plan, self.events, history=True)
        problems = []
        for i, e in enumerate(events, 1):
            try:
                trial.apply(e)
            except EventRefused as exc:
                problems.append(f"event {i}: {exc}")
        return problems

    def switch_plan(self, plan: MaintenancePlan) -> "Execution":
        """The same history continued on a replanned plan (its action ids must cover every fact)."""
        return Execution(plan, self.events, history=True)

    # ---------------------------------------------------------------- views

    @property
    def last_at(self) -> int:
        return max((e.at for e in self.events), default=0)

    def count(self, state: str) -> int:
        return sum(1 for a in self.actions.values() if a.state == state)

    def finished(self) -> bool:
        return all(a.state in ("done", "skipped") for a in self.actions.values())

    def projected_end(self, action_id: str, now: int) -> int:
        """When an in-progress action should end: as planned, or (late) not before the next minute."""
        a, p = self.actions[action_id], self.planned[action_id]
        return max(a.started_at + p.duration, now + 1)

    def is_late(self, action_id: str, now: int) -> bool:
        """In progress past its planned duration, or not started although due (planned start passed)."""
        a, p = self.actions[action_id], self.planned[action_id]
        if a.state == "in_progress":
            return now >= a.started_at + p.duration
        return a.state in ("pending", "failed") and p.start < now

    def facts(self, now: int) -> Facts:
        if now < self.last_at:
            raise EventRefused(f"now (minute {now}) is before the latest event (minute {self.last_at})")
        out = Facts(now=now)
        for aid, a in self.actions.items():
            p = self.planned[aid]
            if a.state == "done":
                out.done[aid] = Fact(aid, p.kind, p.subject, p.source, p.target, a.started_at, a.ended_at, "done")
            elif a.state == "in_progress":
                out.in_progress[aid] = Fact(aid, p.kind, p.subject, p.source, p.target, a.started_at,
                                            self.projected_end(aid, now), "in_progress")
            elif a.state == "failed":
                out.failed.add(aid)
            elif a.state == "skipped":
                out.skipped.add(aid)
        out.skipped |= {aid for aid, st in self.outside.items() if st == "skipped"}
        return out
