"""Every flow and deployment duban has, in one place: what `duban serve` serves and prefect.yaml declares."""

from __future__ import annotations

from prefect.schedules import Cron

from flows.bulletin import weekly_bulletin
from flows.decide import decide
from flows.supervise import PHASE_FLOWS, supervise
from schedule import text

FLOWS = [supervise, weekly_bulletin, decide, *PHASE_FLOWS.values()]

DAILY_CHECK_CRON = "30 8 * * *"      # 08:30, the daily check's time in the contract
WEEKLY_BULLETIN_CRON = "0 9 * * 1"   # Monday 09:00


def deployment_names(program: str) -> dict[str, str]:
    """flow name → deployment name: the same names `duban serve` and prefect.yaml use."""
    return {"supervise": f"{program}-daily-check", "bulletin": f"{program}-weekly-bulletin",
            "decide": f"{program}-decide"}


def deployments(programs: dict[str, str]) -> list:
    """Per program (id → time zone): the daily check and the weekly bulletin, each with a concurrency limit
    of 1 so a run never overlaps itself, and `decide`, unscheduled, which the daily check starts when a phase
    waits for the coordinator. Parameters name the program only: the database comes from the serving process.

    Each deployment is built once per flow and time zone and copied for the other programs: Prefect checks a
    new deployment's schedule against every time zone it knows (0.1 s a schedule), so 300 deployments built
    one by one took 15 s before `duban serve` could register the first."""
    built: dict[tuple[str, str], object] = {}
    result = []
    for program, timezone in sorted(programs.items()):
        names = deployment_names(program)
        for flow_name in names:
            own = {"name": names[flow_name], "parameters": {"program": program},
                   "tags": [f"program:{program}", "duban"]}
            template = built.get((flow_name, timezone))
            if template is None:
                template = built[flow_name, timezone] = _deployment(flow_name, timezone, **own)
            result.append(template.model_copy(update=own, deep=True))
    return result


def _deployment(flow_name: str, timezone: str, **own):
    if flow_name == "supervise":
        return supervise.to_deployment(
            schedules=[Cron(DAILY_CHECK_CRON, timezone=timezone)], concurrency_limit=1,
            description=text(None, "prefect.supervise_description"), **own)
    if flow_name == "bulletin":
        return weekly_bulletin.to_deployment(
            schedules=[Cron(WEEKLY_BULLETIN_CRON, timezone=timezone)], concurrency_limit=1,
            description=text(None, "prefect.bulletin_description"), **own)
    return decide.to_deployment(description=text(None, "prefect.decide_description"), **own)


# Deployments and the automation serve every program at once: they speak the default language.
OVERRUN_AUTOMATION = text(None, "prefect.overrun_automation")


def overrun_automation(notify_block_id=None):
    """The automation `duban prefect setup` creates: on every `duban.phase.overrun` event of any program, send
    the coordinator's Prefect notification block a line naming the program, the phase and why (its gate's
    reasons); without a block, the automation still marks each such event as triggered in the Event Feed."""
    from prefect.automations import Automation, DoNothing, EventTrigger, SendNotification

    action = (
        DoNothing()
        if notify_block_id is None
        else SendNotification(
            block_document_id=notify_block_id,
            subject=text(None, "prefect.overrun_subject"),
            body=text(None, "prefect.overrun_body"),
        )
    )
    return Automation(
        name=OVERRUN_AUTOMATION,
        description=text(None, "prefect.overrun_description"),
        trigger=EventTrigger(
            expect={"duban.phase.overrun"},
            match={"prefect.resource.id": "duban.program.*"},
            posture="Reactive",
            threshold=1,
        ),
        actions=[action],
    )
