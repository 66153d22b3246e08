"""The roll-up of collectives' tasks: a parent task is done when its members' shares finish it.

schedule.collectives splits a collective's task into a parent and one share per member. Each member reports
on its share; the parent has no lead and no report of its own. At every check, before the phase gates are
read, each parent instance takes the state of its shares of the same period: done (on the day the share
that completed the rule was done) when `done_when` holds — all shares, any one, or N of them — otherwise in
progress at the shares' mean progress, or not started while no share has moved. One query reads every
share of the program, one executemany writes the parents that changed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.orm import Session

from db.models import Task, TaskInstance
from schedule import required


@dataclass(frozen=True)
class _Share:
    status: str
    progress: int
    done_on: date | None


def _shares_query(one_parent: bool = False):
    """Every share instance beside its parent's instance of the same period, for one program or (one_parent)
    one parent task of it (built once: the check runs it every day, a member's report each time)."""
    parent, share = Task.__table__.alias("parent"), Task.__table__.alias("share")
    parent_instance = TaskInstance.__table__.alias("parent_instance")
    share_instance = TaskInstance.__table__.alias("share_instance")
    parent_rows = and_(parent_instance.c.task_id == parent.c.id, parent_instance.c.retired_on.is_(None))
    shares_of_parent = and_(share.c.program_id == parent.c.program_id, share.c.parent_code == parent.c.code,
                            share.c.active.is_(True))
    share_rows = and_(share_instance.c.task_id == share.c.id, share_instance.c.seq == parent_instance.c.seq,
                      share_instance.c.retired_on.is_(None))
    return (
        select(parent_instance.c.id, parent.c.done_when, parent_instance.c.status, parent_instance.c.progress,
               parent_instance.c.done_on,
               share_instance.c.status, share_instance.c.progress, share_instance.c.done_on)
        .select_from(parent)
        .join(parent_instance, parent_rows).join(share, shares_of_parent).join(share_instance, share_rows)
        .where(parent.c.program_id == bindparam("program_id"), parent.c.active.is_(True),
               parent.c.done_when.is_not(None),
               *([parent.c.code == bindparam("parent_code")] if one_parent else []))
    )


_SHARES, _SHARES_OF_ONE = _shares_query(), _shares_query(one_parent=True)


def roll_up(session: Session, program_id: str, parent_code: str | None = None) -> int:
    """Brings every parent instance of the program (or of the one parent task `parent_code`) in line with its
    shares; returns how many changed. The daily check rolls up the whole program as the safety net; a
    member's report, and the review of its claim, roll up its own parent at once (`follow_shares`)."""
    query, values = (_SHARES, {"program_id": program_id}) if parent_code is None else (
        _SHARES_OF_ONE, {"program_id": program_id, "parent_code": parent_code})
    rows = session.execute(query, values).all()
    shares: dict[int, list[_Share]] = defaultdict(list)
    current: dict[int, tuple] = {}
    for instance_id, rule, status, progress, done_on, *of_share in rows:
        current[instance_id] = (rule, (status, progress, done_on))
        shares[instance_id].append(_Share(*of_share))
    changes = []
    for instance_id, (rule, now) in current.items():
        wanted = _rolled(rule, shares[instance_id])
        if wanted != now:
            status, progress, done_on = wanted
            changes.append({"b_id": instance_id, "status": status, "progress": progress, "done_on": done_on})
    if changes:
        instances = TaskInstance.__table__  # Core executemany: one statement for every changed parent
        session.execute(
            update(instances)
            .where(instances.c.id == bindparam("b_id"))
            .values(status=bindparam("status"), progress=bindparam("progress"), done_on=bindparam("done_on"))
            .execution_options(program=program_id),  # counted for this program alone (db.marks)
            changes,
        )
    return len(changes)


def _rolled(rule: str, shares: list[_Share]) -> tuple[str, int, date | None]:
    needed = required(rule, len(shares))
    done_days = sorted(s.done_on or date.min for s in shares if s.status == "done")
    if len(done_days) >= needed:
        # Done on the day the share that made up the count was done.
        done_on = done_days[needed - 1] if needed else None
        return "done", 100, done_on if done_on != date.min else None
    progress = round(sum(s.progress for s in shares) / len(shares)) if shares else 0
    moved = any(s.status != "not_started" or s.progress for s in shares)
    return ("in_progress" if moved else "not_started"), min(progress, 99), None


def follow_shares(session: Session, task: Task) -> None:
    """A member's share changed (its report recorded, its done claim passed or returned): its parent task
    follows at once, not only at the next daily check."""
    if task.parent_code is not None:
        session.flush()
        roll_up(session, task.program_id, task.parent_code)
