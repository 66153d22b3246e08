"""Exactly once under faults, judged by the robot's own log: checks killed (SIGKILL) at every step of
dispatch, two and four checks at once, 1 to 30 days without a check while robots hang, fail, rate-limit and
reject.

Every scenario asserts: no robot took an item twice, and every (notice, channel) was either taken by its robot
or is shown to the coordinator as failed or unknown (`deliveries --failed`). bench/fault_campaign.py runs the
same scenarios at scale."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bench.fault_campaign import PROGRAM, Campaign, run_scenarios
from db import Notice
from notifications import crashpoints, list_deliveries
from tests.support.faults import assert_exactly_once
from tests.support.peers import RobotPeer, database_url

POINTS = crashpoints.POINTS


@pytest.fixture
def campaign(tmp_path):
    with RobotPeer() as robot:
        yield Campaign(tmp_path, robot, database_url(tmp_path, "campaign.db"))


def test_a_check_killed_at_every_step_of_dispatch_loses_and_repeats_nothing(campaign):
    run_scenarios(campaign, kills=[(point, 1) for point in POINTS], overlaps=[], downtimes=[])
    assert campaign.tally.kills_by_point == {point: 1 for point in POINTS}  # each kill was real, at its step
    assert_exactly_once(campaign)


def test_two_and_four_checks_at_once_send_each_notice_once(campaign):
    run_scenarios(campaign, kills=[], overlaps=[2, 4, 2], downtimes=[])
    assert campaign.tally.overlaps == 3
    assert_exactly_once(campaign)


@pytest.mark.parametrize("days", [1, 3, 10, 30])
def test_downtime_with_misbehaving_robots(campaign, days):
    run_scenarios(campaign, kills=[], overlaps=[], downtimes=[days])
    assert_exactly_once(campaign)
    with campaign.wired.transaction() as session:
        shown = {
            (row["channel"], row["state"]) for row in list_deliveries(session, PROGRAM, failed_only=True)
        }
    assert ("dingtalk://j...t", "failed") in shown  # the rejecting robot: failed, never silently dropped
    assert ("dingtalk://m...b", "unknown") in shown  # the hanging robot took it after the client gave up
    assert ("dingtalk://c...t", "failed") in shown  # the failing robot, given up after a day of 500s


@pytest.mark.parametrize("point", ["after_claim", "after_post", "after_answer"])
def test_a_check_killed_at_its_second_message_leaves_the_first_one_s_notices_settled(campaign, point):
    """A dispatch claims all its messages before the first leaves; each message's notices are settled as
    soon as it is answered for, so a run killed while a later one is on its way leaves none `sending` (a
    notice left so was never counted as received: the next 第N次 read the same, as a repeat would)."""
    run_scenarios(campaign, kills=[(point, 2)], overlaps=[], downtimes=[])
    assert campaign.tally.kills_by_point == {point: 1}
    assert_exactly_once(campaign)
    with campaign.wired.transaction() as session:
        assert not session.scalars(select(Notice.id).where(Notice.state == "sending")).all()
