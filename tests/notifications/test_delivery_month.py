"""A simulated month of daily checks delivering to real protocol peers on loopback: an SMTP server and a
robot server answering like DingTalk and WeCom. Every notice once, every rejection on record with its code,
never over a robot's limit, a broken channel alerted once and fallen back from, no secret anywhere."""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import yaml

from db import import_program
from flows import Wiring, run_check
from notifications import AppriseNotifier, list_deliveries
from schedule import read_plan
from tests.support.factories import UNITS, program_yaml, write_plan
from tests.support.peers import FakeClock, Reply, RobotPeer, SMTPPeer, settings_for

ZONE = ZoneInfo("Asia/Shanghai")
SECRETS = {"GROUP_DT_TOKEN": "dt-token-7f3a9c", "GROUP_DT_SECRET": "SECdt-secret-51be0d",
           "POLICE_WECOM_KEY": "wecom-key-93ab77", "SMTP_PASSWORD": "smtp-pass-c0ffee"}


def many_units(smtp: SMTPPeer) -> list[dict]:
    """25 units share one DingTalk group robot (as county offices often do); the police's WeCom key is revoked
    and falls back to mail; the office (coordinator) is reached by mail."""
    group = "dingtalk://${GROUP_DT_SECRET}@${GROUP_DT_TOKEN}/"
    mail = smtp.url("office@gov.example.cn", user="duban", password="${SMTP_PASSWORD}")
    units = [dict(u) for u in UNITS]
    units[0]["notify"] = [mail]
    units[1]["notify"] = [group]
    units[1]["leader_notify"] = [
        smtp.url("msa-leader@gov.example.cn", user="duban", password="${SMTP_PASSWORD}")
    ]
    units[2]["notify"] = [group]
    units[3]["notify"] = ["wecombot://${POLICE_WECOM_KEY}", smtp.url("police@gov.example.cn", user="duban",
                                                                      password="${SMTP_PASSWORD}")]
    units[4]["notify"] = [group]
    extra = [{"id": f"district-{n}", "name": f"第{n}区知识产权局", "notify": [group]} for n in range(1, 21)]
    return units + extra


def tasks_for_everyone() -> list[list]:
    rows = [["A1", "协同", "建立联动机制", "市场监管局", "市法院、市公安局", "2023年6月15日", "协议", ""],
            ["A2", "协同", "跨区域协作", "市司法局", "", "2023年6月9日", "纪要", ""]]
    rows += [[f"Q{n}", "区县", f"第{n}区落实举措", f"第{n}区知识产权局", "", "2023年6月20日", "台账", ""]
             for n in range(1, 21)]
    return rows


def imported(tmp_path, smtp: SMTPPeer, robot: RobotPeer) -> Wiring:
    """The program of many units with channels on the peers, imported into an apprise home."""
    units = many_units(smtp)
    plan = write_plan(tmp_path, units=units, tasks=tasks_for_everyone(),
                      program=program_yaml(phases=[{"kind": "implementation", "start": "2023-06-01",
                                                    "end": "2023-12-31"}]))
    (plan / "units.yaml").write_text(yaml.safe_dump(units, allow_unicode=True), "utf-8")
    reading = read_plan(plan)
    assert reading.ok, [str(p) for p in reading.problems]
    # A generous timeout: on a loaded machine a slow loopback answer must not turn into an `unknown` and its
    # delivery_alert (what a timeout does is proved elsewhere).
    settings = settings_for(tmp_path / "home", robot, timeout=10.0)
    wired = Wiring(settings.model_copy(update={"notifier": "apprise"}))
    with wired.transaction() as session:
        import_program(session, reading.program, datetime(2023, 5, 31, tzinfo=ZONE))
    return wired


def checks_in_june(wired: Wiring, clock: FakeClock) -> None:
    """The 08:30 check every day of June 2023, and a second one 11 minutes later."""
    notifier = AppriseNotifier(
        wired.sessions, wired.settings, clock=clock, retry_base_delay=0.0, sleep=clock.sleep
    )
    day = date(2023, 6, 1)
    while day <= date(2023, 6, 30):
        at = datetime.combine(day, time(8, 30), ZONE)
        clock.advance(seconds=(at - clock()).total_seconds())
        run_check(wired.sessions, "demo-city", at, notifier)
        # A second check within the hour: what the first could not send under the limit goes now.
        clock.advance(minutes=11)
        run_check(wired.sessions, "demo-city", at + timedelta(minutes=11), notifier)
        day += timedelta(days=1)


def test_a_month_of_checks_against_loopback_peers(tmp_path, monkeypatch, caplog):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    clock = FakeClock(datetime(2023, 6, 1, 0, 30, tzinfo=ZoneInfo("UTC")))
    with SMTPPeer(users={"duban": SECRETS["SMTP_PASSWORD"]}) as smtp, RobotPeer(clock=clock) as robot:
        robot.dingtalk_secrets[SECRETS["GROUP_DT_TOKEN"]] = SECRETS["GROUP_DT_SECRET"]
        robot.script(SECRETS["POLICE_WECOM_KEY"], Reply.code(93000, "invalid webhook url"))
        wired = imported(tmp_path, smtp, robot)
        checks_in_june(wired, clock)

        group = robot.of("dingtalk", SECRETS["GROUP_DT_TOKEN"])
        assert group and robot.over_limit_answers == 0
        sent_times = sorted(r.at for r in group)
        assert all(sum(1 for t in sent_times if s <= t < s + timedelta(minutes=1)) <= 20 for s in sent_times)
        assert all("sign" in r.query for r in group)
        assert any("police@gov.example.cn" in m.rcpt_tos for m in smtp.messages)  # the fallback channel
        assert all(m.login == "duban" for m in smtp.messages)

    with wired.transaction() as session:
        ledger = list_deliveries(session, "demo-city")
        failed = list_deliveries(session, "demo-city", failed_only=True)
    assert any(str(row["code"]) == "93000" for row in failed), failed
    shown = json.dumps(ledger, default=str, ensure_ascii=False)
    assert all(secret not in shown for secret in SECRETS.values())  # channels are shown masked or unexpanded
    database = sqlite3.connect(tmp_path / "home" / "duban.db")
    alerts = database.execute("SELECT count(*) FROM notices WHERE kind = 'delivery_alert'").fetchone()[0]
    assert alerts == 1
    states = dict(database.execute("SELECT state, count(*) FROM notices GROUP BY state").fetchall())
    assert set(states) <= {"delivered", "sent"}, states  # nothing left queued, failed or in flight
    # A message goes to each of its unit's channels; on each, it is delivered at most once.
    delivered = [(row["message_id"], row["channel"]) for row in ledger if row["state"] == "delivered"]
    assert len(delivered) == len(set(delivered))

    dump = "\n".join(database.iterdump())
    logs = caplog.text
    for secret in SECRETS.values():
        assert secret not in dump and secret not in logs
    assert not (tmp_path / "home" / "outbox.jsonl").exists() or all(
        secret not in (tmp_path / "home" / "outbox.jsonl").read_text("utf-8") for secret in SECRETS.values())
