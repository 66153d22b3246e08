"""What the coordinator sees and does about deliveries in doubt: unknown sends shown and alerted, a re-send
only on confirmation (recorded with who), a repaired channel reset; robot texts never point to an
attachment."""

from __future__ import annotations

import importlib
import json
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, event, select, update
from typer.testing import CliRunner

from bench.fault_campaign import PROGRAM, START, UNITS, Campaign, morning, parse_items
from db import ChannelHealth, Delivery, Event, Notice
from duban import app
from flows import run_check
from notifications import MAX_ITEMS_PER_SECTION, DigestItem, OutboxNotifier, dispatch, inflight, render_digest
from tests.support.peers import MODES, RobotPeer, SMTPPeer, database_url
from tests.support.programs import at, check, notices, outbox_lines, setup

runner = CliRunner()


@pytest.fixture
def campaign(tmp_path):
    with RobotPeer() as robot:
        yield Campaign(tmp_path, robot, database_url(tmp_path, "recovery.db"))


def cli(campaign: Campaign, *args: str, input: str | None = None):
    return runner.invoke(app, [*args, "--db", campaign.database_url], input=input)


def items_on(campaign: Campaign, token: str) -> list:
    return [item for r in campaign.robot.of("dingtalk", token) if r.answer == {"errcode": 0, "errmsg": "ok"}
            for item in parse_items(r.body["markdown"]["text"])]


def test_an_unknown_send_is_shown_alerted_and_resent_only_on_confirmation(campaign):
    campaign.robot.modes["msa0robot0b"] = MODES["hang"]  # takes the message, answers after the client gave up
    campaign.check(morning(START))
    listed = json.loads(cli(campaign, "deliveries", PROGRAM, "--failed", "--json").stdout)
    [doubtful] = [row for row in listed if row["channel"] == "dingtalk://m...b"]
    assert doubtful["state"] == "unknown" and "may have arrived" in doubtful["reason"]
    took_a, took_b = len(items_on(campaign, "msa0robot0a")), len(items_on(campaign, "msa0robot0b"))
    assert took_a == took_b > 0  # both robots have the items; the ledger cannot know that of the second

    with campaign.wired.transaction() as session:
        alerts = session.scalars(select(Notice).where(Notice.kind == "delivery_alert")).all()
    assert [a.key.split(":")[0] for a in alerts] == ["delivery_unknown"]
    assert any("结果不明" in item[2] for item in items_on(campaign, "office0robot"))

    campaign.robot.modes.clear()
    refused = cli(campaign, "deliveries", "retry", PROGRAM, "--unit", "msa", input="n\n")
    assert refused.exit_code == 1 and "结果不明 " in refused.stdout  # the prompt says what may be repeated
    resent = cli(campaign, "deliveries", "retry", PROGRAM, "--unit", "msa", "--by", "王主任", input="y\n")
    assert resent.exit_code == 0, resent.stdout
    with campaign.wired.transaction() as session:
        [event] = session.scalars(select(Event).where(Event.kind == "delivery.retry")).all()
    assert event.actor == "王主任" and event.data["confirmed"] and event.data["unknown"] == took_b
    assert not [r for r in json.loads(cli(campaign, "deliveries", PROGRAM, "--failed", "--json").stdout)
                if r["channel"] == "dingtalk://m...b"]

    campaign.check(morning(START, 10))
    assert len(items_on(campaign, "msa0robot0b")) == 2 * took_b  # re-sent, as ordered, on that channel only
    assert len(items_on(campaign, "msa0robot0a")) == took_a
    assert cli(campaign, "deliveries", "retry", PROGRAM, "--yes").stdout.strip() == "没有失败或结果不明的投递"


