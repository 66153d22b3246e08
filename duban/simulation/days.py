"""Replay a program day by day on a simulated clock, with seeded units reporting progress.

Every morning at 08:30 the same daily check runs as in production (flows.check.run_check); during the day
the units act through the same domain functions as the portal: they acknowledge (签收) their 交办 within a few
workdays (the slowest are chased), report progress, and the lead claims each task done with its evidence;
most finish on time, some late, a few only after being chased. The simulated coordinator reviews the claims a
few workdays later: most pass (销号, done on the claim's date), some are returned with a reason (退回重办) and
claimed again. Notices go to the outbox only. The same seed gives the same replay.
"""

from __future__ import annotations

import random
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from db import (
    SENT,
    AssignmentAck,
    DoneClaim,
    InvalidInput,
    Notice,
    ProgramContext,
    Task,
    TaskInstance,
    TaskUnit,
    Unit,
    acknowledge,
    claims,
    core,
    load_program,
    pass_claim,
    pending_count,
    return_claim,
    submit_report,
    unacknowledged,
)
from duban.simulation.evidence import write_evidence
from flows import CheckResult, run_check
from notifications import Notifier
from schedule import WorkCalendar, text

CHECK_TIME = time(8, 30)
REPORT_TIME = time(15, 0)
PROFILES = (("on_time", 0.70), ("late", 0.20), ("chased", 0.10))


@dataclass(frozen=True)
class PlannedReport:
    code: str
    unit: str
    status: str
    progress: int


@dataclass
class Simulation:
    program: str
    start: date
    end: date
    seed: int
    transitions: list[dict] = field(default_factory=list)
    notices: Counter = field(default_factory=Counter)
    messages: int = 0
    reports: int = 0
    profiles: Counter = field(default_factory=Counter)
    units_side: Counter = field(default_factory=Counter)  # acks, claims, passed, returned

    def to_json(self) -> dict:
        return {
            "program": self.program, "from": self.start.isoformat(), "to": self.end.isoformat(),
            "seed": self.seed, "transitions": self.transitions, "notices": dict(self.notices),
            "messages": self.messages, "reports": self.reports, "profiles": dict(self.profiles),
            "units_side": dict(self.units_side)}


class UnitModel:
    """Seeded behaviour of the responsible units, decided per task instance when it is first seen."""

    def __init__(self, session: Session, ctx: ProgramContext, rng: random.Random) -> None:
        self.ctx, self.rng = ctx, rng
        self.calendar: WorkCalendar = ctx.policies.work_calendar()
        # Only an import writes units: the replay reads their codes once.
        self.unit_codes: dict[int, str] = dict(
            session.execute(select(Unit.id, Unit.code).where(Unit.program_id == ctx.id)).all())
        self.plan: dict[date, list[PlannedReport]] = defaultdict(list)
        self.seen: set[int] = set()
        self.profiles: Counter = Counter()
        # The coordinator's desk: the replay's units are the only ones to claim and its coordinator the only
        # one to decide, so what waits is counted here rather than looked for every day, and the instances
        # whose claim was returned once (a second claim always passes) are kept here.
        self.pending_claims = pending_count(session, ctx)
        self.returned: set[int] = {c["instance_id"] for c in claims(session, ctx, state="returned")}
        # 签收: what waits is what was left at the last read of it (its sent day and the unit's habit),
        # until a 交办 may have gone out since (`heard`); None: read it again. Nothing is signed before one
        # of them is as old as its unit's habit.
        self.waiting: list[tuple[date, int]] | None = None
        self.unsent = False  # a dispatch left a notice unsent: from then on any message may carry a 交办

    def schedule(self, session: Session, end: date) -> None:
        """Plans the reports of instances not planned yet (new imports, extensions are picked up too)."""
        leads = dict(session.execute(
            select(TaskUnit.task_id, Unit.code).join(Unit, Unit.id == TaskUnit.unit_id)
            .where(Unit.program_id == self.ctx.id, TaskUnit.role == "lead", TaskUnit.position == 0)
        ).all())
        rows = session.execute(
            select(
                TaskInstance.id, TaskInstance.task_id, TaskInstance.window_start, TaskInstance.due,
                Task.code, Task.recurrence)
            .join(Task, Task.id == TaskInstance.task_id)
            .where(
                TaskInstance.program_id == self.ctx.id,
                Task.active.is_(True),
                TaskInstance.retired_on.is_(None),
            )
            .order_by(TaskInstance.task_id, TaskInstance.seq)
        ).all()
        for instance_id, task_id, window_start, due, code, recurrence in rows:
            if instance_id in self.seen or task_id not in leads:
                continue
            self.seen.add(instance_id)
            self._plan_instance(code, leads[task_id], window_start, due, recurrence, end)

    def _plan_instance(
        self, code: str, unit: str, window_start: date, due: date | None, recurrence: str | None, end: date
    ) -> None:
        add = self.calendar.add_workdays
        if due is None:
            # Ongoing work: a progress report every 10–30 workdays, some units slower than the rhythm asks.
            day = add(window_start, self.rng.randint(5, 15))
            progress = 10
            while day <= end:
                progress = min(progress + self.rng.randint(5, 15), 95)
                self.plan[day].append(PlannedReport(code, unit, "in_progress", progress))
                day = add(day, self.rng.randint(10, 30))
            return
        profile = self.rng.choices([p for p, _ in PROFILES], [w for _, w in PROFILES])[0]
        self.profiles[profile] += 1
        policy = self.ctx.policies.reminders
        if profile == "on_time":
            done = add(due, -self.rng.randint(0, 8))
        elif profile == "late":
            done = add(due, self.rng.randint(1, policy.overdue_every_workdays * policy.escalate_after))
        else:  # finishes only once escalated to its leadership
            chased = policy.overdue_every_workdays * policy.escalate_after + 1
            done = add(due, chased + self.rng.randint(1, 3))
        done = max(done, window_start)
        span = (done - window_start).days
        if recurrence is None and span > 20:
            for share in (0.3, 0.6):
                day = self.calendar.next_workday_on_or_after(window_start + timedelta(days=int(span * share)))
                if day < done:
                    self.plan[day].append(PlannedReport(code, unit, "in_progress", int(share * 100)))
        self.plan[done].append(PlannedReport(code, unit, "done", 100))

    def heard(self, check: CheckResult) -> None:
        """What the morning's check sent: a 交办 reaches its unit in a message of the check that claimed it,
        unless a dispatch left notices unsent (then in any later message)."""
        sent = check.dispatched
        messages = bool(sent and sent.messages)
        assigned = bool(check.claimed.get("assignment"))
        if (assigned and not messages) or (sent and (set(sent.states) - set(SENT) or sent.recovered.deferred
                                                      or sent.recovered.retry or sent.recovered.unknown)):
            self.unsent = True
        if messages and (assigned or self.unsent):
            self.waiting = None

    def to_sign(self, today: date) -> bool:
        """Some 交办 may be signed for today: a message went out since the last read, or one left waiting
        then is now as old as its unit's habit."""
        if self.waiting is None:
            return True
        return any(self.calendar.workdays_between(sent_on, today) >= habit for sent_on, habit in self.waiting)

    def reports_on(self, day: date) -> list[PlannedReport]:
        return self.plan.pop(day, [])


