"""A task led by a collective (县直有关单位, 各乡镇（街道）, 各区（市）县) is an obligation of each member.

The plan's task becomes a *parent* with one *share* per member, coded `CODE@member`: each share is led by its
member alone, who is reminded, reports and is scored on it. The parent keeps the co-units (asked to cooperate,
not chased for every member) and no lead of its own; it is done by the roll-up (db.collectives) when the
collective's rule holds: `done_when: all` (the default), `any`, or a number of members. A collective marked
`jointly: true` keeps its tasks whole: one member's report stands for all, as a joint working group's does.
A non-collective lead named beside the collective has its share too. The same expansion assigns a city task
down a level: a collective of districts gives each district its share, with its own light, and the parent
rolls them up.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from schedule.model import TaskSpec, UnitSpec

SHARE_MARK = "@"


def share_code(code: str, member: str) -> str:
    return f"{code}{SHARE_MARK}{member}"


def rule_problem(unit: UnitSpec) -> bool:
    """True when the collective's done_when is not all, any, or a count from 1 to its member count."""
    rule = unit.done_when
    if rule in ("all", "any"):
        return False
    return not (rule.isdigit() and 1 <= int(rule) <= len(unit.members))


def required(rule: str, members: int) -> int:
    """How many of `members` shares finish the parent under `rule`."""
    if rule == "all":
        return members
    if rule == "any":
        return min(1, members)
    return min(int(rule), members)


@dataclass(frozen=True)
class TakenCode:
    task: TaskSpec
    collective: str
    share: str


def expand(
    units: tuple[UnitSpec, ...], tasks: tuple[TaskSpec, ...]
) -> tuple[tuple[TaskSpec, ...], list[TakenCode]]:
    """The tasks with each collective-led task replaced by its parent and its members' shares, and the share
    codes that an existing task already uses (each a problem the reader reports at the task's row)."""
    collectives = {u.code: u for u in units if u.members and not u.jointly}
    codes = {t.code for t in tasks}
    expanded: list[TaskSpec] = []
    taken: list[TakenCode] = []
    for task in tasks:
        leading = [code for code in task.lead if code in collectives]
        if not leading:
            expanded.append(task)
            continue
        sharers = [code for code in task.lead if code not in collectives]
        sharers += [member for code in leading for member in collectives[code].members]
        sharers = list(dict.fromkeys(sharers))
        rule = collectives[leading[0]].done_when if len(task.lead) == 1 else "all"
        expanded.append(
            replace(task, lead=(), co=tuple(c for c in task.co if c not in sharers), done_when=rule)
        )
        for member in sharers:
            code = share_code(task.code, member)
            if code in codes:
                taken.append(TakenCode(task, leading[0], code))
                continue
            expanded.append(replace(task, code=code, lead=(member,), co=(), parent=task.code))
    return tuple(expanded), taken
