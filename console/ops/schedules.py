"""Schedules: a run of KIND on the current fleet every interval, fired once per slot by the workers;
the latest successful plan of each schedule is published.

    add_schedule(engine, kind, every, *, limits=None, limits_name=None, options=None, start_at=None)
        -> ScheduleView                    `every`: seconds or '15m' | '1h' | '1d'; InvalidInput, NotFound
    list_schedules(engine) -> list[ScheduleView]
    remove_schedule(engine, schedule_id) -> None                     NotFound
    latest_plans(engine, kind=None, schedule_id=None) -> list[PublishedPlan]
"""

from __future__ import annotations

from typing import Optional

from console.ops.errors import InvalidInput, NotFound, Problem


def add_schedule(engine, kind: str, every, *, limits=None, limits_name: Optional[str] = None,
                 options: Optional[dict] = None, start_at: Optional[float] = None):
    from console.ops.limits import get_limit_set, parse_limits
    from console.runner.dispatch import check_options
    from console.store.schedules import add_schedule as add
    from console.store.schedules import list_schedules as views
    from console.store.schedules import parse_every

    problems = []
    try:
        every_s = int(every) if isinstance(every, (int, float)) else parse_every(str(every))
    except ValueError as exc:
        problems.append(Problem(str(exc), field="every"))
        every_s = 0
    options = {k: v for k, v in (options or {}).items() if v is not None}
    problems += [Problem(p, field="options") for p in check_options(kind, options)]
    if problems:
        raise InvalidInput(problems)
    if limits_name is not None and limits is None:
        limits = get_limit_set(engine, limits_name)  # its values now are kept with the schedule
    elif isinstance(limits, dict):
        limits = parse_limits(limits, "limits")
    try:
        schedule_id = add(engine, kind, every_s, limits=limits, limits_name=limits_name, options=options,
                          start_at=start_at)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    return next(s for s in views(engine) if s.id == schedule_id)


def list_schedules(engine) -> list:
    from console.store.schedules import list_schedules as views

    return views(engine)


def remove_schedule(engine, schedule_id: int) -> None:
    from console.store.schedules import remove_schedule as remove

    if not remove(engine, schedule_id):
        raise NotFound(Problem(f"no schedule {schedule_id}", record=f"schedule {schedule_id}"))


def latest_plans(engine, kind: Optional[str] = None, schedule_id: Optional[int] = None) -> list:
    """For each schedule (of `kind`, or only `schedule_id`), the plan of its latest succeeded run."""
    from console.store.schedules import latest_plans as published

    plans = published(engine, kind)
    return [p for p in plans if schedule_id is None or p.schedule_id == schedule_id]