class ContentWork(Protocol):
    """The units' phase work beside their reports: evidence, self-check forms, remediation, extensions."""

    def heard(self, check: CheckResult) -> None: ...

    def work(self, session: Session, ctx: ProgramContext, today: date, at: datetime,
             rng: random.Random) -> object: ...


def simulate(
    sessions: sessionmaker[Session],
    program_id: str,
    start: date,
    end: date,
    seed: int,
    notifier: Notifier,
    content: ContentWork | None = None,
    evidence_home: Path | None = None,
) -> Simulation:
    """`content`: the units' phase work (duban.simulation.units.SimulatedUnits), told each morning's check and
    run each workday. `evidence_home`: where the units' generated evidence goes (a done claim carries it when
    the task names a 成果形式); without it, claims of such tasks are refused like any claim without evidence.

    The program context is read once: only an import or archiving changes a program's row, and a replay does
    neither."""
    rng = random.Random(seed)
    with sessions.begin() as session:
        ctx = load_program(session, program_id)
        model = UnitModel(session, ctx, rng)
    result = Simulation(program_id, start, end, seed)
    day = start
    while day <= end:
        at = datetime.combine(day, CHECK_TIME, ctx.zone)
        check = run_check(sessions, program_id, at, notifier)
        result.transitions += [{"on": t.on.isoformat(), "phase": t.kind, "name": t.name, "state": t.state,
                                "reasons": list(t.reasons)} for t in check.transitions]
        result.notices += check.claimed
        result.messages += check.dispatched.messages if check.dispatched else 0
        model.heard(check)
        if content is not None:
            content.heard(check)
        workday = model.calendar.is_workday(day)
        if not (workday or check.transitions or day == start or day in model.plan):
            day += timedelta(days=1)
            continue  # a rest day with nothing planned: the units do nothing
        with sessions.begin() as session:
            if check.transitions or day == start:
                model.schedule(session, end)
            evening = datetime.combine(day, REPORT_TIME, ctx.zone)
            if workday and model.to_sign(day):
                result.units_side["acks"] += _acknowledge(session, ctx, model, day, evening)
            if workday and model.pending_claims:
                _review(session, ctx, model, day, evening, rng, result.units_side)
            for report in model.reports_on(day):
                submitted = _report(session, ctx, report, evening, day, evidence_home)
                if submitted is not None:
                    result.reports += 1
                    result.units_side["claims"] += report.status == "done"
                    model.pending_claims += submitted.get("review") == "pending"
            if content is not None and workday:
                content.work(session, ctx, day, evening, rng)
        day += timedelta(days=1)
    result.profiles = model.profiles
    return result


