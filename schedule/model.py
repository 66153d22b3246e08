"""The plan as duban understands it: a program, its phases, policies, units and tasks. Pure data."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, time, timedelta

from schedule.calendar import WorkCalendar, shared_calendar
from schedule.i18n import Told
from schedule.time_limits import UNDATED, TimeLimit, expand_recurrence

# The demonstration-zone preset: these five kinds bring their own content (交办 with deployment, self-check
# forms, remediation items, the acceptance package) and gates. A plan may declare other phases of its own.
PHASE_KINDS = ("deployment", "implementation", "self_check", "remediation", "acceptance")
# The one phase of a plan that declares none: its whole window.
WHOLE_PHASE = "program"
PHASE_NAMES_ZH = {
    "deployment": "任务部署", "implementation": "组织实施", "self_check": "自查自评",
    "remediation": "补差提升", "acceptance": "验收准备"}
PHASE_NAMES_EN = {
    "deployment": "Task deployment", "implementation": "Implementation", "self_check": "Self-check",
    "remediation": "Remediation", "acceptance": "Acceptance preparation"}
# What names a phase: a preset kind or the plan's own (annual, first_half, …); never `extension:7`, `item:R-3`
PHASE_KIND = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def is_phase_kind(kind: str) -> bool:
    return bool(PHASE_KIND.match(kind))


# Conditions a plan may add to a phase's gate (program.yaml `gate:`); db.gates checks each by this name.
GATE_CONDITIONS = ("min_done", "no_red", "forms_returned")

RECURRENCES = ("ongoing", "as_notified", "yearly", "half_yearly", "quarterly", "monthly")


@dataclass(frozen=True)
class PhaseSpec:
    kind: str
    name: str
    start: date
    end: date
    exit_tasks: tuple[str, ...] = ()  # the phase cannot close while one of these is not done
    assign_after: tuple[str, ...] = ()  # the 交办 of this phase's tasks waits until these are done
    # The plan's own gate conditions, by GATE_CONDITIONS name: {"min_done": 90, "no_red": True, ...}
    gate: dict = field(default_factory=dict, hash=False, compare=True)

    @property
    def preset(self) -> bool:
        """One of the demonstration-zone kinds, with its content and its own gate."""
        return self.kind in PHASE_KINDS


@dataclass(frozen=True)
class ReminderPolicy:
    before_due_workdays: tuple[int, ...] = (10, 3, 1)
    overdue_every_workdays: int = 3
    escalate_after: int = 2
    bulletin: str = "weekly"  # weekly | monthly | off
    report_every_workdays: int = 20
    ack_within_workdays: int = 2  # a 交办 not acknowledged (签收) within this many workdays is chased

    @property
    def yellow_workdays(self) -> int:
        # The light turns yellow inside the first reminder offset (the largest).
        return max(self.before_due_workdays, default=10)


@dataclass(frozen=True)
class CalendarPolicy:
    due_on_non_workday: str = "keep"  # keep | previous | next
    extra_holidays: tuple[date, ...] = ()
    extra_workdays: tuple[date, ...] = ()


@dataclass(frozen=True)
class DeliveryPolicy:
    start: time = time(8, 30)
    end: time = time(18, 0)

    @property
    def hours(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class ScoringPolicy:
    """The score rule table (docs/plan-format.md, `scoring`): deductions from 100, capped at max_deduction."""

    per_two_yellow: int = -1
    per_red: int = -2
    interview_escalations: int = 3  # 约谈 when a unit's escalations reach this many (or any red card)
    per_return: int = -1  # each done claim returned by the coordinator (退回重办)
    per_missing_form: int = -5  # its self-check form never returned (even when the phase closed without it)
    per_never_reported: int = -5  # led tasks past their deadline and never reported on any of them
    max_deduction: int = 40  # no unit loses more than this many points: the floor is 100 - max_deduction


@dataclass(frozen=True)
class ContactPolicy:
    """Who a 督办通知 names as its contact (联系人, phone) and the prefix of its 督办单号."""

    name: str | None = None
    phone: str | None = None
    office: str | None = None  # the issuing office; the coordinator unit's name when not given
    prefix: str | None = None  # 督办单号 prefix, e.g. 成知督: 成知督〔2024〕12号


@dataclass(frozen=True)
class PortalPolicy:
    url: str | None = None  # the portal's public address; DUBAN_PORTAL_URL overrides it
    review: str = "required"  # required: a done claim waits for the coordinator's 审核 | none: done at once
    link_days: int = 60  # a unit's personal link expires after this many days (every digest brings a new one)


@dataclass(frozen=True)
class Policies:
    reminders: ReminderPolicy = field(default_factory=ReminderPolicy)
    calendar: CalendarPolicy = field(default_factory=CalendarPolicy)
    delivery: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    scoring: ScoringPolicy = field(default_factory=ScoringPolicy)
    portal: PortalPolicy = field(default_factory=PortalPolicy)
    contact: ContactPolicy = field(default_factory=ContactPolicy)

    def work_calendar(self) -> WorkCalendar:
        """The program's calendar, shared by every step that asks for it (built once per process)."""
        return shared_calendar(self.calendar.extra_holidays, self.calendar.extra_workdays)

    def to_json(self) -> dict:
        data = asdict(self)
        data["calendar"]["extra_holidays"] = [d.isoformat() for d in self.calendar.extra_holidays]
        data["calendar"]["extra_workdays"] = [d.isoformat() for d in self.calendar.extra_workdays]
        data["delivery"] = {"hours": self.delivery.hours}
        data["reminders"]["before_due_workdays"] = list(self.reminders.before_due_workdays)
        return data

    @classmethod
    def from_json(cls, data: dict) -> Policies:
        reminders = dict(data.get("reminders", {}))
        if "before_due_workdays" in reminders:
            reminders["before_due_workdays"] = tuple(reminders["before_due_workdays"])
        calendar = dict(data.get("calendar", {}))
        for key in ("extra_holidays", "extra_workdays"):
            calendar[key] = tuple(date.fromisoformat(d) for d in calendar.get(key, ()))
        return cls(
            reminders=ReminderPolicy(**reminders), calendar=CalendarPolicy(**calendar),
            delivery=parse_hours(data.get("delivery", {}).get("hours", "08:30-18:00")),
            scoring=ScoringPolicy(**data.get("scoring", {})),
            portal=PortalPolicy(**data.get("portal", {})),
            contact=ContactPolicy(**data.get("contact", {})),
        )


