"""The notices of the work each phase brings besides its tasks: self-check forms, remediation items,
extensions."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from db.ladders.extensions import extension_candidates
from db.ladders.remediation import remediation_candidates
from db.ladders.selfcheck import selfcheck_candidates
from db.notices import Candidate
from db.programs import ProgramContext

CONTENT_PARTS = ("self_check", "remediation", "extensions")


def content_candidates(
    session: Session, ctx: ProgramContext, today: date, parts: tuple[str, ...] = CONTENT_PARTS
) -> list[Candidate]:
    """The content notices due as of today, before claiming: self-check forms, remediation items, extension
    decisions (or the `parts` named). Nothing on non-workdays."""
    calendar = ctx.policies.work_calendar()
    if not calendar.is_workday(today):
        return []
    candidates: list[Candidate] = []
    if "self_check" in parts:
        candidates += selfcheck_candidates(session, ctx, today)
    if "remediation" in parts:
        candidates += remediation_candidates(session, ctx, today)
    if "extensions" in parts:
        candidates += extension_candidates(session, ctx)
    return candidates
