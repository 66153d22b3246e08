"""The coordinator's decisions in the Prefect UI: a flow run pauses with a typed form and resumes with the
answer.

The daily check never waits for a person: it only *reports* an overrun phase (`needs_decision` lists what
waits
for the coordinator). The dedicated flow `decide(program, kind)` asks — from the UI, or started by the
supervise flow as its own run — with a timeout, and records the answer exactly like `duban phase approve` or
`duban extension approve|reject` (a coordinator_decisions row and an event with who decided).

`kind` is a phase kind (deployment … acceptance: close it although its gate does not hold), `extension:ID`
(approve or reject an extension request) or `item:R-3` (accept a remediation item that stays open).
A run nobody answers within its timeout fails (Prefect fails an expired pause) and records nothing; the daily
check keeps chasing and the coordinator can run `decide` again or use the command line.
Resume a paused run from the UI (the form shows approve / note / decided_by) or programmatically:
`prefect.flow_runs.resume_flow_run(flow_run_id, run_input={"approve": True, "note": "…", "decided_by": "…"})`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from prefect import flow, get_run_logger
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from prefect.runtime import flow_run
from pydantic import Field
from sqlalchemy import select

from db import Phase, ProgramContext, evaluate, list_extensions, list_items, load_program, record_decision
from flows.check import AsOf
from flows.supervise import moment_of, wired_for
from schedule import PHASE_KINDS, is_phase_kind, text

DEFAULT_TIMEOUT_SECONDS = 3600


class CoordinatorDecision(RunInput):
    """The form the coordinator fills in to resume the run; who decided is required, it goes on the record."""

    approve: bool = False
    note: str = ""
    decided_by: str = Field(min_length=1, description="决定人 / who decides")


@dataclass(frozen=True)
class Decision:
    approve: bool | None  # None: nobody answered before the timeout
    note: str = ""
    decided_by: str = ""

    @property
    def timed_out(self) -> bool:
        return self.approve is None


def ask_coordinator(
    program_id: str,
    kind: str,
    question: str,
    options: dict[str, str] | None = None,
    *,
    timeout: int = DEFAULT_TIMEOUT_SECONDS,
    poll_interval: int = 10,
    key: str | None = None,
) -> Decision:
    """Pauses the current flow run until the coordinator answers the typed form (or the timeout passes).

    Call it only inside a flow run that may wait (never inside the daily check)."""
    lines = [f"**{program_id} · {kind}**", "", question]
    if options:
        lines += [""] + [f"- `{choice}`: {meaning}" for choice, meaning in options.items()]
    form = CoordinatorDecision.with_initial_data(description="\n".join(lines), approve=False, note="")
    try:
        answer = pause_flow_run(wait_for_input=form, timeout=timeout, poll_interval=poll_interval,
                                key=pause_key(key or f"{program_id}-{kind}"))
    except FlowPauseTimeout:
        return Decision(None)
    return Decision(bool(answer.approve), answer.note or "", answer.decided_by)


def pause_key(text: str) -> str:
    """Prefect keys run inputs by the pause key: lowercase letters, digits and dashes only."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", text.lower())).strip("-") or "decision"




def question_for(session, ctx: ProgramContext, kind: str, today) -> tuple[str, dict[str, str]] | None:
    """The question to put to the coordinator, or None when there is nothing to decide."""
    language = ctx.language

    def ask(key: str, **values) -> tuple[str, dict[str, str]]:
        return text(language, f"decide.{key}", **values), {
            "approve = true": text(language, f"decide.{key}_yes"),
            "approve = false": text(language, f"decide.{key}_no")}

    if is_phase_kind(kind):  # a preset kind or the plan's own
        phase = session.scalar(select(Phase).where(Phase.program_id == ctx.id, Phase.kind == kind))
        if phase is None or phase.state in ("pending", "closed"):
            return None
        result = evaluate(session, ctx.id, phase, today)
        if result.holds:
            return None
        reasons = "\n".join(f"- {r}" for r in result.reasons)
        return ask("phase", name=phase.name, start=phase.start, end=phase.end, reasons=reasons)
    if kind.startswith("extension:"):
        request_id = int(kind.split(":", 1)[1])
        request = next((r for r in list_extensions(session, ctx) if r["id"] == request_id), None)
        if request is None or request["state"] != "pending":
            return None
        return ask("extension", id=request_id, code=request["code"], unit=request["unit"],
                   from_due=request["from"], to_due=request["to"], reason=request["reason"],
                   progress=request["progress"])
    if kind.startswith("item:"):
        code = kind.split(":", 1)[1]
        item = next((i for i in list_items(session, ctx, today) if i["code"] == code), None)
        if item is None or item["state"] != "open":
            return None
        return ask("item", code=code, unit=item["unit_name"], title=item["title"], due=item["due"])
    raise ValueError(text(language, "decide.kind_invalid", kind=kind, choices=" | ".join(PHASE_KINDS)))


def record_answer(session, ctx: ProgramContext, kind: str, decision: Decision, at: datetime) -> dict:
    """Records an answer exactly as the command line does (source prefect)."""
    return record_decision(
        session, ctx, kind, bool(decision.approve), decision.decided_by, decision.note or None, at
    )


def decide_run_name() -> str:
    """`chengdu-2023 · 决定 · 自查自评`: the run says what it asks."""
    parameters = flow_run.parameters
    program, kind = parameters["program"], parameters["kind"]
    with wired_for().sessions.begin() as session:
        ctx = load_program(session, program)
        if is_phase_kind(kind):
            subject = session.scalar(
                select(Phase.name).where(Phase.program_id == program, Phase.kind == kind)) or kind
        else:
            prefix, _, number = kind.partition(":")
            subject = text(ctx.language, f"decide.{prefix}_subject", id=number)
    return f"{program} · {text(ctx.language, 'decide.run')} · {subject}"


@flow(name="decide", flow_run_name=decide_run_name, log_prints=False,
      description="the coordinator decides: pauses for the form (approve, note, who decides), records it")
def decide(program: str, kind: str, timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS, poll_interval: int = 10,
           as_of: AsOf = None) -> dict:
    """`as_of` is the moment of the check that asked (the decision is recorded on the program's date); a date
    alone is that day's 08:30, as for the check; none is now."""
    wired = wired_for()
    logger = get_run_logger()
    with wired.sessions.begin() as session:
        ctx = load_program(session, program)
        at = moment_of(as_of, ctx.zone)
        asked = question_for(session, ctx, kind, ctx.local_date(at))
    if asked is None:
        logger.info("%s %s: nothing to decide", program, kind)
        return {"program": program, "kind": kind, "asked": False, "decided": False}
    question, options = asked
    decision = ask_coordinator(
        program, kind, question, options, timeout=timeout_seconds, poll_interval=poll_interval
    )
    if decision.timed_out:
        # Prefect fails a run whose pause expired; say why, in our words. Nothing was recorded.
        raise TimeoutError(text(ctx.language, "decide.timed_out", program=program, kind=kind,
                                seconds=timeout_seconds))
    with wired.sessions.begin() as session:
        ctx = load_program(session, program)
        result = record_answer(session, ctx, kind, decision, at)
    logger.info("%s %s: %s by %s", program, kind, "approved" if decision.approve else "not approved",
                decision.decided_by)
    return {"program": program, "kind": kind, "asked": True, "decided": True, "approve": decision.approve,
            "by": decision.decided_by, "note": decision.note, "result": result}
