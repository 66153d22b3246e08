"""The weekly bulletin (通报) as its own Prefect flow, scheduled Monday 09:00 beside the daily check."""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from db import load_program
from flows.check import bulletin_step, dispatch_step
from flows.supervise import AsOf, moment_of, program_zone, run_name, wired_for
from notifications import LISTED_IN_MESSAGES, render_bulletin
from schedule import text


@flow(
    name="bulletin",
    flow_run_name=run_name,
    description="the weekly bulletin: counts by light, the red list, who was not reached",
)
def weekly_bulletin(program: str, as_of: AsOf = None) -> dict:
    wired = wired_for()
    at = moment_of(as_of, program_zone(program))
    claimed = bulletin_step(wired.sessions, program, at)
    dispatched = dispatch_step(wired.sessions, program, wired.notifier(), at)
    with wired.sessions.begin() as session:
        ctx = load_program(session, program)
        today = ctx.local_date(at)
        markdown = render_bulletin(session, ctx, today, fmt="md", listed=LISTED_IN_MESSAGES)
    # Its own key: the daily check's `<program>-bulletin` is today's picture, this one is what was sent.
    create_markdown_artifact(markdown=markdown, key=f"{program}-weekly-bulletin",
                             description=text(ctx.language, "artifact.weekly_bulletin", today=today))
    get_run_logger().info("bulletin claimed %s", dict(claimed) or "nothing new (already sent this period)")
    return {"claimed": dict(claimed), "messages": dispatched.messages if dispatched else 0}
