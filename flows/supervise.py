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

from db.ladder import Candidate, claim
from db.models import Unit
from db.outbox import outbox_entries
from db.queries import load_program, phases, status_summary, task_rows
from flows.check import (
    DAILY_CHECK_TIME,
    AsOf,
    CheckResult,
    advance_phases,
    dispatch_step,
    local_today,
    phase_step,
    program_step,
)
from flows.decisions import needs_decision
from notifications.bulletin import render_bulletin
from notifications.digest import SECTION_TITLES
from notifications.ledger import list_deliveries

DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")
TABLE_ARTIFACT_ROWS = 2000  # the UI table stays usable; the full list is `duban tasks`
LIGHT_ORDER = {"red": 0, "yellow": 1, "green": 2, "none": 3, "done": 4}


def moment_of(as_of: AsOf, zone: ZoneInfo = DEFAULT_ZONE) -> datetime:
    """The moment a run stands for, in the program's zone. The scheduler passes nothing: the run's scheduled
    start (08:30 even when a worker picks it up late) is its as_of. Everything below takes it as given."""
    if as_of is None:
        scheduled = flow_run.scheduled_start_time if flow_run.get_id() else None
        return (scheduled or datetime.now(zone)).astimezone(zone)
    if isinstance(as_of, str):
        text = as_of.strip()
        if len(text) == 10:  # 2024-02-19: that day's 08:30 in the program's zone, never midnight
            return datetime.combine(date.fromisoformat(text), DAILY_CHECK_TIME, zone)
        as_of = datetime.fromisoformat(text)
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
    from duban.wiring import wiring  # the one place that builds engine, notifier and hooks

    return wiring()


def _phase_flow(kind: str, description: str):
    @flow(name=kind, flow_run_name=phase_run_name, description=description, log_prints=False)
    def phase_check(program: str, as_of: AsOf = None) -> dict:
        wired = wired_for()
        claimed = phase_step(wired.sessions, program, kind, moment_of(as_of, program_zone(program)))
        get_run_logger().info("%s: %s", kind, dict(claimed) or "no new notices")
        return dict(claimed)

    return phase_check


deployment = _phase_flow("deployment", "任务部署: 交办 to every unit, the ladder for deployment tasks")
implementation = _phase_flow("implementation", "组织实施: the reminder ladder for the 分工表's measures")
self_check = _phase_flow("self_check", "自查自评: self-check forms out, missing forms chased")
remediation = _phase_flow("remediation", "补差提升: remediation items reminded and escalated")
acceptance = _phase_flow("acceptance", "验收准备: the ladder for the acceptance tasks (evidence to gather)")
PHASE_FLOWS = {"deployment": deployment, "implementation": implementation, "self_check": self_check,
               "remediation": remediation, "acceptance": acceptance}


@flow(name="supervise", flow_run_name=run_name, description="督办: the daily check of one program")
def supervise(program: str, as_of: AsOf = None) -> dict:
    wired = wired_for()
    at = moment_of(as_of, program_zone(program))
    logger = get_run_logger()
    transitions, running = advance_phases(wired.sessions, program, at)
    for transition in transitions:
        logger.info("phase %s → %s (%s)", transition.kind, transition.state, transition.on)
        # The Event Feed card shows the resource's name: it says which phase of which program moved.
        emit_event(event=transition.event,
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
    result.dispatched = dispatch_step(wired.sessions, program, wired.notifier(), at, wired.settings.portal_url)
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
    """An overrun phase waiting for the coordinator: one notice, and one `decide` run that pauses for the form.

    The daily check never waits for a person; the decision runs as its own deployment run (served by
    `duban serve`). Without it (a temporary server), the notice points to `duban phase approve`.
    """
    asked = []
    with wired.sessions.begin() as session:
        ctx = load_program(session, program)
        coordinator = ctx.program.coordinator_unit_id
        names = {p.kind: p.name for p in phases(session, program)}
        for kind in needs_decision(session, ctx) if coordinator is not None else []:
            candidate = Candidate(f"decision_requested:{program}:{kind}", "decision_requested", coordinator,
                                  data={"title": f"{names[kind]}：关口条件未满足，是否批准结束本阶段", "phase": kind})
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


ARTIFACT_TEXTS = {
    "zh-CN": {"light": "预警", "code": "编号", "measure": "工作举措", "lead": "牵头单位", "due": "完成时限",
              "progress": "进度", "last_report": "最近报送", "unit": "单位", "kind": "类型", "tasks": "任务",
              "channel": "渠道", "state": "状态", "at": "时间", "attempts": "尝试", "failure": "失败原因",
              "lights": {"red": "红灯", "yellow": "黄灯", "green": "绿灯", "done": "办结", "none": "无期限"},
              "states": {"queued": "待发送", "sending": "发送中", "sent": "已发送", "delivered": "已送达",
                         "failed": "失败", "unknown": "不明", "deferred": "推迟"}},
    "en": {"light": "Light", "code": "Code", "measure": "Measure", "lead": "Lead units", "due": "Due",
           "progress": "Progress", "last_report": "Last report", "unit": "Unit", "kind": "Kind", "tasks": "Tasks",
           "channel": "Channel", "state": "State", "at": "At", "attempts": "Attempts", "failure": "Failure",
           "lights": {"red": "red", "yellow": "yellow", "green": "green", "done": "done", "none": "no due date"},
           "states": {}},
}


MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]<>|#~])")


