"""Robots (DingTalk, WeCom, Feishu) and an office gateway, against a local HTTP peer that answers like
them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from notifications import ledger
from tests.support.peers import (
    Reply,
    database,
    dingtalk_expected_sign,
    free_port,
    make_message,
    notifiers,
    settings_for,
)

DT = "dt0123456789abcdef0123456789abcdef"
DT_SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef"
WECOM = "wc-693axxx6-7aoc-4bc4-97a0-0ec2sifa5aaa"
FEISHU = "fs-8a3f1c2e-9b7d-4e6f-a1c3-5d7e9f0b2c4a"


@pytest.fixture
def world(tmp_path, robot, clock):
    sessions = database(tmp_path)
    settings = settings_for(tmp_path, robot, timeout=0.3)
    with notifiers(sessions, settings, clock, retry_attempts=3, retry_base_delay=0.5, sleep=clock.sleep,
                   max_wait=timedelta(0)) as notifier:
        yield sessions, notifier


def deliveries(sessions, failed_only=False):
    with sessions() as session:
        return ledger.list_deliveries(session, "chengdu-2023", failed_only=failed_only)


def test_dingtalk_signed_markdown_is_delivered_and_verified(world, robot, clock, monkeypatch):
    sessions, notifier = world
    monkeypatch.setenv("DT_TOKEN", DT)
    monkeypatch.setenv("DT_SECRET", DT_SECRET)
    robot.dingtalk_secrets[DT] = DT_SECRET
    result = notifier().send(make_message(["dingtalk://${DT_TOKEN}/${DT_SECRET}"]))

    assert result.state == "delivered" and result.code == "0" and result.attempts == 1
    assert result.channel == "dingtalk://${DT_TOKEN}/${DT_SECRET}"
    [post] = robot.of("dingtalk")
    assert post.query["access_token"] == DT
    timestamp = post.query["timestamp"]
    assert int(timestamp) == int(clock().timestamp() * 1000)
    assert post.query["sign"] == dingtalk_expected_sign(DT_SECRET, timestamp)
    assert post.headers["Content-Type"].startswith("application/json")
    assert post.body["msgtype"] == "markdown"
    assert post.body["markdown"]["title"] == "【督办提醒】市场监管局：2 项任务临近完成时限"
    assert "建立知识产权快速维权中心" in post.body["markdown"]["text"]
    [row] = deliveries(sessions)
    assert (row["state"], row["attempts"], row["code"], row["unit"]) == ("delivered", 1, "0", "msa")
    assert row["kinds"] == ["before_due"] and row["tasks"] == ["1", "2"]


def test_wrong_signing_secret_is_a_permanent_failure(world, robot):
    sessions, notifier = world
    robot.dingtalk_secrets[DT] = DT_SECRET
    result = notifier().send(make_message([f"dingtalk://{DT}/SECwrongwrongwrong"]))
    assert result.state == "failed" and result.code == "310000" and "sign not match" in result.reason
    assert result.alerts == (f"dingtalk://{DT[0]}...{DT[-1]}/****",)


def test_dingtalk_keyword_param_is_added_when_missing(world, robot):
    _sessions, notifier = world
    robot.dingtalk_keywords[DT] = "督办"
    result = notifier().send(
        make_message([f"dingtalk://{DT}?keyword=督办"], subject="到期提醒", text="两项任务")
    )
    assert result.state == "delivered"
    assert robot.of("dingtalk")[0].body["markdown"]["title"].startswith("【督办】")


def test_wecom_markdown_is_cut_to_4096_bytes_with_a_pointer(world, robot):
    _sessions, notifier = world
    long = "\n".join(
        f"{i}. 加快推进知识产权保护中心建设，完善快速审查、快速确权、快速维权机制" for i in range(200)
    )
    result = notifier().send(make_message([f"wecombot://{WECOM}"], markdown=long))
    assert result.state == "delivered"
    [post] = robot.of("wecom")
    assert post.query == {"key": WECOM}
    content = post.body["markdown"]["content"]
    assert post.body["msgtype"] == "markdown"
    assert len(content.encode("utf-8")) <= 4096
    assert content.endswith(
        "……（内容过长已截断，完整清单请向领导小组办公室索取）"
    )  # a robot carries no attachment
    assert content.startswith("0. 加快推进")


def test_feishu_gets_text_with_the_subject(world, robot):
    _sessions, notifier = world
    result = notifier().send(make_message([f"feishu://{FEISHU}"]))
    assert result.state == "delivered" and result.channel == "feishu://f...a"
    [post] = robot.of("feishu")
    assert post.token == FEISHU
    assert post.body["msg_type"] == "text"
    assert post.body["content"]["text"].startswith("【督办提醒】市场监管局")


def test_office_gateway_goes_through_apprise(world, robot):
    _sessions, notifier = world
    port = robot.server.server_address[1]
    result = notifier().send(make_message([f"json://127.0.0.1:{port}/gateway/duban"]))
    assert result.state == "delivered"
    [post] = robot.of("gateway")
    assert post.path == "/gateway/duban"
    assert post.body["title"].startswith("【督办提醒】") and "快速维权中心" in post.body["message"]


def test_keyword_mismatch_breaks_the_channel_alerts_once_and_email_carries_on(world, robot, smtp):
    sessions, notifier = world
    robot.dingtalk_keywords[DT] = "督办通知"
    urls = [f"dingtalk://{DT}", smtp.url("zhangsan@msa.gov.cn")]
    n = notifier()

    first = n.send(make_message(urls, message_id="m-1"))
    assert first.state == "delivered"  # the email got there
    assert first.channels == (
        (f"dingtalk://{DT[0]}...{DT[-1]}", "failed"),
        (first.channels[1][0], "delivered"),
    )
    assert first.alerts == (f"dingtalk://{DT[0]}...{DT[-1]}",)

    second = n.send(make_message(urls, message_id="m-2"))
    assert (
        second.state == "delivered" and second.alerts == ()
    )  # one alert per broken channel, not per message
    assert len(robot.of("dingtalk")) == 1  # the broken robot is skipped
    assert len(smtp.messages) == 2

    failed = deliveries(sessions, failed_only=True)
    assert [(r["message_id"], r["code"]) for r in failed] == [("m-1", "310000"), ("m-2", "310000")]
    assert failed[0]["reason"] == "keywords not in content"
    assert "broken since" in failed[1]["reason"]
    with sessions() as session:
        [broken] = ledger.broken_channels(session, "chengdu-2023")
        assert (broken["code"], broken["unit"], broken["state"]) == ("310000", "msa", "broken")
        assert ledger.failed_delivery_counts(session, "chengdu-2023") == {}  # the unit was reached by email


def test_over_limit_answer_blocks_the_robot_for_ten_minutes(world, robot, clock):
    sessions, notifier = world
    robot.script(DT, Reply.code(130101, "send too fast, exceed 20 times per minute"))
    n = notifier()
    first = n.send(make_message([f"dingtalk://{DT}"], message_id="m-1"))
    assert first.state == "deferred" and first.code == "130101" and first.attempts == 1
    assert first.retry_at == clock() + timedelta(minutes=10)

    clock.advance(minutes=5)
    again = n.send(make_message([f"dingtalk://{DT}"], message_id="m-1"))
    assert again.state == "deferred" and again.code == "blocked" and again.attempts == 0
    assert len(robot.of("dingtalk")) == 1  # nothing was sent while blocked

    clock.advance(minutes=5)
    last = n.send(make_message([f"dingtalk://{DT}"], message_id="m-1"))
    assert last.state == "delivered"
    [row] = deliveries(sessions)
    assert (row["state"], row["attempts"]) == ("delivered", 2)


def test_wecom_over_limit_is_transient_too(world, robot):
    _sessions, notifier = world
    robot.script(WECOM, Reply.code(45009, "api freq out of limit"))
    result = notifier().send(make_message([f"wecombot://{WECOM}"]))
    assert (result.state, result.code) == ("deferred", "45009")


def test_feishu_codes(world, robot):
    _sessions, notifier = world
    robot.script(FEISHU, Reply.code(11232, "frequency limited", "code"))
    assert notifier().send(make_message([f"feishu://{FEISHU}"], message_id="a")).state == "deferred"
    other = "fs-another-token-0000000000000000"
    robot.script(other, Reply.code(19001, "param invalid: incoming webhook access token invalid", "code"))
    result = notifier().send(make_message([f"feishu://{other}"], message_id="b"))
    assert (result.state, result.code) == ("failed", "19001") and len(result.alerts) == 1


def test_server_errors_are_retried_with_backoff(world, robot, clock):
    sessions, notifier = world
    robot.script(DT, Reply.http(500), Reply.http(502))
    result = notifier().send(make_message([f"dingtalk://{DT}"]))
    assert (result.state, result.attempts) == ("delivered", 3)
    assert clock.slept == [0.5, 1.0]
    assert deliveries(sessions)[0]["attempts"] == 3


def test_persistent_server_error_defers_then_fails_after_a_day(world, robot, clock):
    sessions, notifier = world
    robot.script(DT, *[Reply.http(503)] * 9)
    n = notifier(retry_attempts=3)
    first = n.send(make_message([f"dingtalk://{DT}"]))
    assert (first.state, first.code, first.attempts) == ("deferred", "http_503", 3)
    assert deliveries(sessions)[0]["state"] == "deferred"

    clock.advance(hours=22)  # not yet a day
    assert n.send(make_message([f"dingtalk://{DT}"])).state == "deferred"
    # The next day's check at the same hour, its post a few minutes earlier within the check than yesterday's.
    clock.advance(hours=1, minutes=55)
    last = n.send(make_message([f"dingtalk://{DT}"]))
    assert (last.state, last.code) == ("failed", "http_503")
    assert "gave up" in last.reason
    [row] = deliveries(sessions, failed_only=True)
    assert row["attempts"] == 9
    with sessions() as session:
        assert ledger.failed_delivery_counts(session, "chengdu-2023") == {"msa": 1}
        # Given up, the channel is reported (alerted once) as failing, not broken: it is still tried.
        assert [c["state"] for c in ledger.broken_channels(session)] == ["failing"]


def test_a_timeout_after_the_request_left_is_unknown_and_never_sent_again(world, robot):
    sessions, notifier = world
    robot.script(WECOM, Reply.slow(1.0))  # the robot takes it, but answers after the client's 0.5 s
    result = notifier(retry_attempts=3).send(make_message([f"wecombot://{WECOM}"]))
    assert (result.state, result.code, result.attempts) == ("unknown", "timeout", 1)
    assert len(robot.of("wecom")) == 1  # a retry would have delivered it twice
    [row] = deliveries(sessions, failed_only=True)  # shown to the coordinator as of unknown fate
    assert row["state"] == "unknown" and "may have arrived" in row["reason"]


def test_a_robot_that_cannot_be_reached_is_retried(world, robot):
    _sessions, notifier = world
    closed = notifier(retry_attempts=2)
    closed._ctx.wecom_endpoint = f"http://127.0.0.1:{free_port()}/cgi-bin/webhook/send"  # nothing listens
    result = closed.send(make_message([f"wecombot://{WECOM}"]))
    assert (result.state, result.code, result.attempts) == (
        "deferred",
        "connect",
        2,
    )  # it provably never left


def test_client_errors_are_permanent(world, robot):
    _sessions, notifier = world
    robot.script(DT, Reply.http(404, "not found"))
    result = notifier().send(make_message([f"dingtalk://{DT}"]))
    assert (result.state, result.code, result.attempts) == ("failed", "http_404", 1)


def test_all_channels_broken_fails_with_the_last_code(world, robot):
    sessions, notifier = world
    robot.script(DT, Reply.code(310000, "keywords not in content"))
    robot.script(WECOM, Reply.code(93000, "invalid webhook url"))
    result = notifier().send(make_message([f"dingtalk://{DT}", f"wecombot://{WECOM}"]))
    assert (result.state, result.code, result.reason) == ("failed", "93000", "invalid webhook url")
    assert len(result.alerts) == 2
    with sessions() as session:
        assert ledger.failed_delivery_counts(session, "chengdu-2023") == {"msa": 1}


def test_resending_a_deferred_message_skips_channels_that_already_delivered(world, robot, smtp, clock):
    sessions, notifier = world
    robot.script(DT, Reply.code(130101, "send too fast"))
    urls = [smtp.url("zhangsan@msa.gov.cn"), f"dingtalk://{DT}"]
    n = notifier()
    assert n.send(make_message(urls, message_id="m-1")).state == "deferred"
    clock.advance(minutes=11)
    result = n.send(make_message(urls, message_id="m-1"))
    assert result.state == "delivered"
    assert len(smtp.messages) == 1 and len(robot.of("dingtalk")) == 2
    assert [r["state"] for r in deliveries(sessions)] == ["delivered", "delivered"]


def test_a_regrouped_digest_is_not_repeated_on_a_channel_that_carried_all_its_notices(
    world, robot, smtp, clock
):
    _sessions, notifier = world
    robot.script(DT, Reply.code(130101, "send too fast"))
    urls = [smtp.url("zhangsan@msa.gov.cn"), f"dingtalk://{DT}"]
    n = notifier()
    assert n.send(make_message(urls, message_id="day1", notice_ids=(7, 8))).state == "deferred"
    clock.advance(days=1)
    result = n.send(make_message(urls, message_id="day2", notice_ids=(7, 8)))
    assert result.state == "delivered"
    assert len(smtp.messages) == 1  # the email already carried notices 7 and 8
    assert len(robot.of("dingtalk")) == 2


def test_a_broken_channel_is_reprobed_after_a_day_and_healed(world, robot, clock):
    sessions, notifier = world
    robot.script(DT, Reply.code(310000, "keywords not in content"))
    n = notifier(reprobe_after=timedelta(hours=24))
    assert n.send(make_message([f"dingtalk://{DT}"], message_id="a")).state == "failed"
    clock.advance(hours=1)
    assert n.send(make_message([f"dingtalk://{DT}"], message_id="b")).state == "failed"
    assert len(robot.of("dingtalk")) == 1
    clock.advance(hours=24)
    assert n.send(make_message([f"dingtalk://{DT}"], message_id="c")).state == "delivered"
    with sessions() as session:
        assert ledger.broken_channels(session) == []


def test_reset_channel_lets_it_be_used_again(world, robot):
    sessions, notifier = world
    robot.script(DT, Reply.code(310000, "keywords not in content"))
    n = notifier(reprobe_after=None)
    first = n.send(make_message([f"dingtalk://{DT}"], message_id="a"))
    with sessions.begin() as session:
        assert ledger.reset_channel(session, first.alerts[0]) == 1
    assert n.send(make_message([f"dingtalk://{DT}"], message_id="b")).state == "delivered"


def test_a_missing_secret_fails_the_channel_alerts_once_and_recovers(world, robot, monkeypatch):
    sessions, notifier = world
    monkeypatch.delenv("MSA_DT_TOKEN", raising=False)
    n = notifier()
    first = n.send(make_message(["dingtalk://${MSA_DT_TOKEN}"], message_id="a"))
    assert (first.state, first.code) == ("failed", "secret_unavailable")
    assert "${MSA_DT_TOKEN}" in first.reason and first.alerts == ("dingtalk://${MSA_DT_TOKEN}",)
    second = n.send(make_message(["dingtalk://${MSA_DT_TOKEN}"], message_id="b"))
    assert second.state == "failed" and second.alerts == ()
    monkeypatch.setenv("MSA_DT_TOKEN", DT)
    assert n.send(make_message(["dingtalk://${MSA_DT_TOKEN}"], message_id="c")).state == "delivered"
    with sessions() as session:
        assert ledger.broken_channels(session) == []


def test_gateway_failure_is_transient(world, robot):
    _sessions, notifier = world
    robot.script("/gateway/down", Reply.http(500), Reply.http(500))
    port = robot.server.server_address[1]
    result = notifier(retry_attempts=2).send(make_message([f"json://127.0.0.1:{port}/gateway/down"]))
    assert (result.state, result.code, result.attempts) == ("deferred", "gateway", 2)


def test_unsupported_url_fails_cleanly(world):
    _sessions, notifier = world
    result = notifier().send(make_message(["wecom://pushplus-token-0000000000"]))
    assert (result.state, result.code) == ("failed", "invalid_url")
    assert "pushplus-token-0000000000" not in result.reason


def test_a_unit_without_urls_goes_to_the_outbox(world, tmp_path):
    sessions, notifier = world
    result = notifier().send(make_message([]))
    assert (result.state, result.channel) == ("sent", "outbox")
    assert (tmp_path / "outbox.jsonl").read_text(encoding="utf-8").count("\n") == 1
    assert deliveries(sessions)[0]["state"] == "sent"


def test_apprise_form_with_secret_before_the_token_and_members_to_mention(world, robot, clock, monkeypatch):
    sessions, notifier = world
    monkeypatch.setenv("DT_SECRET", DT_SECRET)
    robot.dingtalk_secrets[DT] = DT_SECRET
    result = notifier().send(make_message([f"dingtalk://${{DT_SECRET}}@{DT}/13800138000"]))
    assert result.state == "delivered"
    assert result.channel == f"dingtalk://${{DT_SECRET}}@{DT[0]}...{DT[-1]}/138****8000"
    [post] = robot.of("dingtalk")
    assert post.body["at"] == {"atMobiles": ["13800138000"], "isAtAll": False}
    assert post.body["markdown"]["text"].endswith("@13800138000")
