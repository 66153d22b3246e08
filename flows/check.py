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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.orm import Session, sessionmaker

from db import (
    CONTENT_PARTS,
    ROLL_UP,
    Candidate,
    Daily,
    Mark,
    Marks,
    OpenInstances,
    Phase,
    PhaseState,
    ProgramContext,
    Transition,
    ack_candidates,
    advance,
    bulletin_candidates,
    claim,
    claim_candidates,
    content_candidates,
    daily_program,
    derive_items,
    ended_by,
    ended_on,
    load_program,
    phases,
    plan_candidates,
    record_marks,
    summary_candidates,
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
        if ctx.program.archived_at is not None:
            return [], []  # read-only: its phases stay as they were archived
        transitions = advance(session, ctx, ctx.local_date(at), at)
        return transitions, running_kinds(phases(session, program_id))


def running_kinds(plan_phases: list[Phase | PhaseState]) -> list[str]:
    return [p.kind for p in plan_phases if p.state in RUNNING]


def local_today(sessions: sessionmaker[Session], program_id: str, at: datetime) -> date:
    with sessions.begin() as session:
        return load_program(session, program_id).local_date(at)


def assignment_phase(plan_phases: list[Phase | PhaseState]) -> str:
    """交办 goes out with the deployment phase, or with the first phase of a plan without one."""
    kinds = [p.kind for p in plan_phases]
    return "deployment" if "deployment" in kinds else kinds[0]


class _Shared:
    """What the claim steps of one transaction read alike, read once: the program's marks (db.marks; read
    first, before the phases move) and its open instances (when first asked), neither of which a step writes
    (it writes notices, marks and remediation items). The marks of the steps that claimed everything are
    recorded together at the end."""

    def __init__(self, session: Session, daily: Daily, today: date) -> None:
        self.session, self.ctx, self.today = session, daily.ctx, today
        self.marks = Marks(session, daily.ctx.id, daily.changes, daily.marks)
        self.found = OpenInstances(session, daily.ctx, today)
        self.done: list[Mark] = []

    def record(self) -> None:
        record_marks(self.session, self.ctx.id, self.done, self.today)


def phase_step(sessions: sessionmaker[Session], program_id: str, kind: str, at: datetime) -> Counter:
    """One running phase's own check: its tasks' ladder, the 交办 if it is the assignment phase, its
    content."""
    return _step(sessions, program_id, at,
                 lambda session, ctx, phases, shared: _phase_claims(session, ctx, kind, at, phases, shared))


def _step(sessions: sessionmaker[Session], program_id: str, at: datetime,
          claims: Callable[[Session, ProgramContext, list[PhaseState], _Shared], Counter]) -> Counter:
    """A claim step in a transaction of its own: the day's read of the program, its claims, its marks."""
    with sessions.begin() as session:
        daily = daily_program(session, program_id)
        shared = _Shared(session, daily, daily.ctx.local_date(at))
        claimed = claims(session, daily.ctx, daily.phases, shared)
        shared.record()
        return claimed


def _phase_claims(session: Session, ctx: ProgramContext, kind: str, at: datetime,
                  plan_phases: list[Phase | PhaseState], shared: _Shared) -> Counter:
    today = ctx.local_date(at)
    if kind == "remediation":  # findings become items when remediation opens
        derive_items(session, ctx, today, at, next(p for p in plan_phases if p.kind == kind))
    if not ctx.policies.work_calendar().is_workday(today):
        return Counter()  # every notice waits for the next workday's check
    mark = shared.marks.of(f"phase:{kind}")
    candidates = plan_candidates(session, ctx, today, {kind}, since=mark.since, open_instances=shared.found,
                                 assignments=assignment_phase(plan_phases) == kind, plan_phases=plan_phases)
    if kind in CONTENT_PARTS:  # self-check forms and their chasing; remediation items
        candidates += content_candidates(session, ctx, today, (kind,))
    return _claim(session, ctx, candidates, at, mark, shared)


def program_step(
    sessions: sessionmaker[Session], program_id: str, running: list[str], at: datetime
) -> Counter:
    """The ladder for tasks whose phase is not running (overdue items are chased whatever the phase), the
    opening/closing notices, the bulletin, phase-content notices, and the 交办 when its phase is not
    running."""
    return _step(sessions, program_id, at, lambda session, ctx, phases, shared: _program_claims(
        session, ctx, running, at, phases, shared))


def _program_claims(session: Session, ctx: ProgramContext, running: list[str], at: datetime,
                    plan_phases: list[Phase | PhaseState], shared: _Shared) -> Counter:
    today = ctx.local_date(at)
    if ended_by(plan_phases) is not None:  # completed: its final summary is all it still sends
        final = [] if ctx.program.archived_at else summary_candidates(session, ctx)
        return _claim(session, ctx, final, at)
    if not ctx.policies.work_calendar().is_workday(today):
        return Counter()  # every notice waits for the next workday's check
    resting = {p.kind for p in plan_phases} - set(running)
    # Which phases run changes only with a transition, a write: a mark for this step holds for one set.
    mark = shared.marks.of("program")
    candidates = plan_candidates(session, ctx, today, resting, program_notices=True, since=mark.since,
                                 assignments=assignment_phase(plan_phases) not in running,
                                 open_instances=shared.found, plan_phases=plan_phases)
    # Extension requests and decisions any day of the program; remediation items whatever the phase, once it
    # has opened: items are derived only then, and a phase never returns to pending (self-check forms are
    # chased only while self-check runs: never here). A request, like a decision on a done claim, is a
    # counted write (db.models.marks): none is new while the mark holds.
    opened = {p.kind for p in plan_phases if p.state != "pending"}
    parts = (*(("extensions",) if mark.since is None else ()),
             *(part for part in CONTENT_PARTS if part in resting & opened and part != "self_check"))
    candidates += content_candidates(session, ctx, today, parts)
    # The units' side, any day: 交办 not acknowledged in time; the coordinator's decisions on done claims.
    candidates += ack_candidates(session, ctx, today, mark.since, shared.found)
    if mark.since is None:
        candidates += claim_candidates(session, ctx)
    return _claim(session, ctx, candidates, at, mark, shared)


def _claim(session: Session, ctx: ProgramContext, candidates: list[Candidate], at: datetime,
           mark: Mark | None = None, shared: _Shared | None = None) -> Counter:
    """Claims the candidates; with the step's mark, notes that it claimed everything due today (recorded in
    the same transaction, by `shared.record`)."""
    claimed = claim(session, ctx, candidates, at)
    if mark is not None and shared is not None:
        shared.done.append(mark)
    return claimed


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
    return _dispatch(sessions, ctx, notifier, at, portal_url)


def _dispatch(sessions: sessionmaker[Session], ctx: ProgramContext, notifier: Notifier, at: datetime,
              portal_url: str | None) -> DispatchResult | None:
    if ctx.program.archived_at is not None or not within_sending_window(ctx, at):
        return None  # an archived program is read-only: nothing is sent for it
    return dispatch(sessions, ctx.id, notifier, at, ctx.local_date(at), portal_url, ctx)


def run_check(sessions: sessionmaker[Session], program_id: str, at: datetime, notifier: Notifier,
              portal_url: str | None = None) -> CheckResult:
    """The same steps as the Prefect flows', in one transaction up to the claims (committed before anything is
    sent), on one program context."""
    with sessions.begin() as session:
        daily = daily_program(session, program_id)
        ctx, plan_phases = daily.ctx, daily.phases
        today = ctx.local_date(at)
        shared = _Shared(session, daily, today)
        rolled_up = shared.marks.current(ROLL_UP)
        transitions = advance(session, ctx, today, at, plan_phases=plan_phases,  # moves these phases
                              rolled_up=rolled_up)
        if not rolled_up:
            shared.done.append(shared.marks.of(ROLL_UP))
        running = running_kinds(plan_phases)
        result = CheckResult(program_id, at, today, transitions, running)
        for kind in running:
            result.claimed += _phase_claims(session, ctx, kind, at, plan_phases, shared)
        result.claimed += _program_claims(session, ctx, running, at, plan_phases, shared)
        shared.record()
    result.dispatched = _dispatch(sessions, ctx, notifier, at, portal_url)
    return result


def bulletin_step(sessions: sessionmaker[Session], program_id: str, at: datetime) -> Counter:
    """The weekly bulletin on its own schedule; it shares the daily check's notice key, so it goes once."""
    with sessions.begin() as session:
        ctx = load_program(session, program_id)
        if ended_on(session, program_id) is not None:
            return Counter()  # a completed program's last bulletin is its final summary
        candidates = bulletin_candidates(ctx, ctx.local_date(at), ctx.policies.work_calendar())
        return _claim(session, ctx, candidates, at)