def _acknowledge(session: Session, ctx: ProgramContext, model: UnitModel, today: date, at: datetime) -> int:
    """签收: each unit signs for a 交办 0–4 workdays after it arrived (its own habit, the same every replay);
    the slowest are chased (ack_missing)."""
    done = 0
    codes = model.unit_codes
    model.waiting = []
    for _instance, unit_id, code, sent_on in unacknowledged(session, ctx):
        habit = zlib.crc32(f"{ctx.id}:{codes[unit_id]}".encode()) % 5
        if model.calendar.workdays_between(sent_on, today) >= habit:
            acknowledge(session, ctx, code, codes[unit_id], at, "simulate")
            done += 1
        else:
            model.waiting.append((sent_on, habit))
    return done


# Built once, run on most simulated days: a statement object keeps its cache key (db.programs).
# The task of a planned report while it still has an open instance (what its evidence is named after).
_OPEN_TASK = select(Task.title, Task.evidence_spec).where(
    Task.program_id == bindparam("program_id"), Task.code == bindparam("code"),
    select(TaskInstance.id).where(TaskInstance.task_id == Task.id, TaskInstance.status != "done",
                                  TaskInstance.retired_on.is_(None)).exists())


def _report(session: Session, ctx: ProgramContext, report: PlannedReport, at: datetime, today: date,
            evidence_home: Path | None) -> dict | None:
    """A planned report, unless its task is done by now, under the same rules as the portal's: a done claim
    carries its evidence. What submit_report answers, None when it is refused or not made."""
    task = core(session, _OPEN_TASK, {"program_id": ctx.id, "code": report.code}).one_or_none()
    if task is None:
        return None
    evidence: list[str] = []
    if report.status == "done" and evidence_home is not None:
        title, spec = task
        if spec:
            evidence = write_evidence(ctx, evidence_home, report.code, title, spec, report.unit, today)
    try:
        return submit_report(session, ctx, report.code, report.unit, report.status, report.progress,
                             text(ctx.language, "simulation.report"), evidence, at, "simulate")
    except InvalidInput:
        return None  # e.g. a claim still waiting for review


RETURN_REASONS = ("simulation.return_evidence", "simulation.return_mismatch")  # keys in the catalogue


def _review(session: Session, ctx: ProgramContext, model: UnitModel, today: date, at: datetime,
            rng: random.Random, counts: Counter) -> None:
    """The simulated coordinator decides claims 1–3 workdays old: about one first claim in eight is returned
    with a reason and claimed again 2–5 workdays later; the rest, and every second claim, pass."""
    pending = claims(session, ctx, state="pending")
    if not pending:
        return
    actor, calendar = text(ctx.language, "simulation.coordinator"), model.calendar
    for claim in pending:
        age = calendar.workdays_between(date.fromisoformat(claim["claimed_on"]), today)
        if age < 1 + rng.randrange(3):
            continue
        if claim["instance_id"] not in model.returned and rng.random() < 0.125:
            reason = text(ctx.language, RETURN_REASONS[rng.randrange(len(RETURN_REASONS))])
            return_claim(session, ctx, claim["id"], reason, actor, at, source="simulate")
            model.returned.add(claim["instance_id"])
            model.pending_claims -= 1
            model.plan[calendar.add_workdays(today, 2 + rng.randrange(4))].append(
                PlannedReport(claim["code"], claim["unit"], "done", 100))
            counts["returned"] += 1
        else:
            pass_claim(session, ctx, claim["id"], actor, at, source="simulate")
            model.pending_claims -= 1
            counts["passed"] += 1


def unit_table(session: Session, ctx: ProgramContext) -> list[dict]:
    """Per unit (as lead): instances done on time, done late, still open, and escalations received."""
    rows = session.execute(
        select(Unit.code, Unit.name, TaskInstance.due, TaskInstance.done_on, TaskInstance.status)
        .join(TaskUnit, TaskUnit.unit_id == Unit.id)
        .join(TaskInstance, TaskInstance.task_id == TaskUnit.task_id)
        .where(
            Unit.program_id == ctx.id, TaskUnit.role == "lead", TaskInstance.due.is_not(None),
            TaskInstance.retired_on.is_(None))
    ).all()
    table: dict[str, dict] = {}
    for code, name, due, done_on, status in rows:
        entry = table.setdefault(code, {"unit": code, "name": name, "on_time": 0, "late": 0, "open": 0,
                                        "escalations": 0, "acks": 0, "returns": 0})
        if status == "done" and done_on is not None:
            entry["on_time" if done_on <= due else "late"] += 1
        else:
            entry["open"] += 1
    escalations = session.execute(
        select(Unit.code, Notice.id).join(Unit, Unit.id == Notice.subject_unit_id)
        .where(Notice.program_id == ctx.id, Notice.kind == "escalation", Notice.audience == "leader")
    ).all()
    for code, _ in escalations:
        if code in table:
            table[code]["escalations"] += 1
    returned = (DoneClaim.state == "returned",)
    for key, model, extra in (("acks", AssignmentAck, ()), ("returns", DoneClaim, returned)):
        for code, in session.execute(select(Unit.code).join(model, model.unit_id == Unit.id)
                                     .where(model.program_id == ctx.id, *extra)):
            if code in table:
                table[code][key] += 1
    return sorted(table.values(), key=lambda e: (-e["escalations"], -e["late"], e["unit"]))
