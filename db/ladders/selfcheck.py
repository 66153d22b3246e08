"""Self-check notices: the form to each unit with tasks while self-check runs, then chasing until it is back.

- selfcheck_form     once per unit: `selfcheck_form:P:self_check:UNIT`
- selfcheck_missing  the ladder on the self-check end date, stopping when the form is back or the coordinator
                     approved closing the phase: `selfcheck_missing:P:self_check:UNIT:unit:END:b3` (before the
                     end), `…:unit:END:o2` (overdue), `…:UNIT:leader:END:o3` / `…:coordinator:UNIT:END:o3`.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from db.bulk import core
from db.gates import phase_decision
from db.models import Phase
from db.notices import Candidate, notice_key
from db.programs import ProgramContext
from db.selfcheck import returns_by_unit, units_with_tasks
from schedule import rung, text

_SELF_CHECK = select(Phase.state, Phase.start, Phase.end, Phase.name).where(
    Phase.program_id == bindparam("program_id"), Phase.kind == "self_check")


def selfcheck_candidates(session: Session, ctx: ProgramContext, today: date) -> list[Candidate]:
    phase = core(session, _SELF_CHECK, {"program_id": ctx.id}).first()  # its columns, named as the phase's
    if phase is None or phase.state not in ("open", "overrun") or today < phase.start:
        return []
    decision = phase_decision(session, ctx.id, "self_check")
    if decision is not None and decision.approve:
        return []
    returned = returns_by_unit(session, ctx.id)
    missing = {
        unit_id: code for unit_id, code in units_with_tasks(session, ctx).items() if unit_id not in returned
    }
    candidates = []
    for unit_id, code in missing.items():
        candidates += _unit_candidates(ctx, phase, today, unit_id, code)
    return candidates


def _unit_candidates(
    ctx: ProgramContext, phase: Phase, today: date, unit_id: int, code: str
) -> list[Candidate]:
    language, end = ctx.language, phase.end
    base = {"phase": "self_check", "end": end.isoformat(),
            "title": text(language, "ladder.form_title", phase=phase.name)}
    candidates = [
        Candidate(
            notice_key("selfcheck_form", ctx.id, "self_check", code), "selfcheck_form", unit_id,
            data={**base, "note": text(language, "ladder.form_note", end=end)})
    ]
    step = rung(today, end, ctx.policies.reminders, ctx.policies.work_calendar())
    if step is None:
        return candidates
    if step.stage == "before_due":
        note = text(language, "ladder.form_before_end", workdays=step.number)
        return candidates + [Candidate(
            notice_key("selfcheck_missing", ctx.id, "self_check", code, "unit", end, f"b{step.number}"),
            "selfcheck_missing", unit_id, due=end,
            data={**base, "stage": "before_end", "workdays": step.number, "note": note})]
    slot, late = step.number, step.overdue_workdays
    data = {**base, "stage": "overdue", "slot": slot, "overdue_workdays": late,
            "note": text(language, "ladder.form_overdue", late=late, slot=slot)}
    candidates.append(
        Candidate(
            notice_key("selfcheck_missing", ctx.id, "self_check", code, "unit", end, f"o{slot}"),
            "selfcheck_missing", unit_id, due=end, data=data)
    )
    if not step.escalated or unit_id == ctx.program.coordinator_unit_id:
        return candidates  # the coordinator is never escalated to itself
    escalated = {**data, "escalated": True, "unit": code,
                 "note": text(language, "ladder.form_escalated", unit=code, late=late)}
    candidates.append(
        Candidate(
            notice_key("selfcheck_missing", ctx.id, "self_check", code, "leader", end, f"o{slot}"),
            "selfcheck_missing", unit_id, "leader", due=end, subject_unit_id=unit_id, data=escalated)
    )
    coordinator = ctx.program.coordinator_unit_id
    if coordinator is not None:
        candidates.append(Candidate(
            notice_key("selfcheck_missing", ctx.id, "self_check", "coordinator", code, end, f"o{slot}"),
            "selfcheck_missing", coordinator, "unit", due=end, subject_unit_id=unit_id, data=escalated))
    return candidates
