"""The daily check as plain steps, without Prefect: the Prefect flows, `simulate` and the benchmark all run
these same steps, so what is previewed is what is sent.

1. advance the phase machine;
2. per running phase, that phase's own check (its tasks' reminder ladder; the 交办 with the assignment phase;
   self-check forms and their chasing; remediation items and theirs);
3. the program-wide step: the ladder for tasks of phases not running, phase notices, the bulletin;
4. dispatch the queued notices as one digest per recipient, inside the sending window.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.orm import Session, sessionmaker

from db import (
    CONTENT_PARTS,
    Candidate,
    ProgramContext,
    Transition,
    ack_candidates,
    advance,
    bulletin_candidates,
    claim,
    claim_candidates,
    content_candidates,
    derive_items,
    load_program,
    phases,
    plan_candidates,
)
from notifications import DispatchResult, Notifier, dispatch

RUNNING = ("open", "overrun")
AsOf = datetime | str | None  # a flow's as_of: a datetime, an ISO date (that day 08:30) or date-time, or none


@dataclass
class CheckResult:
    program: str
    at: datetime
    today: date
    transitions: list[Transition] = field(default_factory=list)
    running: list[str] = field(default_factory=list)
    claimed: Counter = field(default_factory=Counter)
    dispatched: DispatchResult | None = None

    def to_json(self) -> dict:
        return {
            "program": self.program, "at": self.at.isoformat(), "today": self.today.isoformat(),
            "transitions": [{"phase": t.kind, "name": t.name, "state": t.state, "on": t.on.isoformat(),
                             "reasons": list(t.reasons)} for t in self.transitions],
            "running": self.running, "claimed": dict(self.claimed),
            "dispatched": None if self.dispatched is None else {
                "messages": self.dispatched.messages, "notices": self.dispatched.notices,
                "states": dict(self.dispatched.states), "all_failed": self.dispatched.all_failed,
                "render_failures": [{"unit": u, "message": m, "reason": r}
                                    for u, m, r in self.dispatched.render_failures]},
        }


def advance_phases(
    sessions: sessionmaker[Session], program_id: str, at: datetime
) -> tuple[list[Transition], list[str]]:
    with sessions.begin() as session:
        ctx = load_program(session, program_id)
        transitions = advance(session, ctx, ctx.local_date(at), at)
        running = [p.kind for p in phases(session, program_id) if p.state in RUNNING]
    return transitions, running


def local_today(sessions: sessionmaker[Session], program_id: str, at: datetime) -> date:
    with sessions.begin() as session:
        return load_program(session, program_id).local_date(at)


def assignment_phase(session: Session, program_id: str) -> str:
    """交办 goes out with the deployment phase, or with the first phase of a plan without one."""
    kinds = [p.kind for p in phases(session, program_id)]
    return "deployment" if "deployment" in kinds else kinds[0]


def phase_step(sessions: sessionmaker[Session], program_id: str, kind: str, at: datetime) -> Counter:
    """One running phase's own check: its tasks' ladder, the 交办 if it is the assignment phase, its
    content."""
    with sessions.begin() as session:
        ctx = load_program(session, program_id)
        today = ctx.local_date(at)
        if kind == "remediation":
            derive_items(session, ctx, today, at)  # findings become items when remediation opens
        candidates = plan_candidates(session, ctx, today, {kind},
                                     assignments=assignment_phase(session, program_id) == kind)
        if kind in CONTENT_PARTS:  # self-check forms and their chasing; remediation items
            candidates += content_candidates(session, ctx, today, (kind,))
        return _claim(session, ctx, candidates, at)


def program_step(
    sessions: sessionmaker[Session], program_id: str, running: list[str], at: datetime
) -> Counter:
    """The ladder for tasks whose phase is not running (overdue items are chased whatever the phase), the
    opening/closing notices, the bulletin, phase-content notices, and the 交办 when its phase is not
    running."""
    with sessions.begin() as session:
        ctx = load_program(session, program_id)
        today = ctx.local_date(at)
        resting = {p.kind for p in phases(session, program_id)} - set(running)
        candidates = plan_candidates(session, ctx, today, resting, program_notices=True,
                                     assignments=assignment_phase(session, program_id) not in running)
        # Extension decisions any day of the program; a phase's own content when that phase is not running.
        parts = ("extensions", *(part for part in CONTENT_PARTS if part in resting))
        candidates += content_candidates(session, ctx, today, parts)
        # The units' side, any day: 交办 not acknowledged in time; the coordinator's decisions on done claims.
        if ctx.policies.work_calendar().is_workday(today):
            candidates += ack_candidates(session, ctx, today) + claim_candidates(session, ctx)
        return _claim(session, ctx, candidates, at)


def _claim(session: Session, ctx: ProgramContext, candidates: list[Candidate], at: datetime) -> Counter:
    return Counter(kind for _id, kind in claim(session, ctx, candidates, at))


def within_sending_window(ctx: ProgramContext, at: datetime) -> bool:
    local = at.astimezone(ctx.zone)
    delivery = ctx.policies.delivery
    return (
        ctx.policies.work_calendar().is_workday(local.date())
        and delivery.start <= local.time() <= delivery.end
    )


def dispatch_step(sessions: sessionmaker[Session], program_id: str, notifier: Notifier, at: datetime,
                  portal_url: str | None = None) -> DispatchResult | None:
    """Sends what is queued when `at` is inside the program's sending window; otherwise it waits."""
    with sessions.begin() as session:
        ctx = load_program(session, program_id)
    if not within_sending_window(ctx, at):
        return None
    return dispatch(sessions, program_id, notifier, at, ctx.local_date(at), portal_url)


def run_check(sessions: sessionmaker[Session], program_id: str, at: datetime, notifier: Notifier,
              portal_url: str | None = None) -> CheckResult:
    transitions, running = advance_phases(sessions, program_id, at)
    result = CheckResult(program_id, at, local_today(sessions, program_id, at), transitions, running)
    for kind in running:
        result.claimed += phase_step(sessions, program_id, kind, at)
    result.claimed += program_step(sessions, program_id, running, at)
    result.dispatched = dispatch_step(sessions, program_id, notifier, at, portal_url)
    return result


def bulletin_step(sessions: sessionmaker[Session], program_id: str, at: datetime) -> Counter:
    """The weekly bulletin on its own schedule; it shares the daily check's notice key, so it goes once."""
    with sessions.begin() as session:
        ctx = load_program(session, program_id)
        candidates = bulletin_candidates(ctx, ctx.local_date(at), ctx.policies.work_calendar())
        return _claim(session, ctx, candidates, at)
