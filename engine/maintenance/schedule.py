"""A solver-neutral schedule on a `Problem`, and its translation to plan records.

Every maintenance solver (heuristic, CP-SAT, MIP) returns a `Schedule`: a start
minute and a target host per task, a start minute per rebooting host. The
records it maps to are the FORMATS.md plan's `migrations` and `reboots`.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.maintenance.problem import Problem
from engine.model import Migration, Reboot


@dataclass
class Schedule:
    starts: list[int]              # per task
    targets: list[int]             # per task: host index
    reboot_starts: dict[int, int]  # rebooting host index -> start minute

    def makespan(self, problem: Problem) -> int:
        ends = [s + t.duration for s, t in zip(self.starts, problem.tasks)]
        ends += [s + problem.hosts[h].reboot_minutes for h, s in self.reboot_starts.items()]
        return max(ends, default=0)

    def total_completion(self, problem: Problem) -> int:
        return sum(s + t.duration for s, t in zip(self.starts, problem.tasks)) + sum(
            s + problem.hosts[h].reboot_minutes for h, s in self.reboot_starts.items()
        )


def migration_records(problem: Problem, schedule: Schedule) -> list[Migration]:
    hosts = problem.hosts
    return [
        Migration(vm=t.vm, source=hosts[t.source].id, target=hosts[schedule.targets[t.index]].id,
                  start=schedule.starts[t.index], end=schedule.starts[t.index] + t.duration)
        for t in problem.tasks
    ]


def reboot_records(problem: Problem, schedule: Schedule) -> list[Reboot]:
    hosts = problem.hosts
    return [
        Reboot(host=hosts[h].id, start=s, end=s + hosts[h].reboot_minutes)
        for h, s in sorted(schedule.reboot_starts.items(), key=lambda kv: (kv[1], hosts[kv[0]].id))
    ]
