"""考核评价: per-unit timeliness, cards, deductions and the 约谈 list, deterministic from the database.

Definitions (policies: reminders.overdue_every_workdays = E, reminders.escalate_after = A, scoring):
- An *item* is something with a deadline a unit answers for: a task instance it leads (a collective's members
  lead its tasks; co-units are not carded), one of its remediation items, its self-check form (due at the
  self-check end). Only items whose deadline is on or before `today` count, and, with `year`, whose deadline
  falls in that year. The deadline is the current one: an approved extension moves it.
- lateness L = workdays from the deadline to the day the item was done (办结 / closed / form returned), or to
  today while it is still open; 0 when done on or before the deadline.
- yellow card (黄牌): 1 <= L <= A*E: the item passed its deadline and was chased (催办) but never reached
督办.
- red card (红牌): L > A*E: the item stayed late past the escalation rung (the ladder copies the unit's leader
  and the coordinator from there). An item earns at most one card: red replaces yellow.
  A remediation item accepted by the coordinator counts as done on the day it was accepted.
- deduction = per_two_yellow * (yellow // 2) + per_red * red  (defaults −1 per two yellow cards, −2 per red).
  score = 100 + deduction.
- escalations = 督办 notices actually recorded for the unit (notices of kind escalation or
  remediation_escalation with audience leader, or selfcheck_missing escalated, with the unit as subject; not
  one
  superseded unsent by a newer one after downtime).
- 约谈 (interview) when red cards >= 1 or escalations >= scoring.interview_escalations.
Task counts (lead tasks only): tasks_due (instances due by today), done_on_time, done_late, overdue (not done,
deadline passed).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from db.gates import phase_decision
from db.models import Notice, Phase, RemediationItem, SelfCheckReturn, Task, TaskInstance, Unit, UnitMember
from db.programs import ProgramContext
from db.reviews import returns_by_unit
from db.selfcheck import units_with_tasks
from db.tasks import Recipients

ESCALATION_KINDS = ("escalation", "remediation_escalation")


def lateness(deadline: date, done_on: date | None, today: date, calendar) -> int:
    end = done_on if done_on is not None else today
    return max(calendar.workdays_between(deadline, end), 0)


def card(late: int, policy) -> str | None:
    if late <= 0:
        return None
    return "red" if late > policy.escalate_after * policy.overdue_every_workdays else "yellow"


def unit_scores(session: Session, ctx: ProgramContext, year: int | None, today: date) -> list[dict]:
    calendar = ctx.policies.work_calendar()
    policy, scoring = ctx.policies.reminders, ctx.policies.scoring

    def counted(deadline: date | None) -> bool:
        return deadline is not None and deadline <= today and (year is None or deadline.year == year)

    units = session.execute(
        select(Unit.id, Unit.code, Unit.name)
        .where(
            Unit.program_id == ctx.id,
            ~select(UnitMember.member_id).where(UnitMember.collective_id == Unit.id).exists(),
        )
        .order_by(Unit.id)
    ).all()
    stats: dict[int, dict] = {
        unit_id: {
            "unit": code,
            "name": name,
            "tasks_due": 0,
            "done_on_time": 0,
            "done_late": 0,
            "overdue": 0,
            "remediation_due": 0,
            "remediation_late": 0,
            "forms_late": 0,
            "yellow_cards": 0,
            "red_cards": 0,
            "escalations": 0,
            "returns": 0,
            "cards": [],
        }
        for unit_id, code, name in units
    }

    def give(unit_id: int, what: str, deadline: date, late: int) -> None:
        colour = card(late, policy)
        if colour and unit_id in stats:
            stats[unit_id][f"{colour}_cards"] += 1
            stats[unit_id]["cards"].append({"card": colour, "item": what, "deadline": deadline.isoformat(),
                                            "late_workdays": late})

    recipients = Recipients(session, ctx.id)
    instances = session.execute(
        select(
            TaskInstance.task_id, Task.code, TaskInstance.seq, TaskInstance.due, TaskInstance.status,
            TaskInstance.done_on)
        .join(Task, Task.id == TaskInstance.task_id)
        .where(
            TaskInstance.program_id == ctx.id, Task.active.is_(True), TaskInstance.due.is_not(None),
            TaskInstance.retired_on.is_(None))
        .order_by(Task.source_row, Task.code, TaskInstance.seq)
    ).all()
    for task_id, code, seq, due, status, done_on in instances:
        if not counted(due):
            continue
        done = done_on if status == "done" else None
        if status == "done" and done is None:
            done = due  # done without a date on record: taken as on time
        late = lateness(due, done, today, calendar)
        label = code if seq == 0 else f"{code}#{seq + 1}"
        for r in recipients.of(task_id, "lead"):
            if r.unit_id not in stats:
                continue
            s = stats[r.unit_id]
            s["tasks_due"] += 1
            if status == "done":
                s["done_late" if late > 0 else "done_on_time"] += 1
            elif due < today:
                s["overdue"] += 1
            give(r.unit_id, label, due, late)

    for item in session.scalars(select(RemediationItem).where(RemediationItem.program_id == ctx.id)):
        if not counted(item.due):
            continue
        late = lateness(item.due, item.closed_on if item.state != "open" else None, today, calendar)
        if item.unit_id in stats:
            stats[item.unit_id]["remediation_due"] += 1
            stats[item.unit_id]["remediation_late"] += late > 0
        give(item.unit_id, item.code, item.due, late)

    phase = session.scalar(select(Phase).where(Phase.program_id == ctx.id, Phase.kind == "self_check"))
    if phase is not None and counted(phase.end) and phase.state != "pending":
        returned = {r.unit_id: r.returned_on for r in
                    session.scalars(select(SelfCheckReturn).where(SelfCheckReturn.program_id == ctx.id))}
        decision = phase_decision(session, ctx.id, "self_check")
        # A form never returned stops counting days once the coordinator closed the phase without it.
        waived_on = ctx.local_date(decision.decided_at) if decision is not None and decision.approve else None
        for unit_id in units_with_tasks(session, ctx):
            done_on = returned.get(unit_id) or waived_on
            late = lateness(phase.end, done_on, today, calendar)
            if late and unit_id in stats:
                stats[unit_id]["forms_late"] += 1
            give(unit_id, "selfcheck_form", phase.end, late)

    escalation_query = (
        select(Notice.subject_unit_id, func.count(Notice.id))
        .where(Notice.program_id == ctx.id, Notice.audience == "leader", Notice.state != "superseded",
               or_(Notice.kind.in_(ESCALATION_KINDS), Notice.kind == "selfcheck_missing"))
        .group_by(Notice.subject_unit_id)
    )
    if year is not None:
        escalation_query = escalation_query.where(
            Notice.due >= date(year, 1, 1), Notice.due <= date(year, 12, 31)
        )
    for unit_id, count in session.execute(escalation_query):
        if unit_id in stats:
            stats[unit_id]["escalations"] = count


    for unit_id, count in returns_by_unit(session, ctx, year, today).items():
        if unit_id in stats:
            stats[unit_id]["returns"] = count  # 退回重办: done claims the coordinator sent back

    results = []
    for s in stats.values():
        deduction = (scoring.per_two_yellow * (s["yellow_cards"] // 2) + scoring.per_red * s["red_cards"]
                     + scoring.per_return * s["returns"])
        reasons = []
        if s["red_cards"]:
            reasons.append("red_card")
        if s["escalations"] >= scoring.interview_escalations:
            reasons.append("escalations")
        results.append({**s, "deduction": deduction, "score": 100 + deduction, "interview": bool(reasons),
                        "interview_reasons": reasons})
    results.sort(key=lambda s: (s["score"], -s["overdue"], s["unit"]))
    return results


def interview_list(scores: list[dict]) -> list[dict]:
    return [
        {
            "unit": s["unit"], "name": s["name"], "red_cards": s["red_cards"],
            "escalations": s["escalations"], "reasons": s["interview_reasons"]}
        for s in scores
        if s["interview"]
    ]


def scores_report(session: Session, ctx: ProgramContext, year: int | None, today: date) -> dict:
    scores = unit_scores(session, ctx, year, today)
    scoring = ctx.policies.scoring
    return {"program": ctx.id, "as_of": today.isoformat(), "year": year,
            "rule": {"per_two_yellow": scoring.per_two_yellow, "per_red": scoring.per_red,
                     "per_return": scoring.per_return,
                     "interview_escalations": scoring.interview_escalations,
                     "red_after_workdays": ctx.policies.reminders.escalate_after
                     * ctx.policies.reminders.overdue_every_workdays},
            "units": scores, "interview": interview_list(scores)}