def cell(text: object) -> str:
    """The UI renders table cells as markdown: plan text shows as written, never as links, HTML or emphasis."""
    return MARKDOWN_SPECIALS.sub(r"\\\1", " ".join(str(text).split()))


def kind_name(kind: str, english: bool) -> str:
    """The short name of a notice kind, from the digest's section titles (the one catalogue of texts)."""
    title = SECTION_TITLES.get(kind, (kind, kind))[1 if english else 0]
    return title.split(":" if english else "：")[0]


def publish_artifacts(wired, program: str, at: datetime) -> None:
    """What the coordinator opens in the UI, in the program's language; the numbers are those of `duban status`
    for the same day. Tasks: the light first, red rows first, units by name; notices: what went out today."""
    with wired.sessions.begin() as session:
        ctx = load_program(session, program)
        today = ctx.local_date(at)
        summary = status_summary(session, ctx, today)
        rows = task_rows(session, ctx, today)
        bulletin = render_bulletin(session, ctx, today, fmt="md")
        failed = list_deliveries(session, program, failed_only=True)
        sent_today = [e for e in outbox_entries(session, program)
                      if date.fromisoformat(e["at"][:10]) == today and e["state"] != "queued"]
        names = dict(session.execute(select(Unit.code, Unit.name).where(Unit.program_id == program)).all())
        phase_names = {p.kind: p.name for p in phases(session, program)}
    english = ctx.program.language == "en"
    text = ARTIFACT_TEXTS["en" if english else "zh-CN"]
    create_progress_artifact(progress=round(summary["done_share"] * 100, 1), key=f"{program}-progress",
                             description=progress_description(summary, rows, phase_names, today, english))
    rows.sort(key=lambda r: (LIGHT_ORDER[r["light"]], r["due"] or "9999", r["code"]))
    table = [{text["light"]: text["lights"][r["light"]], text["code"]: r["code"], text["measure"]: cell(r["title"]),
              text["lead"]: cell("、".join(names.get(code, code) for code in r["lead"])),
              text["due"]: r["due"] or r["recurrence"] or "", text["progress"]: f"{r['progress']}%",
              text["last_report"]: r["last_report"] or ""} for r in rows[:TABLE_ARTIFACT_ROWS]]
    shown = "" if len(rows) <= TABLE_ARTIFACT_ROWS else f"（按预警排序，显示前 {TABLE_ARTIFACT_ROWS} 项，共 {len(rows)} 项）"
    create_table_artifact(table=table, key=f"{program}-tasks", description=(
        f"Tasks and lights, red first, as of {today}" if english else f"任务与红黄绿灯（红灯在前），截至 {today}{shown}"))
    notices = [{text["unit"]: cell(names.get(e["unit"], e["unit"])), text["kind"]: kind_name(e["kind"], english),
                text["tasks"]: "、".join(e["tasks"]), text["channel"]: e["channel"] or "",
                text["state"]: text["states"].get(e["state"], e["state"])} for e in sent_today]
    create_table_artifact(table=notices, key=f"{program}-notices", description=(
        f"Notices sent on {today}: {len(notices)}" if english else f"{today} 发出的通知 {len(notices)} 项"))
    create_markdown_artifact(markdown=bulletin, key=f"{program}-bulletin",
                             description=f"Bulletin as of {today}" if english else f"通报（截至 {today}）")
    failed_table = [{text["at"]: str(row["at"])[:16].replace("T", " "), text["unit"]: cell(names.get(row["unit"], row["unit"])),
                     text["channel"]: row["channel"], text["attempts"]: row["attempts"],
                     text["failure"]: cell(" ".join(str(part) for part in (row["code"], row["reason"]) if part))}
                    for row in failed]
    create_table_artifact(table=failed_table, key=f"{program}-failed-deliveries", description=(
        f"Failed deliveries (channels masked): {len(failed_table)}, as of {today}" if english
        else f"投递失败的通知 {len(failed_table)} 条（渠道已脱敏），截至 {today}"))


def progress_description(summary: dict, rows: list[dict], phase_names: dict[str, str], today: date,
                         english: bool) -> str:
    """The share done overall and per phase, in one line under the progress bar."""
    by_phase: dict[str, list[int]] = {}
    for row in rows:
        counts = by_phase.setdefault(row["phase"] or "", [0, 0])
        counts[0] += row["light"] == "done"
        counts[1] += 1
    parts = [f"{phase_names.get(kind, kind)} {done}/{total}" for kind, (done, total) in by_phase.items() if kind]
    done = summary["lights"]["done"]
    if english:
        return f"{cell(summary['name'])}: {done}/{summary['tasks']} tasks done as of {today}; by phase: {', '.join(parts)}"
    return f"{cell(summary['name'])}：截至 {today} 办结 {done}/{summary['tasks']} 项；分阶段：{'，'.join(parts)}"