def test_a_rejected_channel_is_reset_from_the_command_line(campaign):
    campaign.robot.modes["justice0robot"] = MODES["reject"]  # 310000: keyword or signature mismatch
    campaign.check(morning(START))
    with campaign.wired.transaction() as session:
        [broken] = session.scalars(select(ChannelHealth).where(ChannelHealth.state == "broken")).all()
    assert broken.code == "310000"
    unknown = cli(campaign, "deliveries", "reset", PROGRAM, "dingtalk://x...y")
    assert unknown.exit_code == 1
    reset = cli(campaign, "deliveries", "reset", PROGRAM, broken.key, "--by", "李科长")
    assert reset.exit_code == 0, reset.stdout
    with campaign.wired.transaction() as session:
        assert session.get(ChannelHealth, broken.key).state == "ok"
        [event] = session.scalars(select(Event).where(Event.kind == "delivery.channel_reset")).all()
    assert event.actor == "李科长"
    campaign.robot.modes.clear()
    campaign.check(morning(START + timedelta(days=1)))
    assert items_on(campaign, "justice0robot")  # the repaired robot is used again


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_robot_texts_name_the_coordinator_instead_of_an_attachment(language):
    items = [DigestItem("assignment", f"任务{n}", f"T{n}") for n in range(MAX_ITEMS_PER_SECTION + 5)]
    items += [DigestItem("selfcheck_form", "自查表")]
    rendered = render_digest(
        language=language,
        program_name="示范区",
        recipient_name="市公安局",
        audience="unit",
        today=date(2024, 3, 4),
        items=items,
        contact="市领导小组办公室",
    )
    assert "附件" not in rendered.markdown and "attach" not in rendered.markdown  # what robots get
    assert "市领导小组办公室" in rendered.markdown
    assert ("附件" if language == "zh-CN" else "attached") in rendered.html  # the email carries them


def test_notices_left_sending_by_an_older_version_are_shown_unknown_and_can_be_resent(campaign):
    """Rows stuck in `sending` before the (notice, channel) ledger existed (issue 11: 391 of them) are
    found."""
    campaign.check(morning(START, 7))  # outside the sending window: claimed and queued
    with campaign.wired.transaction() as session:
        stuck = session.scalars(select(Notice).where(Notice.state == "queued")).all()[:3]
        for notice in stuck:
            notice.state, notice.message_id = "sending", "legacy-1"
        ids = [n.id for n in stuck]
    campaign.check(morning(START))
    with campaign.wired.transaction() as session:
        assert {n.state for n in session.scalars(select(Notice).where(Notice.id.in_(ids)))} == {"unknown"}
        [alert] = session.scalars(select(Notice).where(Notice.key.like("delivery_unknown:%legacy-1%"))).all()
    assert "3 项通知投递结果不明" in alert.data["title"]
    assert cli(campaign, "deliveries", "retry", PROGRAM, "--message", "legacy-1", "--yes").exit_code == 0
    campaign.check(morning(START, 10))
    with campaign.wired.transaction() as session:
        assert {n.state for n in session.scalars(select(Notice).where(Notice.id.in_(ids)))} == {"delivered"}


def test_an_email_cut_off_mid_send_goes_again_with_the_same_message_id(tmp_path):
    """Email is idempotent by its Message-ID: after a kill between the SMTP transaction and its record, the
    next check sends the same message again (same Message-ID) instead of leaving it unknown."""
    with RobotPeer() as robot, SMTPPeer() as smtp:
        units = [dict(u, notify=[smtp.url(f"{u['id']}@gov.example.cn")]) for u in UNITS]
        campaign = Campaign(tmp_path, robot, database_url(tmp_path, "email.db"), units=units)
        assert campaign.kill(morning(START), "after_post")  # killed after the first mail was accepted
        first = smtp.messages[0].message["Message-ID"]
        assert [m.message["Message-ID"] for m in smtp.messages].count(first) == 2  # sent again, same id
        with campaign.wired.transaction() as session:
            states = {n.state for n in session.scalars(select(Notice).where(Notice.kind != "delivery_alert"))}
            assert not session.scalars(select(Notice).where(Notice.kind == "delivery_alert")).all()
        assert states == {"delivered"}  # nothing left unknown: the re-send settled it


class _Died(Exception):
    """Stands for SIGKILL: nothing of the run after it is carried out."""


class _DiesAfterWriting(OutboxNotifier):
    """The outbox of a run that dies once its lines are written, before the transaction recording them."""

    def send_many(self, messages):
        OutboxNotifier(self.path).send_many(messages)  # the bare outbox: the lines alone
        raise _Died


def test_outbox_lines_whose_run_died_before_recording_them_are_shown_unknown_never_written_again(tmp_path):
    wired = setup(tmp_path)
    with pytest.raises(_Died):
        run_check(wired.sessions, "demo-city", at(date(2023, 3, 6)),
                  _DiesAfterWriting(wired.settings.outbox_path, wired.sessions))
    written = outbox_lines(wired)
    assert written

    check(wired, date(2023, 3, 6), 10)  # the dead run's lease (an hour) has passed
    for line in written:
        assert {n.state for n in notices(wired, message_id=line["message"])} == {"unknown"}
    lines = outbox_lines(wired)
    ids = {i for line in written for i in line["notice_ids"]}
    assert [line for line in lines if set(line["notice_ids"]) & ids] == written  # none of them again
    assert any("delivery_alert" in line["kinds"] for line in lines)  # the coordinator is told


