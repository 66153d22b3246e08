"""Email as units expect it, through real SMTP to an aiosmtpd server on loopback."""

from __future__ import annotations

from datetime import date, timedelta
from email.header import decode_header, make_header
from io import BytesIO

import pytest
from openpyxl import load_workbook

from flows import run_check
from notifications import XLSX_MIME, Attachment, ledger, unit_task_workbook
from tests.support.factories import UNITS
from tests.support.peers import SMTPPeer, database, free_port, make_message, notifiers, settings_for
from tests.support.programs import at, setup

ROWS = [
    {"code": "1", "area": "知识产权保护体系", "title": "建立知识产权快速维权中心", "lead": ["市市场监管局"],
     "co": ["市中级人民法院", "市公安局"], "due": "2024-06-30", "recurrence": None, "phase": "implementation",
     "status": "in_progress", "progress": 40, "light": "yellow"},
    {"code": "2", "area": "知识产权保护体系", "title": "开展知识产权专项执法行动", "lead": ["市市场监管局"],
     "co": [], "due": "2024-12-31", "recurrence": "yearly", "phase": "implementation",
     "status": "not_started", "progress": 0, "light": "green"},
]  # fmt: skip
SMTP_PASSWORD = "Smtp-pa55word-9f3b7c"


@pytest.fixture
def world(tmp_path, clock):
    sessions = database(tmp_path)
    with notifiers(sessions, settings_for(tmp_path, timeout=2.0), clock,
                   sleep=clock.sleep, max_wait=timedelta(0), retry_attempts=2) as notifier:
        yield sessions, notifier


def test_email_with_text_html_and_the_unit_workbook(world, monkeypatch):
    sessions, notifier = world
    monkeypatch.setenv("MSA_SMTP_PASS", SMTP_PASSWORD)
    workbook = unit_task_workbook("市市场监督管理局（知识产权局）", ROWS)
    attachment = Attachment("报送表-市市场监督管理局.xlsx", workbook, XLSX_MIME)
    with SMTPPeer(users={"duban": SMTP_PASSWORD}) as smtp:
        url = (
            f"mailto://duban:${{MSA_SMTP_PASS}}@{smtp.host}:{smtp.port}"
            "?to=zhangsan@msa.gov.cn,lisi@msa.gov.cn&from=duban@ipo.chengdu.gov.cn&name=成都市知识产权局督办"
        )
        result = notifier().send(make_message([url], attachments=[attachment]))
        assert result.state == "delivered", result
        assert result.channel == (
            f"mailto://duban:${{MSA_SMTP_PASS}}@{smtp.host}:{smtp.port}"
            "?to=zhangsan@msa.gov.cn,lisi@msa.gov.cn&from=duban@ipo.chengdu.gov.cn&name=成都市知识产权局督办"
        )
        assert smtp.logins == [("duban", SMTP_PASSWORD)]
        [mail] = smtp.messages

    assert mail.mail_from == "duban@ipo.chengdu.gov.cn"
    assert mail.rcpt_tos == ["zhangsan@msa.gov.cn", "lisi@msa.gov.cn"]
    assert mail.login == "duban"
    headers = mail.data.split(b"\r\n\r\n", 1)[0]
    assert b"Subject: =?utf-8?" in headers and headers.isascii()  # RFC 2047 encoded words, UTF-8
    message = mail.message
    assert (
        str(make_header(decode_header(message["Subject"]))) == "【督办提醒】市场监管局：2 项任务临近完成时限"
    )
    assert message["From"].addresses[0].display_name == "成都市知识产权局督办"
    assert message["Message-ID"].startswith("<m-1.")
    assert message.get_content_type() == "multipart/mixed"
    alternative = next(
        part for part in message.iter_parts() if part.get_content_type() == "multipart/alternative"
    )
    plain, html = list(alternative.iter_parts())
    assert plain.get_content_type() == "text/plain" and plain.get_content_charset() == "utf-8"
    assert "建立知识产权快速维权中心" in plain.get_content()
    assert html.get_content_type() == "text/html" and "<h3>到期提醒</h3>" in html.get_content()
    [attached] = list(message.iter_attachments())
    assert attached.get_filename() == "报送表-市市场监督管理局.xlsx"
    assert attached.get_content_type() == XLSX_MIME
    sheet = load_workbook(BytesIO(attached.get_content())).active
    assert sheet["A1"].value == "市市场监督管理局（知识产权局）重点任务推进情况报送表"
    assert [c.value for c in sheet[2]][:4] == ["序号", "编号", "重点任务", "工作举措"]
    assert [sheet.cell(row=r, column=4).value for r in (3, 4)] == [
        "建立知识产权快速维权中心",
        "开展知识产权专项执法行动",
    ]

    [row] = ledger.list_deliveries(sessions(), "chengdu-2023")
    assert (row["state"], row["code"], row["channel_kind"]) == ("delivered", "250", "email")


