"""Every flow and deployment duban has, in one place: what `duban serve` serves and prefect.yaml declares."""

from __future__ import annotations

from prefect.schedules import Cron

from flows.bulletin import weekly_bulletin
from flows.decide import decide
from flows.supervise import PHASE_FLOWS, supervise

FLOWS = [supervise, weekly_bulletin, decide, *PHASE_FLOWS.values()]

DAILY_CHECK_CRON = "30 8 * * *"      # 08:30, the daily check's time in the contract
WEEKLY_BULLETIN_CRON = "0 9 * * 1"   # Monday 09:00


def deployments(programs: dict[str, str], database_url: str | None = None) -> list:
    """Per program (id → time zone): the daily check and the weekly bulletin, each with a concurrency limit
    of 1
    so a run never overlaps itself, and `decide`, unscheduled, which the daily check starts when a phase waits
    for the coordinator."""
    result = []
    for program, timezone in sorted(programs.items()):
        parameters = {"program": program, **({"database_url": database_url} if database_url else {})}
        result.append(supervise.to_deployment(
            name=f"{program}-daily-check", schedules=[Cron(DAILY_CHECK_CRON, timezone=timezone)],
            parameters=parameters, concurrency_limit=1, tags=[f"program:{program}", "duban"],
            description="督办 daily check: phase transitions, reminders, escalations"))
        result.append(weekly_bulletin.to_deployment(
            name=f"{program}-weekly-bulletin", schedules=[Cron(WEEKLY_BULLETIN_CRON, timezone=timezone)],
            parameters=parameters, concurrency_limit=1, tags=[f"program:{program}", "duban"],
            description="通报 to the coordinator"))
        result.append(decide.to_deployment(
            name=f"{program}-decide", parameters=parameters, tags=[f"program:{program}", "duban"],
            description="牵头办决定: pauses for the coordinator's typed form"))
    return result