def parse_hours(text: str) -> DeliveryPolicy:
    """'08:30-18:00' → DeliveryPolicy; ValueError with a Chinese message otherwise."""
    try:
        start_text, end_text = str(text).replace("—", "-").replace("–", "-").split("-")
        start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())
    except ValueError:
        raise Told("plan.hours_format", hours=text) from None
    if end <= start:
        raise Told("plan.hours_order", hours=text)
    return DeliveryPolicy(start, end)


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name: str
    aliases: tuple[str, ...] = ()
    notify: tuple[str, ...] = ()
    leader_notify: tuple[str, ...] = ()
    members: tuple[str, ...] = ()
    # A collective's task is done when all its members' shares are, when any one is, or when N are.
    done_when: str = "all"
    # The members answer jointly: the task stays one, and one member's report stands for all (no shares).
    jointly: bool = False


@dataclass(frozen=True)
class TaskSpec:
    code: str
    title: str
    lead: tuple[str, ...]
    co: tuple[str, ...] = ()
    area: str | None = None
    time_limit_text: str | None = None
    limit: TimeLimit | None = None
    evidence: str | None = None
    phase: str = "implementation"
    row: int | None = None
    parent: str | None = None  # a member's share of a collective's task: the task's own code
    done_when: str | None = None  # a collective's task: how many shares finish it (schedule.collectives)

    @property
    def recurrence(self) -> str | None:
        return self.limit.recurrence if self.limit else None


@dataclass(frozen=True)
class InstanceSpec:
    seq: int
    window_start: date | None
    due: date | None


@dataclass(frozen=True)
class ProgramSpec:
    id: str
    name: str
    coordinator: str
    phases: tuple[PhaseSpec, ...]
    units: tuple[UnitSpec, ...]
    tasks: tuple[TaskSpec, ...]
    timezone: str = "Asia/Shanghai"
    language: str = "zh-CN"
    policies: Policies = field(default_factory=Policies)
    source_dir: str | None = None

    @property
    def start(self) -> date:
        return min(p.start for p in self.phases)

    @property
    def end(self) -> date:
        return max(p.end for p in self.phases)

    def phase(self, kind: str) -> PhaseSpec | None:
        return next((p for p in self.phases if p.kind == kind), None)

    @property
    def shares(self) -> int:
        """How many of `tasks` are members' shares of a collective's task (not tasks of the plan's own)."""
        return sum(1 for t in self.tasks if t.parent is not None)

    def instances(self, task: TaskSpec, calendar: WorkCalendar | None = None) -> list[InstanceSpec]:
        return task_instances(task, self.phase(task.phase), self.start, self.end, self.policies,
                              calendar or self.policies.work_calendar())


def task_instances(task: TaskSpec, phase: PhaseSpec | None, program_start: date, program_end: date,
                   policies: Policies, calendar: WorkCalendar) -> list[InstanceSpec]:
    """A task's dated instances: one for a single due date, one per period for a recurrence."""
    window_start = phase.start if phase else program_start
    limit = task.limit
    if limit is None or limit.recurrence in UNDATED:
        return [InstanceSpec(0, window_start, None)]

    def adjust(d: date) -> date:
        return calendar.adjust_due(d, policies.calendar.due_on_non_workday)

    if limit.recurrence is None:
        due = adjust(limit.due)
        return [InstanceSpec(0, min(window_start, due), due)]
    # A recurrence starts with its task's phase: a monthly report in implementation is not due in deployment.
    dues = [adjust(d) for d in expand_recurrence(limit, window_start, program_end)]
    instances, previous = [], window_start - timedelta(days=1)
    for seq, due in enumerate(dues):
        instances.append(InstanceSpec(seq, previous + timedelta(days=1), due))
        previous = due
    return instances or [InstanceSpec(0, window_start, None)]
