"""The daily check as Prefect flows: `supervise` advances the phase machine, runs each running phase's own
flow as a subflow, then the program-wide step and the dispatch, and leaves the coordinator's artifacts."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

from prefect import flow, get_client, get_run_logger, tags
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, create_table_artifact
from prefect.deployments import run_deployment
from prefect.events import emit_event
from prefect.exceptions import ObjectNotFound
from prefect.runtime import flow_run

from db.ladder import Candidate, claim
from db.queries import load_program, phases, status_summary, task_rows
from flows.check import CheckResult, advance_phases, dispatch_step, local_today, phase_step, program_step
from flows.decisions import needs_decision
from notifications.bulletin import render_bulletin
from notifications.ledger import list_deliveries
from notifications.templating import markdown_escape

DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")
TABLE_ARTIFACT_ROWS = 2000  # the UI table stays usable; the full list is `duban tasks`
LIGHT_ORDER = {"red": 0, "yellow": 1, "green": 2, "none": 3, "done": 4}


def moment_of(as_of: datetime | str | None) -> datetime:
    # The scheduler passes nothing: the run's own start is its as_of. Everything below takes it as given.
    if as_of is None:
        return datetime.now(DEFAULT_ZONE)
    moment = datetime.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    return moment if moment.tzinfo else moment.replace(tzinfo=DEFAULT_ZONE)


def run_name() -> str:
    parameters = flow_run.parameters
    return f"{parameters['program']} · {moment_of(parameters.get('as_of')).date().isoformat()}"


def phase_run_name() -> str:
    parameters = flow_run.parameters
    return f"{parameters['program']} · {flow_run.flow_name} · {moment_of(parameters.get('as_of')).date().isoformat()}"


def wired_for(database_url: str | None):
    from duban.wiring import wiring  # the one place that builds engine, notifier and hooks

    return wiring(database_url)


def _phase_flow(kind: str, description: str):
    @flow(name=kind, flow_run_name=phase_run_name, description=description, log_prints=False)
    def phase_check(program: str, as_of: datetime | None = None, database_url: str | None = None) -> dict:
        wired = wired_for(database_url)
        claimed = phase_step(wired.sessions, program, kind, moment_of(as_of))
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
def supervise(program: str, as_of: datetime | None = None, database_url: str | None = None) -> dict:
    at = moment_of(as_of)
    wired = wired_for(database_url)
    logger = get_run_logger()
    transitions, running = advance_phases(wired.sessions, program, at)
    for transition in transitions:
        logger.info("phase %s → %s (%s)", transition.kind, transition.state, transition.on)
        emit_event(event=transition.event,
                   resource={"prefect.resource.id": f"duban.program.{program}", "prefect.resource.name": program},
                   payload={"phase": transition.kind, "on": transition.on.isoformat(), "reasons": list(transition.reasons)})
    result = CheckResult(program, at, local_today(wired.sessions, program, at), transitions, running)
    run_tags = [f"program:{program}", *(f"phase:{kind}" for kind in running)]
    tag_this_run(run_tags)
    with tags(*run_tags):
        for kind in running:
            result.claimed += Counter(PHASE_FLOWS[kind](program=program, as_of=at, database_url=database_url))
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
            run_deployment(f"decide/{program}-decide", parameters={"program": program, "kind": kind},
                           timeout=0, as_subflow=False)
        except ObjectNotFound:
            get_run_logger().warning("no decide deployment for %s: decide with `duban phase approve %s %s`",
                                     program, program, kind)
    return Counter({"decision_requested": len(asked)}) if asked else Counter()


def publish_artifacts(wired, program: str, at: datetime) -> None:
    """What the coordinator opens in the UI; the numbers are those of `duban status` for the same day."""
    with wired.sessions.begin() as session:
        ctx = load_program(session, program)
        today = ctx.local_date(at)
        summary = status_summary(session, ctx, today)
        rows = task_rows(session, ctx, today)
        bulletin = render_bulletin(session, ctx, today, fmt="md")
        failed = list_deliveries(session, program, failed_only=True)
    create_progress_artifact(progress=round(summary["done_share"] * 100, 1), key=f"{program}-progress",
                             description=f"{markdown_escape(summary['name'])}: 办结 {summary['lights']['done']}/{summary['tasks']} 项（截至 {today}）")
    rows.sort(key=lambda r: (LIGHT_ORDER[r["light"]], r["due"] or "9999", r["code"]))
    # Table cells are shown by the UI as markdown too: a task's own text is escaped like the bulletin's.
    table = [{"code": markdown_escape(r["code"]), "measure": markdown_escape(r["title"]), "lead": "、".join(r["lead"]),
              "due": r["due"] or r["recurrence"] or "", "light": r["light"], "last_report": r["last_report"] or ""}
             for r in rows[:TABLE_ARTIFACT_ROWS]]
    shown = "" if len(rows) <= TABLE_ARTIFACT_ROWS else f"（按预警排序，显示前 {TABLE_ARTIFACT_ROWS} 项，共 {len(rows)} 项）"
    create_table_artifact(table=table, key=f"{program}-tasks", description=f"任务与红黄绿灯，截至 {today}{shown}")
    create_markdown_artifact(markdown=bulletin, key=f"{program}-bulletin", description=f"通报（截至 {today}）")
    failed_table = [{k: markdown_escape(row[k]) if isinstance(row[k], str) else row[k]
                     for k in ("at", "unit", "channel", "state", "attempts", "code", "reason")} for row in failed]
    create_table_artifact(table=failed_table or [{"unit": "", "channel": "", "state": "", "reason": "无失败投递"}],
                          key=f"{program}-failed-deliveries", description="投递失败的通知（渠道已脱敏）")
