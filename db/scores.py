"""考核评价: per-unit timeliness, cards, deductions and the 约谈 list, deterministic from the database.

Definitions (policies: reminders.overdue_every_workdays = E, reminders.escalate_after = A, scoring):
- An *item* is something with a deadline a unit answers for: a task instance it leads (a collective's members
  lead its tasks; co-units are not carded), one of its remediation items, its self-check form (due at the
  self-check end). Only items whose deadline is on or before `today` count, and, with `year`, whose deadline
  falls in that year. The deadline is the current one: an approved extension moves it.
- lateness L = workdays from the deadline to the day the item was done (办结 / closed / form returned), or to
  today while it is still open; 0 when done on or before the deadline.
- yellow card (黄牌): 1 <= L <= A*E: the item passed its deadline and was chased (催办), never up to 督办.
- red card (红牌): L > A*E: the item stayed late past the escalation rung (the ladder copies the unit's leader
  and the coordinator from there). An item earns at most one card: red replaces yellow.
  A remediation item accepted by the coordinator counts as done on the day it was accepted.
- deduction = per_two_yellow * (yellow // 2) + per_red * red + per_return * returns
  + per_missing_form (its self-check form never returned, even when the phase closed without it)
  + per_never_reported (it led tasks past their deadline and never filed a single report),
  capped at -max_deduction; score = 100 + deduction. Each part is listed under `deductions`.
- escalations = 督办 notices actually recorded for the unit (notices of kind escalation or
  remediation_escalation with audience leader, or selfcheck_missing escalated, with the unit as subject; not
  one superseded unsent by a newer one after downtime).
- 约谈 (interview) when red cards >= 1 or escalations >= scoring.interview_escalations.
- The coordinator (the leading-group office) runs the assessment: it is never scored nor on the 约谈 list.
Task counts (lead tasks only): tasks_due (instances due by today), done_on_time (of which done_early: before
the deadline), done_late, overdue (not done, deadline passed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Row, bindparam, func, literal_column, or_, select, union_all
from sqlalchemy.orm import Session

from db.bulk import STREAMED_ROWS, bulk_read, core, flush_pending
from db.gates import phase_decision
from db.models import (
    DoneClaim,
    Notice,
    Phase,
    ProgressReport,
    RemediationItem,
    Task,
    TaskInstance,
    TaskUnit,
    Unit,
    UnitMember,
)
from db.programs import ProgramContext
from db.selfcheck import returned_on, units_with_tasks

ESCALATION_KINDS = ("escalation", "remediation_escalation")


def lateness(deadline: date, done_on: date | None, today: date, calendar) -> int:
    end = done_on if done_on is not None else today
    return max(calendar.workdays_between(deadline, end), 0)


def card(late: int, policy) -> str | None:
    if late <= 0:
        return None
    return "red" if late > policy.escalate_after * policy.overdue_every_workdays else "yellow"


COUNTERS = ("tasks_due", "done_early", "done_on_time", "done_late", "overdue", "remediation_due",
            "remediation_late", "forms_late", "yellow_cards", "red_cards", "escalations", "returns",
            "reports")


@dataclass
class _Scoring:
    """One scoring pass: the program's rule, the window of deadlines counted, each scored unit's tallies."""

    ctx: ProgramContext
    year: int | None
    today: date
    stats: dict[int, dict] = field(default_factory=dict)
    listed: bool = True  # each card listed under `cards`, or only counted
    lates: dict[tuple[date, date | None], int] = field(default_factory=dict)

    def counted(self, deadline: date | None) -> bool:
        return deadline is not None and deadline <= self.today and (
            self.year is None or deadline.year == self.year)

    def late(self, deadline: date, done_on: date | None) -> int:
        """Worked out once per distinct (deadline, done_on): most items share both with others."""
        key = (deadline, done_on)
        if key not in self.lates:
            self.lates[key] = lateness(deadline, done_on, self.today, self.ctx.policies.work_calendar())
        return self.lates[key]

    def give(self, unit_id: int, what: str, deadline: date, late: int) -> None:
        colour = card(late, self.ctx.policies.reminders)
        if colour and unit_id in self.stats:
            self.stats[unit_id][f"{colour}_cards"] += 1
            if self.listed:
                self.stats[unit_id]["cards"].append(
                    {"card": colour, "item": what, "deadline": deadline.isoformat(), "late_workdays": late})


def unit_scores(session: Session, ctx: ProgramContext, year: int | None, today: date,
                expected: dict[int, str] | None = None, items: list[Row] | None = None,
                cards: bool = True, phases: list[dict] | None = None,
                returned: dict[int, date] | None = None) -> list[dict]:
    """Every unit that answers for tasks, scored; the coordinator (who runs the assessment) is not.
    What the caller (the bulletin) has read already in the same transaction is not read again: `expected`,
    units_with_tasks(); `items`, the program's remediation items in their order (code, unit_id, due, state
    and closed_on among their columns). `cards=False`: the cards are counted, not listed (each unit's `cards`
    stays empty), for a caller that shows only the counts (the bulletin: at 100,000 tasks, tens of thousands
    of cards); `phases`, status_summary()'s phases (the self-check phase's end and state among them);
    `returned`, returned_on()."""
    flush_pending(session)
    scoring = _Scoring(ctx, year, today, _scored_units(session, ctx), listed=cards)
    _task_cards(session, scoring)
    _remediation_cards(session, scoring, items)
    _form_cards(session, scoring, expected, phases, returned)
    _tallied(session, scoring)  # the 督办 notices, the reports and the returns (退回重办) per unit
    results = [_score(s, ctx.policies.scoring) for s in scoring.stats.values()]
    results.sort(key=lambda s: (s["score"], -s["overdue"], s["unit"]))
    return results


# Every statement of a scoring pass, built once on the tables (Core): the bulletin scores the units each week.
_UNITS, _MEMBERS, _TASKS, _INSTANCES, _TASK_UNITS = (Unit.__table__, UnitMember.__table__, Task.__table__,
                                                     TaskInstance.__table__, TaskUnit.__table__)
_SCORED_UNITS = (
    select(_UNITS.c.id, _UNITS.c.code, _UNITS.c.name)
    .where(_UNITS.c.program_id == bindparam("program"),
           ~select(_MEMBERS.c.member_id).where(_MEMBERS.c.collective_id == _UNITS.c.id).exists())
    .order_by(_UNITS.c.id)
)


def _scored_units(session: Session, ctx: ProgramContext) -> dict[int, dict]:
    """Units as scored: members rather than collectives, and never the coordinator."""
    units = core(session, _SCORED_UNITS, {"program": ctx.id}).all()
    coordinator = ctx.program.coordinator_unit_id
    return {unit_id: {"unit": code, "name": name, **dict.fromkeys(COUNTERS, 0), "form_missing": False,
                      "cards": []}
            for unit_id, code, name in units if unit_id != coordinator}


_LEADER = func.coalesce(_MEMBERS.c.member_id, _TASK_UNITS.c.unit_id)
_COUNTED_ITEMS = (
    select(_INSTANCES.c.id, _TASKS.c.code, _INSTANCES.c.seq, _INSTANCES.c.due, _INSTANCES.c.status,
           _INSTANCES.c.done_on, _LEADER)
    .join(_TASKS, _TASKS.c.id == _INSTANCES.c.task_id)
    .join(_TASK_UNITS, (_TASK_UNITS.c.task_id == _TASKS.c.id) & (_TASK_UNITS.c.role == "lead"))
    .outerjoin(_MEMBERS, _MEMBERS.c.collective_id == _TASK_UNITS.c.unit_id)
    .where(_INSTANCES.c.program_id == bindparam("program"), _TASKS.c.active.is_(True),
           _INSTANCES.c.due <= bindparam("today", type_=_INSTANCES.c.due.type),
           _INSTANCES.c.retired_on.is_(None))
    .execution_options(yield_per=STREAMED_ROWS)
)
# Listed cards come in the table's order; counted ones in any.
_TASK_ITEMS = _COUNTED_ITEMS.order_by(_TASKS.c.source_row, _TASKS.c.code, _INSTANCES.c.seq,
                                      _TASK_UNITS.c.position)


@bulk_read()
def _task_cards(session: Session, scoring: _Scoring) -> None:
    """Each counted instance once for each unit that leads it (a collective's members for the collective),
    read in one statement with the deadline window applied in SQL."""
    query = _TASK_ITEMS if scoring.listed else _COUNTED_ITEMS
    if scoring.year is not None:
        query = query.where(_INSTANCES.c.due.between(date(scoring.year, 1, 1), date(scoring.year, 12, 31)))
    carded: set[tuple[int, int]] = set()  # (instance, unit): a unit leading twice over is counted once
    rows = core(session, query, {"program": scoring.ctx.id, "today": scoring.today}).tuples()
    for instance_id, code, seq, due, status, done_on, unit_id in rows:
        s = scoring.stats.get(unit_id)
        if s is None or (instance_id, unit_id) in carded:
            continue
        carded.add((instance_id, unit_id))
        done = (done_on or due) if status == "done" else None  # done without a date: taken as on time
        late = scoring.late(due, done)
        s["tasks_due"] += 1
        if done is not None:
            s["done_late" if late > 0 else "done_on_time"] += 1
            s["done_early"] += done < due
        elif due < scoring.today:
            s["overdue"] += 1
        scoring.give(unit_id, code if seq == 0 else f"{code}#{seq + 1}", due, late)


_ITEMS = RemediationItem.__table__
_REMEDIATION_ITEMS = (
    select(_ITEMS.c.code, _ITEMS.c.unit_id, _ITEMS.c.due, _ITEMS.c.state, _ITEMS.c.closed_on)
    .where(_ITEMS.c.program_id == bindparam("program")).order_by(_ITEMS.c.id))


def _remediation_cards(session: Session, scoring: _Scoring, items: list[Row] | None) -> None:
    if items is None:
        items = core(session, _REMEDIATION_ITEMS, {"program": scoring.ctx.id}).all()
    for code, unit_id, due, state, closed_on in ((i.code, i.unit_id, i.due, i.state, i.closed_on)
                                                 for i in items):
        if not scoring.counted(due):
            continue
        late = scoring.late(due, closed_on if state != "open" else None)
        if unit_id in scoring.stats:
            scoring.stats[unit_id]["remediation_due"] += 1
            scoring.stats[unit_id]["remediation_late"] += late > 0
        scoring.give(unit_id, code, due, late)


_PHASES = Phase.__table__
_SELF_CHECK = select(_PHASES.c.end, _PHASES.c.state).where(_PHASES.c.program_id == bindparam("program"),
                                                          _PHASES.c.kind == "self_check")


def _self_check(session: Session, ctx: ProgramContext, phases: list[dict] | None) -> tuple[date, str] | None:
    """The self-check phase's end and state: from `phases` (status_summary's) when given, else read."""
    if phases is None:
        return core(session, _SELF_CHECK, {"program": ctx.id}).first()
    return next(((date.fromisoformat(p["end"]), p["state"]) for p in phases if p["kind"] == "self_check"),
                None)


def _form_cards(session: Session, scoring: _Scoring, expected: dict[int, str] | None,
                phases: list[dict] | None, returned: dict[int, date] | None) -> None:
    ctx = scoring.ctx
    phase = _self_check(session, ctx, phases)
    if phase is None:
        return
    end, state = phase
    if not scoring.counted(end) or state == "pending":
        return
    if returned is None:
        returned = returned_on(session, ctx)
    decision = phase_decision(session, ctx.id, "self_check")
    # A form never returned stops counting days once the coordinator closed the phase without it; it is still
    # a form never returned (scoring.per_missing_form).
    waived_on = ctx.local_date(decision.decided_at) if decision is not None and decision.approve else None
    for unit_id in units_with_tasks(session, ctx) if expected is None else expected:
        late = scoring.late(end, returned.get(unit_id) or waived_on)
        if unit_id in scoring.stats:
            scoring.stats[unit_id]["forms_late"] += bool(late)
            scoring.stats[unit_id]["form_missing"] = unit_id not in returned
        scoring.give(unit_id, "selfcheck_form", end, late)


_NOTICES, _REPORTS, _CLAIMS = Notice.__table__, ProgressReport.__table__, DoneClaim.__table__
_ESCALATED = (_NOTICES.c.program_id == bindparam("program"), _NOTICES.c.audience == "leader",
              _NOTICES.c.state != "superseded",
              or_(_NOTICES.c.kind.in_(ESCALATION_KINDS), _NOTICES.c.kind == "selfcheck_missing"))


def _in_year(column, year: int | None) -> tuple:
    return () if year is None else (column.between(date(year, 1, 1), date(year, 12, 31)),)


def _tallies(year: int | None):
    """Per unit, in one statement: the 督办 notices (due in the year, if given), the reports, and the done
    claims returned (退回重办) on or before today (in the year, if given)."""
    escalations = (select(literal_column("'escalations'"), _NOTICES.c.subject_unit_id,
                          func.count(_NOTICES.c.id))
                   .where(*_ESCALATED, *_in_year(_NOTICES.c.due, year)).group_by(_NOTICES.c.subject_unit_id))
    reports = (select(literal_column("'reports'"), _REPORTS.c.unit_id, func.count(_REPORTS.c.id))
               .where(_REPORTS.c.program_id == bindparam("program")).group_by(_REPORTS.c.unit_id))
    returns = (select(literal_column("'returns'"), _CLAIMS.c.unit_id, func.count(_CLAIMS.c.id))
               .where(_CLAIMS.c.program_id == bindparam("program"), _CLAIMS.c.state == "returned",
                      _CLAIMS.c.decided_on <= bindparam("today", type_=_CLAIMS.c.decided_on.type),
                      *_in_year(_CLAIMS.c.decided_on, year))
               .group_by(_CLAIMS.c.unit_id))
    return union_all(escalations, reports, returns)


_TALLIES = _tallies(None)


def _tallied(session: Session, scoring: _Scoring) -> None:
    ctx, year = scoring.ctx, scoring.year
    query = _TALLIES if year is None else _tallies(year)
    for key, unit_id, count in core(session, query, {"program": ctx.id, "today": scoring.today}):
        if unit_id in scoring.stats:
            scoring.stats[unit_id][key] = count


def _score(s: dict, rule) -> dict:
    """The deductions of the rule table (docs/plan-format.md, `scoring`), each named, their sum capped."""
    never_reported = s["tasks_due"] > 0 and s["reports"] == 0
    parts = {"yellow_cards": rule.per_two_yellow * (s["yellow_cards"] // 2),
             "red_cards": rule.per_red * s["red_cards"], "returns": rule.per_return * s["returns"],
             "missing_form": rule.per_missing_form * s["form_missing"],
             "never_reported": rule.per_never_reported * never_reported}
    total = sum(parts.values())
    deduction = max(total, -rule.max_deduction)
    reasons = (["red_card"] if s["red_cards"] else []) + (
        ["escalations"] if s["escalations"] >= rule.interview_escalations else [])
    return {**s, "never_reported": never_reported, "deductions": {k: v for k, v in parts.items() if v},
            "capped": deduction != total, "deduction": deduction, "score": 100 + deduction,
            "interview": bool(reasons), "interview_reasons": reasons}


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
            "rule": {**vars(scoring),
                     "red_after_workdays": ctx.policies.reminders.escalate_after
                     * ctx.policies.reminders.overdue_every_workdays},
            "units": scores, "interview": interview_list(scores)}