@contextmanager
def statements():
    """The SQL statements run while inside, in order."""
    run: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        run.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield run
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def test_a_dispatch_looks_once_and_recovers_supersedes_or_reads_only_what_is_there(tmp_path):
    wired = setup(tmp_path)
    day = date(2023, 3, 6)
    check(wired, day)
    outbox = OutboxNotifier(wired.settings.outbox_path, wired.sessions)
    with statements() as run:  # nothing in flight, deferred or queued: one read, nothing written
        result = dispatch(wired.sessions, "demo-city", outbox, at(day, 9), day)
    assert result.messages == 0 and len(run) == 1 and run[0].lstrip().startswith("SELECT")

    # A deferred attempt leaves `deferred` though nothing is queued.
    moment = at(day, 9)
    with wired.transaction() as session:
        session.add(Delivery(message_id="m-deferred", program_id="demo-city", unit_code="msa",
                             channel="outbox", channel_key="outbox", kind="outbox", state="deferred",
                             first_at=moment, last_at=moment, kinds=["overdue"], task_codes=[],
                             notice_ids=[]))
    dispatch(wired.sessions, "demo-city", outbox, at(day, 10), day)
    with wired.transaction() as session:
        state = session.scalar(select(Delivery.state).where(Delivery.message_id == "m-deferred"))
    assert state == "superseded"


def test_a_route_recovered_while_its_message_waited_is_not_sent_by_the_run_that_claimed_it(tmp_path):
    """A dispatch claims all its messages before the first leaves. A later check (its as_of past the lease)
    may recover a route the first run claimed for a message still waiting its turn, and claim it again:
    marking it posting then fails for the first run, which sends nothing on it."""
    wired = setup(tmp_path)
    day = date(2023, 3, 6)
    check(wired, day, 7)  # before the sending window: claimed, queued
    route = inflight.Route("r" * 40, "dingtalk://token/", "dingtalk://tok…/", "dingtalk")
    first, later = at(day, 9), at(day, 11)  # the first run's lease ends at 10:00

    def take(session, message_id: str, when) -> list[int]:
        ids = session.scalars(update(Notice).where(Notice.state == "queued", Notice.kind != "bulletin")
                              .values(state="sending", message_id=message_id).returning(Notice.id)).all()
        owner = inflight.new_owner("t")
        assert inflight.claim_routes_of(session, "demo-city", [(message_id, (route,))], owner,
                                        when + inflight.LEASE, when) == len(ids) > 0
        return ids

    with wired.transaction() as session:
        ids = take(session, "m-first", first)
    with wired.transaction() as session:
        assert inflight.recover(session, "demo-city", later).deferred == len(ids)  # the lease has passed
        assert take(session, "m-later", later) == ids
    with wired.transaction() as session:
        assert not inflight.mark_posting(session, "m-first", route.route, ids, later)
        assert inflight.mark_posting(session, "m-later", route.route, ids, later)
        assert inflight.mark_posting(session, "m-later", route.route, ids, later)  # a retry of the message
        assert inflight.mark_posting(session, "m-alone", route.route, [], later)  # a notifier on its own


def test_a_dispatch_in_batches_sends_every_notice_once(tmp_path, monkeypatch):
    """A dispatch claims and sends a batch of messages at a time (BATCH_NOTICES): the same messages as in one
    batch, every notice in exactly one of them."""
    wired = setup(tmp_path)
    day = date(2023, 3, 6)
    check(wired, day, 7)  # before the sending window: claimed, queued
    queued = {n.id for n in notices(wired, state="queued")}
    monkeypatch.setattr(importlib.import_module("notifications.dispatch"), "BATCH_NOTICES", 2)
    result = dispatch(wired.sessions, "demo-city", OutboxNotifier(wired.settings.outbox_path, wired.sessions),
                      at(day, 9), day)
    sent = [i for line in outbox_lines(wired) for i in line["notice_ids"]]
    assert len(queued) > 2 and sorted(sent) == sorted(queued)
    assert result.messages == len(outbox_lines(wired)) > 1
    assert not notices(wired, state="queued") and not notices(wired, state="sending")
