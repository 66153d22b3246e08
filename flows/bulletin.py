"""The weekly bulletin (通报) as its own Prefect flow, scheduled Monday 09:00 beside the daily check."""

from __future__ import annotations

from datetime import datetime

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from db import load_program
from flows.check import bulletin_step, dispatch_step
from flows.runtime import wiring
from flows.supervise import moment_of, run_name
from notifications import render_bulletin


@flow(
    name="bulletin",
    flow_run_name=run_name,
    description="通报: counts by light, the red list, who was not reached",
)
def weekly_bulletin(program: str, as_of: datetime | None = None, database_url: str | None = None) -> dict:
    at = moment_of(as_of)
    wired = wiring(database_url)
    claimed = bulletin_step(wired.sessions, program, at)
    dispatched = dispatch_step(wired.sessions, program, wired.notifier(), at)
    with wired.sessions.begin() as session:
        ctx = load_program(session, program)
        markdown = render_bulletin(session, ctx, ctx.local_date(at), fmt="md")
    create_markdown_artifact(markdown=markdown, key=f"{program}-bulletin", description="通报")
    get_run_logger().info("bulletin claimed %s", dict(claimed) or "nothing new (already sent this period)")
    return {"claimed": dict(claimed), "messages": dispatched.messages if dispatched else 0}
