"""The tasks' reminder ladder, the phase notices and the bulletin, as set-based candidate selection.

Each rule runs one query for its candidate instances and asks schedule.ladder which reminder (a threshold or
a slot) is due; the slot goes into the notice key (db.notices.notice_key), and db.notices.claim records them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, cached_property

from sqlalchemy import (
    Date,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from db.assignments import SENT_MOMENTS
from db.bulk import one_of
from db.models import Notice, Phase, Task, TaskInstance, TaskUnit, Unit, UnitMember
from db.notices import (
    CLAIMED_FIRST,
    PROGRAM,
    SELECTED,
    Candidate,
    Selected,
    core,
    json_rows,
    notice_key,
    sql_json,
    sql_key,
    sql_rows,
    sql_text,
)
from db.phases import waiting_query
from db.programs import PhaseState, ProgramContext
from db.tasks import REPORT_STATUSES, Recipients
from schedule import before_due_horizon, before_due_offset, bulletin_slot, report_slot, rung

OPEN_STATUSES = tuple(status for status in REPORT_STATUSES if status != "done")


def plan_candidates(
    session: Session,
    ctx: ProgramContext,
    today: date,
    task_phases: set[str] | None = None,
    *,
    assignments: bool = False,
    program_notices: bool = False,
    since: date | None = None,
    open_instances: OpenInstances | None = None,
    plan_phases: list[Phase | PhaseState] | None = None,
) -> list[Candidate]:
    """The notices due as of today for the tasks of `task_phases` (None: all tasks), before claiming.

    Nothing on non-workdays: those notices wait for the next workday's check. `since`: the last day
    everything due was claimed, nothing that could bring new candidates having been written since (db.marks);
    then the ladder visits only the due dates whose rung moved since that day and every progress report owed
    (a unit's report is not counted), neither on that same day, nor the bulletin of the same period; what
    only a write brings (the 交办, the phase notices) is held already. `open_instances`: the program's open
    instances as read for today by another step of the same check. `plan_phases`: the program's phases as
    read already in this session.
    """
    calendar = ctx.policies.work_calendar()
    if not calendar.is_workday(today):
        return []
    candidates: list[Candidate] = []
    if assignments and since is None:
        # The 交办 covers every task of the plan, whichever phase it belongs to.
        candidates += _assignments(session, ctx, plan_phases)
    if (task_phases is None or task_phases) and since != today:
        moved = _Moved(today, since)
        found = open_instances or OpenInstances(session, ctx, today)
        candidates += _before_due(session, ctx, moved, found, task_phases)
        candidates += _overdue_and_escalations(session, ctx, moved, found, task_phases)
        candidates += _report_missing(session, ctx, found, task_phases)
    if program_notices and since is None:
        candidates += _phase_notices(session, ctx)
    cadence = ctx.policies.reminders.bulletin
    if program_notices and (since is None or bulletin_slot(since, cadence, calendar) != bulletin_slot(
            today, cadence, calendar)):  # a period's bulletin, claimed on `since`, is held
        candidates += bulletin_candidates(ctx, today, calendar)
    return candidates


@dataclass(frozen=True)
class _Moved:
    """Today's rungs, only those that moved since the last day everything due was claimed (`since`; None:
    all). A due date whose rung number is the same as that day's has nothing new: its notices are keyed by
    that number and were claimed then. After days without a check, a due date is on today's rung, as in any
    check."""

    today: date
    since: date | None

    def rungs(self, dues, rung_of) -> dict[date, tuple]:
        """due → rung_of(today, due), the (number, overdue workdays) of its rung today, if it moved."""
        found = {}
        for due in dues:
            now = rung_of(self.today, due)
            if now is not None and (self.since is None or (rung_of(self.since, due) or (None,))[0] != now[0]):
                found[due] = now
        return found


_OPEN = (TaskInstance.program_id == PROGRAM, Task.active.is_(True), TaskInstance.status != "done",
         TaskInstance.retired_on.is_(None))
_REPORTING = (
    select(Task.phase_kind, TaskInstance.due, TaskInstance.id, TaskInstance.task_id, Task.code,
           TaskInstance.window_start, TaskInstance.last_report_at)
    .join(Task, Task.id == TaskInstance.task_id)
    .where(*_OPEN, or_(TaskInstance.status == "in_progress", Task.recurrence == "ongoing"),
           or_(TaskInstance.due.is_(None), TaskInstance.due >= bindparam("today", type_=Date)),
           TaskInstance.window_start <= bindparam("today", type_=Date))
)
# The instances a report may be owed for; the distinct due dates by phase, their rows without an instance
# (typed NULLs: PostgreSQL matches the branches' types); the moments a 交办 still unacknowledged went out, in
# the last column of a row without a due date: one statement every workday, not three.
_NULLS = [cast(null(), column.type) for column in _REPORTING.selected_columns]
_DUES_AND_REPORTING = union_all(
    _REPORTING,
    select(Task.phase_kind, TaskInstance.due, *_NULLS[2:])
    .join(Task, Task.id == TaskInstance.task_id).where(*_OPEN, TaskInstance.due.is_not(None)).distinct(),
    SENT_MOMENTS.with_only_columns(*_NULLS[:-1], Notice.sent_at))


class OpenInstances:
    """The program's open instances as the ladder reads them on `today`: their due dates by phase, those a
    progress report is owed for (report_missing), and the moments the 交办 not signed for went out
    (ack_missing). Read when first asked, once for all the claim steps of one check: a step writes notices,
    marks and remediation items, never what is read here."""

    def __init__(self, session: Session, ctx: ProgramContext, today: date) -> None:
        self.session, self.ctx, self.today = session, ctx, today

    @cached_property
    def _read(self) -> tuple[list[tuple[str | None, date]], list[tuple], list[datetime]]:
        """(the distinct (phase, due) of the open instances, by due date; the rows of _REPORTING; the moments
        a 交办 still unacknowledged went out)."""
        dues, reporting, sent = [], [], []
        for row in core(self.session, _DUES_AND_REPORTING,
                        {"program_id": self.ctx.id, "today": self.today}).all():  # fetched at once
            if row[2] is not None:
                reporting.append(row)
            elif row[1] is not None:
                dues.append((row[0], row[1]))
            else:
                sent.append(row[-1])
        return sorted(dues, key=lambda row: row[1]), reporting, sent

    @property
    def sent(self) -> list[datetime]:
        """The distinct moments a 交办 still unacknowledged went out (db.assignments.ack_candidates)."""
        return self._read[2]

    @property
    def _dues(self) -> list[tuple[str | None, date]]:
        return self._read[0]

    def dues(self, task_phases: set[str] | None, wanted: Callable[[date], bool]) -> list[date]:
        """The distinct due dates of the open instances of `task_phases` (None: all) that are `wanted`."""
        return list(dict.fromkeys(due for kind, due in self._dues
                                  if (task_phases is None or kind in task_phases) and wanted(due)))

    @cached_property
    def _reports_owed(self) -> list[tuple]:
        """(instance id, task id, code, due, anchor, slot, phase): a progress report owed today since `anchor`
        (the last report, or the window's start), its `slot`-th reminder."""
        every = self.ctx.policies.reminders.report_every_workdays
        calendar = self.ctx.policies.work_calendar()
        owed, slots = [], {}
        for kind, due, instance_id, task_id, code, window_start, last_report_at in self._read[1]:
            anchor = self.ctx.local_date(last_report_at) if last_report_at else window_start
            # The calendar is asked once per anchor day, never once per instance.
            if anchor not in slots:
                slots[anchor] = report_slot(self.today, anchor, every, calendar)
            if (slot := slots[anchor]) is not None:
                owed.append((instance_id, task_id, code, due, anchor, slot, kind))
        return owed

    def reports_owed(self, task_phases: set[str] | None) -> list[tuple]:
        return [row for row in self._reports_owed if task_phases is None or row[-1] in task_phases]


_FIRST_OPEN = select(Phase.id).where(Phase.program_id == PROGRAM, Phase.state != "pending").limit(1)


@cache
def _unassigned(dialect: str) -> Select:
    """The first instance of every task without its 交办, but of the phases whose 交办 waits for the tasks
    that issue the 方案 and the 分工表 (assign_after): one statement."""
    return (select(TaskInstance.task_id, TaskInstance.id.label("instance_id"), Task.code)
            .join(Task, Task.id == TaskInstance.task_id)
            .where(TaskInstance.program_id == PROGRAM, Task.active.is_(True), TaskInstance.seq == 0,
                   TaskInstance.retired_on.is_(None),
                   ~exists().where(and_(Notice.instance_id == TaskInstance.id, Notice.kind == "assignment")),
                   Task.phase_kind.not_in(waiting_query(dialect))))


def _assignments(session: Session, ctx: ProgramContext,
                 plan_phases: list[Phase | PhaseState] | None) -> list[Candidate]:
    """交办: once the first phase has opened, every task not yet assigned is sent to its units."""
    opened = (core(session, _FIRST_OPEN, {"program_id": ctx.id}).scalar() is not None if plan_phases is None
              else any(phase.state != "pending" for phase in plan_phases))
    if not opened:
        return []
    unassigned = core(session, _unassigned(session.get_bind().dialect.name), {"program_id": ctx.id}).all()
    recipients = Recipients(session, ctx.id, task_ids=[task_id for task_id, _instance, _code in unassigned])
    return [
        Candidate(notice_key("assignment", ctx.id, instance_id, r.code), "assignment", r.unit_id,
                  instance_id=instance_id, task_code=code, data={"role": r.role})
        for task_id, instance_id, code in unassigned
        for r in recipients.of(task_id)
    ]


class _Answering:
    """Who answers for a task, in SQL: its units, a collective standing for its members."""

    def __init__(self) -> None:
        self.collective = Unit.__table__.alias("collective")
        self.member = Unit.__table__.alias("member")
        self.unit_id = func.coalesce(self.member.c.id, self.collective.c.id)
        self.code = func.coalesce(self.member.c.code, self.collective.c.code)

    def joined(self, query: Select, unit_id) -> Select:
        return (query.join(self.collective, self.collective.c.id == unit_id)
                .outerjoin(UnitMember, UnitMember.collective_id == self.collective.c.id)
                .outerjoin(self.member, self.member.c.id == UnitMember.member_id))


def _rungs(found: OpenInstances, task_phases, moved: _Moved, rung_of,
           wanted: Callable[[date], bool]) -> dict[date, tuple]:
    """due date → its rung today, for the distinct due dates of the open instances whose rung moved: the
    ladder is asked once per date, never once per task."""
    return moved.rungs(found.dues(task_phases, wanted), rung_of)


@dataclass(frozen=True)
class _Rule:
    """One rule of the ladder on its rungs: the notice kind, the parts of its key and its data (SQL, given who
    answers and the instances on a rung), and whom it goes to: every answering unit, the lead units first (so
    a unit reached twice on one task, itself and through a collective, answers as lead), or the coordinator
    (`to_coordinator`). `skips_coordinator`: the coordinator gets none of them (never escalated to about
    itself)."""

    kind: str
    parts: Callable
    data: Callable
    roles: tuple[str, ...] = ("lead", "co")
    audience: str = "unit"
    subject: bool = False
    to_coordinator: bool = False
    skips_coordinator: bool = False


def _slot(t, role=None) -> dict:
    base = {"slot": t.c.number, "overdue_workdays": t.c.late}
    return base if role is None else base | {"role": role}


_BEFORE_DUE = _Rule("before_due", lambda who, t: (who.code, t.c.due, t.c.number),
                    lambda t, role: {"workdays": t.c.number, "role": role})
_OVERDUE = _Rule("overdue", lambda who, t: (who.code, t.c.due, t.c.number), _slot)
# 督办: past the allowed number of 催办, the lead unit's leader and the coordinator are copied; the
# coordinator's own tasks are chased like any unit's, never escalated to itself.
_TO_LEADER = _Rule("escalation", lambda who, t: (who.code, "leader", t.c.due, t.c.number),
                   lambda t, _role: _slot(t), roles=("lead",), audience="leader", subject=True,
                   skips_coordinator=True)
_TO_COORDINATOR = _Rule("escalation", lambda who, t: ("coordinator", who.code, t.c.due, t.c.number),
                        lambda t, _role: _slot(t), roles=("lead",), subject=True, to_coordinator=True,
                        skips_coordinator=True)
_RUNGS = {"due": Date(), "number": Integer(), "late": Integer()}
_COORDINATOR = bindparam("coordinator", type_=Integer)


def _on_rung(session: Session, ctx: ProgramContext, rule: _Rule, task_phases,
             rungs: dict[date, tuple]) -> list[Selected]:
    """The notices of one rule for every recipient of an open instance whose due date is on `rungs`
    (due → (number, overdue workdays)), keyed `kind:program:instance:…parts`, those already held left out.
    The statements are built once (per database, rule, role and filter) and take the rungs as a parameter."""
    if not rungs:
        return []
    dialect, coordinator = session.get_bind().dialect.name, ctx.program.coordinator_unit_id
    table = [(due, number, late) for due, (number, late, *_) in rungs.items()]
    params = {"program_id": ctx.id, "coordinator": coordinator, "phases": sorted(task_phases or ()),
              "rungs": json_rows(session, _RUNGS, table)}
    skipping = rule.skips_coordinator and coordinator is not None
    return [Selected(rule.kind, _rung_query(dialect, rule, task_phases is not None, skipping), params)]


@cache
def _rung_query(dialect: str, rule: _Rule, phased: bool, skipping: bool) -> Select:
    table = sql_rows(dialect, "rungs", _RUNGS)
    # The instances on a rung first, on their own: each rung's instances found by the index (program, status,
    # due), the open statuses named for it; then their task and recipients by key lookups.
    due = (select(TaskInstance.id, TaskInstance.task_id, TaskInstance.due, table.c.number, table.c.late,
                  TaskUnit.unit_id, TaskUnit.role)
           .select_from(table).join(TaskInstance, TaskInstance.due == table.c.due)
           .join(TaskUnit, TaskUnit.task_id == TaskInstance.task_id)
           .where(TaskInstance.program_id == PROGRAM, TaskInstance.status.in_(OPEN_STATUSES),
                  TaskInstance.retired_on.is_(None))
           .cte("on_rung").prefix_with("MATERIALIZED"))
    who = _Answering()
    key = sql_key(rule.kind, PROGRAM, due.c.id, *rule.parts(who, due))
    tasks = [Task.id == due.c.task_id, Task.active.is_(True)]
    if phased:
        tasks.append(Task.phase_kind.in_(bindparam("phases", expanding=True)))
    recipient = _COORDINATOR if rule.to_coordinator else who.unit_id
    columns = (key, sql_text(rule.kind), recipient, sql_text(rule.audience),
               due.c.id, Task.code, due.c.due, who.unit_id if rule.subject else cast(literal(None), Integer),
               sql_json(dialect, rule.data(due, due.c.role)))
    # Every role's recipients in one statement, a role's before the next one's (CLAIMED_FIRST): a unit on a
    # task as lead and as co-unit is told as lead, and its digest lists its notices in the same order.
    rank = case({role: n for n, role in enumerate(rule.roles)}, value=due.c.role).label(CLAIMED_FIRST)
    query = (select(*(c.label(name) for c, name in zip(columns, SELECTED, strict=True)), rank)
             .select_from(due))
    query = who.joined(query.join(Task, and_(*tasks)), due.c.unit_id)
    query = query.where(one_of(due.c.role, rule.roles), ~exists().where(Notice.key == key))
    return query.where(who.unit_id != _COORDINATOR) if skipping else query


def _before_due(session, ctx, moved: _Moved, found: OpenInstances, task_phases) -> list[Selected]:
    offsets = ctx.policies.reminders.before_due_workdays
    today, calendar = moved.today, ctx.policies.work_calendar()
    horizon = before_due_horizon(today, max(offsets), calendar)

    def offset(day: date, due: date) -> tuple | None:
        found = before_due_offset(day, due, offsets, calendar)
        return None if found is None else (found, 0)

    rungs = _rungs(found, task_phases, moved, offset, lambda due: today < due <= horizon)
    return _on_rung(session, ctx, _BEFORE_DUE, task_phases, rungs)


def _overdue_and_escalations(session, ctx, moved: _Moved, found: OpenInstances,
                             task_phases) -> list[Selected]:
    policy, calendar = ctx.policies.reminders, ctx.policies.work_calendar()

    def step(day: date, due: date) -> tuple | None:
        found = rung(day, due, policy, calendar)
        if found is None or found.stage != "overdue":
            return None  # not yet overdue that day
        return found.number, found.overdue_workdays, found.escalated

    rungs = _rungs(found, task_phases, moved, step, lambda due: due < moved.today)
    escalated = {due: found for due, found in rungs.items() if found[2]}
    chosen = _on_rung(session, ctx, _OVERDUE, task_phases, rungs)
    chosen += _on_rung(session, ctx, _TO_LEADER, task_phases, escalated)
    if ctx.program.coordinator_unit_id is not None:
        chosen += _on_rung(session, ctx, _TO_COORDINATOR, task_phases, escalated)
    return chosen


_OWED = {"place": Integer(), "task_id": Integer(), "instance_id": Integer(), "since": String(),
         "slot": Integer()}


def _report_missing(session: Session, ctx: ProgramContext, found: OpenInstances,
                    task_phases) -> list[Candidate]:
    """Every progress report owed today whatever the marks (a unit's report is a write they do not count,
    db.models.marks, and the reminder it owes next is keyed by its date), to each lead unit, in one read that
    leaves out those held already."""
    owed = found.reports_owed(task_phases)
    if not owed:
        return []
    every = ctx.policies.reminders.report_every_workdays
    rows = [(n, task_id, instance_id, anchor.isoformat(), slot)
            for n, (instance_id, task_id, _code, _due, anchor, slot, _phase) in enumerate(owed)]
    params = {"program_id": ctx.id, "owed": json_rows(session, _OWED, rows)}
    candidates = {}  # a unit that leads a task itself and through a collective is told once
    for n, unit_id, unit_code in core(session, _owed_query(session.get_bind().dialect.name), params):
        instance_id, _task_id, code, due, anchor, slot, _phase = owed[n]
        key = notice_key("report_missing", ctx.id, instance_id, unit_code, anchor, slot)
        candidates.setdefault(key, Candidate(key, "report_missing", unit_id, "unit", instance_id, code, due,
                                             data={"since": anchor.isoformat(), "workdays": slot * every}))
    return list(candidates.values())


@cache
def _owed_query(dialect: str) -> Select:
    """The lead units (a collective's members for it) of each owed row whose reminder is not held yet, in the
    rows' order."""
    table = sql_rows(dialect, "owed", _OWED)
    who = _Answering()
    key = sql_key("report_missing", PROGRAM, table.c.instance_id, who.code, table.c.since, table.c.slot)
    query = (select(table.c.place, who.unit_id, who.code).select_from(table)
             .join(TaskUnit, and_(TaskUnit.task_id == table.c.task_id, TaskUnit.role == "lead")))
    return (who.joined(query, TaskUnit.unit_id).where(~exists().where(Notice.key == key))
            .order_by(table.c.place, TaskUnit.position))


# Each open phase with each unit (not a collective: its members are units themselves) that has not had its
# opening notice yet: nearly every pair has, every day the program step reads them. Then each closed or
# overrun phase whose notice to the coordinator (if the program has one) is not held yet: left out here alike,
# rather than built every day to be refused by the claim. One statement, phase by phase.
_ENDED_KEY = case((Phase.state == "closed", sql_key("phase_closed", PROGRAM, Phase.kind, _COORDINATOR)),
                  else_=sql_key("phase_overrun", PROGRAM, Phase.kind, _COORDINATOR))
_PHASE_COLUMNS = (Phase.id, Phase.kind, Phase.name, Phase.start, Phase.end)
_PHASE_NOTICES = union_all(
    select(*_PHASE_COLUMNS, Unit.id.label("unit_id"), Phase.state, Phase.gate_reasons, Phase.closed_on)
    .join(Unit, Unit.program_id == Phase.program_id)
    .where(Phase.program_id == PROGRAM, Phase.state == "open",
           ~exists().where(UnitMember.collective_id == Unit.id),
           ~exists().where(Notice.key == sql_key("phase_opened", PROGRAM, Phase.kind, Unit.id))),
    select(*_PHASE_COLUMNS, cast(_COORDINATOR, Integer), Phase.state, Phase.gate_reasons, Phase.closed_on)
    .where(Phase.program_id == PROGRAM, Phase.state.in_(("closed", "overrun")),
           cast(_COORDINATOR, Integer).is_not(None),
           ~exists().where(Notice.key == _ENDED_KEY)),
).order_by(literal_column("id"), literal_column("unit_id"))


def _phase_data(phase) -> dict:
    return {"phase": phase.kind, "name": phase.name, "start": phase.start.isoformat(),
            "end": phase.end.isoformat()}


def _phase_notices(session: Session, ctx: ProgramContext) -> list[Candidate]:
    """Opening notices go to every unit while the phase is open; closing and overrun notices to the
    coordinator."""
    found = []
    params = {"program_id": ctx.id, "coordinator": ctx.program.coordinator_unit_id}
    for row in core(session, _PHASE_NOTICES, params):
        if row.state == "open":
            key = notice_key("phase_opened", ctx.id, row.kind, row.unit_id)
            found.append(Candidate(key, "phase_opened", row.unit_id, data=_phase_data(row)))
            continue
        # An overrun phase that closes later still gets its closing notice: the keys differ by kind.
        kind = "phase_closed" if row.state == "closed" else "phase_overrun"
        data = {**_phase_data(row), "reasons": list(row.gate_reasons or []),
                "closed_on": row.closed_on.isoformat() if row.closed_on else None}
        found.append(Candidate(notice_key(kind, ctx.id, row.kind, row.unit_id), kind, row.unit_id, data=data))
    return found


def bulletin_candidates(ctx: ProgramContext, today: date, calendar) -> list[Candidate]:
    slot = bulletin_slot(today, ctx.policies.reminders.bulletin, calendar)
    coordinator = ctx.program.coordinator_unit_id
    if slot is None or coordinator is None:
        return []
    return [Candidate(notice_key("bulletin", ctx.id, slot), "bulletin", coordinator, data={"period": slot})]