def test_temporary_smtp_refusal_is_retried(world):
    _sessions, notifier = world
    with SMTPPeer() as smtp:
        smtp.script("451 4.3.0 mailbox busy, try again later")
        result = notifier().send(make_message([smtp.url("zhangsan@msa.gov.cn")]))
        assert (result.state, result.attempts) == ("delivered", 2)
        assert len(smtp.messages) == 1


def test_permanent_smtp_refusal_breaks_the_channel(world):
    sessions, notifier = world
    with SMTPPeer() as smtp:
        smtp.script("550 5.7.1 message rejected as spam")
        n = notifier()
        result = n.send(make_message([smtp.url("zhangsan@msa.gov.cn")], message_id="a"))
        assert (result.state, result.code, result.attempts) == ("failed", "smtp_550", 1)
        assert "rejected as spam" in result.reason and len(result.alerts) == 1
        again = n.send(make_message([smtp.url("zhangsan@msa.gov.cn")], message_id="b"))
        assert again.state == "failed" and again.alerts == ()
        assert smtp.messages == []
    with sessions() as session:
        assert ledger.failed_delivery_counts(session, "chengdu-2023") == {"msa": 2}


def test_wrong_smtp_password_is_permanent(world):
    _sessions, notifier = world
    with SMTPPeer(users={"duban": SMTP_PASSWORD}) as smtp:
        result = notifier().send(
            make_message([smtp.url("a@msa.gov.cn", user="duban", password="not-the-password")])
        )
        assert (result.state, result.code) == ("failed", "smtp_535")
        assert "not-the-password" not in repr(result)


def test_smtp_server_down_is_transient(world):
    _sessions, notifier = world
    url = f"mailto://127.0.0.1:{free_port()}?to=a@msa.gov.cn&from=duban@ipo.chengdu.gov.cn"
    result = notifier().send(make_message([url]))
    assert (result.state, result.code, result.attempts) == ("deferred", "connect", 2)


def test_cc_and_bcc_are_recipients(world):
    _sessions, notifier = world
    with SMTPPeer() as smtp:
        url = smtp.url("a@msa.gov.cn") + "&cc=b@msa.gov.cn&bcc=c@ipo.chengdu.gov.cn"
        assert notifier().send(make_message([url])).state == "delivered"
        [mail] = smtp.messages
        assert sorted(mail.rcpt_tos) == ["a@msa.gov.cn", "b@msa.gov.cn", "c@ipo.chengdu.gov.cn"]
        assert "c@ipo" not in mail.data.decode("ascii", "replace")  # Bcc is not a header


def test_english_program_gets_an_english_sender_name(world):
    _sessions, notifier = world
    with SMTPPeer() as smtp:
        message = make_message(
            [smtp.url("a@msa.gov.cn")], language="en", subject="Due soon: 2 tasks", text="Two tasks"
        )
        assert notifier().send(message).state == "delivered"
        assert smtp.messages[0].message["From"].addresses[0].display_name == "duban"


def test_the_assignment_by_email_carries_the_units_list(tmp_path, clock, monkeypatch):
    """The check writes the 报送表 for a channel that carries files (the outbox and robots carry none: see
    tests/flows/test_check.py), with the hidden sheet that names its program and unit."""
    monkeypatch.setenv("MSA_SMTP_PASS", SMTP_PASSWORD)
    with SMTPPeer(users={"duban": SMTP_PASSWORD}) as smtp:
        url = f"mailto://duban:${{MSA_SMTP_PASS}}@{smtp.host}:{smtp.port}?to=zhangsan@msa.gov.cn&from=duban@x.cn"
        units = [dict(u, notify=[url], leader_notify=[url]) if u["id"] == "msa" else u for u in UNITS]
        wired = setup(tmp_path, units=units)
        with notifiers(wired.sessions, settings_for(tmp_path, timeout=2.0), clock, sleep=clock.sleep,
                       max_wait=timedelta(0), retry_attempts=1) as notifier:
            run_check(wired.sessions, "demo-city", at(date(2023, 3, 6)), notifier())
        [mail] = smtp.messages
    [attached] = list(mail.message.iter_attachments())
    assert attached.get_filename() == "demo-city-msa-报送表.xlsx"
    book = load_workbook(BytesIO(attached.get_content()))
    assert {row[0].value: row[1].value for row in book["_duban"].iter_rows()} == {
        "format": "duban-report/1", "program": "demo-city", "unit": "msa"}
    codes = [book.worksheets[0].cell(row=r, column=2).value for r in range(3, book.worksheets[0].max_row + 1)]
    assert {"A1", "A2"} <= set(codes)
