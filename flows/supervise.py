"""The daily check as Prefect flows: `supervise` advances the phase machine, runs each running phase's own
flow as a subflow, then the program-wide step and the dispatch, and leaves the coordinator's artifacts."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

from prefect import flow, get_client, get_run_logger, tags
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, create_table_artifact
from prefect.deployments import run_deployment
from prefect.events import emit_event
from prefect.exceptions import ObjectNotFound
from prefect.runtime import flow_run
from sqlalchemy import select

from db import (
    Candidate,
    Unit,
    claim,
    load_program,
    needs_decision,
    notice_key,
    outbox_entries,
    phases,
    status_summary,
    task_rows,
)
from flows.check import (
    AsOf,
    CheckResult,
    advance_phases,
    dispatch_step,
    local_today,
    phase_step,
    program_step,
)
from flows.runtime import DAILY_CHECK_TIME, now, wiring
from notifications import LISTED_IN_MESSAGES, list_deliveries, render_bulletin
from schedule import labels, text

DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")
TABLE_ARTIFACT_ROWS = 2000  # the UI table stays usable; the full list is `duban tasks`
LIGHT_ORDER = {"red": 0, "yellow": 1, "green": 2, "none": 3, "done": 4}


def moment_of(as_of: AsOf, zone: ZoneInfo = DEFAULT_ZONE) -> datetime:
    """The moment a run stands for, in the program's zone. The scheduler passes nothing: the run's scheduled
    start (08:30 even when a worker picks it up late) is its as_of. Everything below takes it as given."""
    if as_of is None:
        scheduled = flow_run.scheduled_start_time if flow_run.get_id() else None
        return (scheduled or now(zone)).astimezone(zone)
    if isinstance(as_of, str):
        written = as_of.strip()
        if len(written) == 10:  # 2024-02-19: that day's 08:30 in the program's zone, never midnight
            return datetime.combine(date.fromisoformat(written), DAILY_CHECK_TIME, zone)
        as_of = datetime.fromisoformat(written)
    return as_of.astimezone(zone) if as_of.tzinfo else as_of.replace(tzinfo=zone)


def program_zone(program: str) -> ZoneInfo:
    with wired_for().sessions.begin() as session:
        return load_program(session, program).zone


def run_name() -> str:
    parameters = flow_run.parameters
    program = parameters["program"]
    return f"{program} · {moment_of(parameters.get('as_of'), program_zone(program)).date().isoformat()}"


def phase_run_name() -> str:
    parameters = flow_run.parameters
    program = parameters["program"]
    day = moment_of(parameters.get("as_of"), program_zone(program)).date().isoformat()
    return f"{program} · {flow_run.flow_name} · {day}"


def wired_for():
    """The database comes from the process that runs the flow (DUBAN_DATABASE_URL or DUBAN_DATABASE_SECRET on
    the worker, or `duban supervise --db`), never from a parameter: Prefect stores and shows parameters."""
    return wiring()


def _phase_flow(kind: str, description: str):
    @flow(name=kind, flow_run_name=phase_run_name, description=description, log_prints=False)
    def phase_check(program: str, as_of: AsOf = None) -> dict:
        wired = wired_for()
        claimed = phase_step(wired.sessions, program, kind, moment_of(as_of, program_zone(program)))
        get_run_logger().info("%s: %s", kind, dict(claimed) or "no new notices")
        return dict(claimed)

    return phase_check


# Descriptions speak to the operator in Prefect's UI (in English, like the UI), not to a program's readers.
deployment = _phase_flow("deployment", "task deployment: assignments to every unit, its ladder")
implementation = _phase_flow("implementation", "implementation: the reminder ladder for the measures")
self_check = _phase_flow("self_check", "self-check: self-check forms out, missing forms chased")
remediation = _phase_flow("remediation", "remediation: remediation items reminded and escalated")
acceptance = _phase_flow("acceptance", "acceptance: the ladder for the acceptance tasks (evidence to gather)")
PHASE_FLOWS = {"deployment": deployment, "implementation": implementation, "self_check": self_check,
               "remediation": remediation, "acceptance": acceptance}


@flow(name="supervise", flow_run_name=run_name, description="the daily supervision check of one program")
def supervise(program: str, as_of: AsOf = None) -> dict:
    wired = wired_for()
    at = moment_of(as_of, program_zone(program))
    logger = get_run_logger()
    transitions, running = advance_phases(wired.sessions, program, at)
    for transition in transitions:
        logger.info("phase %s → %s (%s)", transition.kind, transition.state, transition.on)
        # The Event Feed card shows the resource's name: it says which phase of which program moved.
        emit_event(
            event=transition.event,
            resource={"prefect.resource.id": f"duban.program.{program}.phase.{transition.kind}",
                      "prefect.resource.name": f"{program} · {transition.name}"},
            related=[{"prefect.resource.id": f"duban.program.{program}", "prefect.resource.role": "program",
                      "prefect.resource.name": program}],
            payload={"program": program, "phase": transition.kind, "name": transition.name,
                     "on": transition.on.isoformat(), "reasons": list(transition.reasons)})
    result = CheckResult(program, at, local_today(wired.sessions, program, at), transitions, running)
    run_tags = [f"program:{program}", *(f"phase:{kind}" for kind in running)]
    tag_this_run(run_tags)
    with tags(*run_tags):
        for kind in running:
            result.claimed += Counter(PHASE_FLOWS[kind](program=program, as_of=at))
    result.claimed += program_step(wired.sessions, program, running, at)
    result.claimed += request_decisions(wired, program, at)
    result.dispatched = dispatch_step(
        wired.sessions, program, wired.notifier(), at, wired.settings.portal_url
    )
    publish_artifacts(wired, program, at)
    logger.info("claimed %s; dispatched %s", dict(result.claimed),
                "outside the sending window" if result.dispatched is None else dict(result.dispatched.states))
    return result.to_json()


def tag_this_run(run_tags: list[str]) -> None:
    """The running phases are known only once the phase machine has moved, so the run is tagged then."""
    run_id = flow_run.get_id()
    if run_id is None:
        return
    with get_client(sync_client=True) as client:
        current = client.read_flow_run(run_id).tags
        client.update_flow_run(run_id, tags=sorted(set(current) | set(run_tags)))


def request_decisions(wired, program: str, at: datetime) -> Counter:
    """An overrun phase waiting for the coordinator: one notice, and one `decide` run that pauses for the
    form.

    The daily check never waits for a person; the decision runs as its own deployment run (served by
    `duban serve`). Without it (a temporary server), the notice points to `duban phase approve`.
    """
    asked = []
    with wired.sessions.begin() as session:
        ctx = load_program(session, program)
        coordinator = ctx.program.coordinator_unit_id
        names = {p.kind: p.name for p in phases(session, program)}
        for kind in needs_decision(session, ctx) if coordinator is not None else []:
            candidate = Candidate(
                notice_key("decision_requested", program, kind), "decision_requested", coordinator,
                data={"title": text(ctx.language, "ladder.decision_title", phase=names[kind]), "phase": kind})
            if claim(session, ctx, [candidate], at):
                asked.append(kind)
    for kind in asked:
        try:
            # Named for what it asks and tagged like the check; the check's as_of dates the decision.
            run_deployment(f"decide/{program}-decide", parameters={"program": program, "kind": kind,
                                                                   "as_of": at.isoformat()},
                           tags=[f"program:{program}", f"phase:{kind}"], timeout=0, as_subflow=False)
        except ObjectNotFound:
            get_run_logger().warning("no decide deployment for %s: decide with `duban phase approve %s %s`",
                                     program, program, kind)
    return Counter({"decision_requested": len(asked)}) if asked else Counter()


# The artifacts' column names, in the catalogue under artifact.<name>.
ARTIFACT_COLUMNS = (
    "light",
    "code",
    "measure",
    "lead",
    "due",
    "progress",
    "last_report",
    "unit",
    "kind",
    "tasks",
    "channel",
    "state",
    "at",
    "attempts",
    "failure",
)


MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]<>|#~])")


def cell(text: object) -> str:
    """The UI renders table cells as markdown: plan text shows as written, never as links, HTML or
    emphasis."""
    return MARKDOWN_SPECIALS.sub(r"\\\1", " ".join(str(text).split()))


def publish_artifacts(wired, program: str, at: datetime) -> None:
    """What the coordinator opens in the UI, in the program's language; the numbers are those of `duban
    status`
    for the same day. Tasks: the light first, red rows first, units by name; notices: what went out today."""
    with wired.sessions.begin() as session:
        ctx = load_program(session, program)
        today = ctx.local_date(at)
        rows = task_rows(session, ctx, today)  # first: the summary and the bulletin count the rows it keeps
        summary = status_summary(session, ctx, today)
        bulletin = render_bulletin(session, ctx, today, fmt="md", listed=LISTED_IN_MESSAGES)
        failed = list_deliveries(session, program, failed_only=True)
        sent_today = [e for e in outbox_entries(session, program)
                      if date.fromisoformat(e["at"][:10]) == today and e["state"] != "queued"]
        names = dict(session.execute(select(Unit.code, Unit.name).where(Unit.program_id == program)).all())
        phase_names = {p.kind: p.name for p in phases(session, program)}
    language = ctx.language
    create_progress_artifact(progress=round(summary["done_share"] * 100, 1), key=f"{program}-progress",
                             description=progress_description(summary, rows, phase_names, today, language))
    rows.sort(key=lambda r: (LIGHT_ORDER[r["light"]], r["due"] or "9999", r["code"]))
    create_table_artifact(table=task_table(rows, names, language), key=f"{program}-tasks", description=text(
        language, "artifact.tasks_description", today=today,
        shown="" if len(rows) <= TABLE_ARTIFACT_ROWS else text(
            language, "artifact.tasks_shown", shown=TABLE_ARTIFACT_ROWS, total=len(rows))))
    column = {key: text(language, f"artifact.{key}") for key in ARTIFACT_COLUMNS}
    states, kinds = labels(language, "delivery_state"), labels(language, "kind")
    separator = text(language, "artifact.separator")
    notices = [
        {
            column["unit"]: cell(names.get(e["unit"], e["unit"])),
            column["kind"]: kinds.get(e["kind"], e["kind"]),
            column["tasks"]: separator.join(e["tasks"]),
            column["channel"]: e["channel"] or "",
            column["state"]: states.get(e["state"], e["state"]),
        }
        for e in sent_today
    ]
    create_table_artifact(table=notices, key=f"{program}-notices", description=text(
        language, "artifact.notices_description", today=today, count=len(notices)))
    create_markdown_artifact(markdown=bulletin, key=f"{program}-bulletin",
                             description=text(language, "artifact.bulletin_description", today=today))
    failed_table = [
        {
            column["at"]: str(row["at"])[:16].replace("T", " "),
            column["unit"]: cell(names.get(row["unit"], row["unit"])),
            column["channel"]: row["channel"],
            column["attempts"]: row["attempts"],
            column["failure"]: cell(" ".join(str(part) for part in (row["code"], row["reason"]) if part)),
        }
        for row in failed
    ]
    create_table_artifact(table=failed_table, key=f"{program}-failed-deliveries", description=text(
        language, "artifact.failed_description", today=today, count=len(failed_table)))


def task_table(rows: list[dict], names: dict[str, str], language: str) -> list[dict]:
    """The tasks artifact: the light first, units by name, plan text shown as written."""
    column = {key: text(language, f"artifact.{key}") for key in ARTIFACT_COLUMNS}
    lights, separator = labels(language, "light"), text(language, "artifact.separator")
    return [
        {
            column["light"]: lights[r["light"]],
            column["code"]: r["code"],
            column["measure"]: cell(r["title"]),
            column["lead"]: cell(separator.join(names.get(code, code) for code in r["lead"])),
            column["due"]: r["due"] or r["recurrence"] or "",
            column["progress"]: f"{r['progress']}%",
            column["last_report"]: r["last_report"] or "",
        }
        for r in rows[:TABLE_ARTIFACT_ROWS]
    ]


def progress_description(summary: dict, rows: list[dict], phase_names: dict[str, str], today: date,
                         language: str) -> str:
    """The share done overall and per phase, in one line under the progress bar."""
    by_phase: dict[str, list[int]] = {}
    for row in rows:
        counts = by_phase.setdefault(row["phase"] or "", [0, 0])
        counts[0] += row["light"] == "done"
        counts[1] += 1
    parts = [
        f"{phase_names.get(kind, kind)} {done}/{total}" for kind, (done, total) in by_phase.items() if kind
    ]
    return text(language, "artifact.progress_description", name=cell(summary["name"]), today=today,
                done=summary["lights"]["done"], tasks=summary["tasks"],
                phases=text(language, "artifact.separator").join(parts))
