"""Channel parsing, masking, signing and size limits; the outbox; the workbook; the migration."""

from __future__ import annotations

import json
import string
from io import BytesIO

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from db import Base
from notifications import (
    DingTalkChannel,
    EmailChannel,
    InvalidChannel,
    OutboxNotifier,
    channel_kind,
    dingtalk_sign,
    feishu_sign,
    fit_bytes,
    ledger,
    mask_url,
    parse_channel,
    pointer_for,
    unit_task_workbook,
)
from tests.support.peers import database, dingtalk_expected_sign, make_message

TOKEN_ALPHABET = string.ascii_letters + string.digits + "-_"


@settings(max_examples=60, deadline=None)
@given(
    token=st.text(TOKEN_ALPHABET, min_size=12, max_size=64),
    secret=st.text(TOKEN_ALPHABET, min_size=12, max_size=64),
    password=st.text(string.ascii_letters + string.digits + "!#%^*()", min_size=8, max_size=30),
)
def test_masked_urls_never_contain_the_secret(token, secret, password):
    for url, hidden in [
        (f"dingtalk://{token}/{secret}", [token, secret]), (f"wecombot://{token}", [token]),
        (f"feishu://{token}/{secret}", [token, secret]),
        (f"mailtos://duban:{password}@smtp.gov.cn:465?to=a@b.cn", [password]),
        (f"json://gw.gov.cn/hook?-token={token}&+Authorization={secret}", [token, secret])]:
        masked = mask_url(url)
        for value in hidden:
            assert value not in masked


@settings(max_examples=80, deadline=None)
@given(text=st.text(min_size=0, max_size=3000), limit=st.integers(min_value=120, max_value=5000))
def test_fit_bytes_respects_the_byte_limit(text, limit):
    pointer = pointer_for("zh-CN")
    out = fit_bytes(text, limit, pointer)
    assert len(out.encode("utf-8")) <= limit
    if len(text.encode("utf-8")) <= limit:
        assert out == text
    else:
        assert out.endswith(pointer)


def test_kinds_and_masks():
    assert channel_kind("mailtos://x@y") == "email" and channel_kind("wecom://x") is None
    assert mask_url("dingtalk://${DT}/${DT_SECRET}") == "dingtalk://${DT}/${DT_SECRET}"
    assert mask_url("wecombot://short") == "wecombot://****"
    assert mask_url("not a url") == "****"


def test_dingtalk_signature_matches_the_documented_algorithm():
    secret = "SECabcdefabcdef0123456789"
    assert dingtalk_sign(secret, 1709514000000) == dingtalk_expected_sign(secret, "1709514000000")
    assert len(feishu_sign(secret, 1709514000)) == 44


def test_parse_channel_identities():
    endpoints = {"dingtalk": "https://oapi.dingtalk.com/robot/send"}
    a = parse_channel("dingtalk://tok0123456789/SECaaaaaaaaaa", endpoints=endpoints)
    b = parse_channel("dingtalk://tok0123456789/SECbbbbbbbbbb", endpoints=endpoints)
    assert isinstance(a, DingTalkChannel) and a.secret == "SECaaaaaaaaaa"
    assert a.limit_key == b.limit_key  # one robot, one limit
    assert a.key != b.key  # a new signing secret is a new channel (a fixed one is not broken)
    assert "tok0123456789" not in repr(a) and "SECaaaaaaaaaa" not in repr(a)
    mail = parse_channel("mailtos://duban:pw123456@smtp.gov.cn?to=a@b.cn&from=duban@gov.cn")
    assert isinstance(mail, EmailChannel) and (mail.smtp_host, mail.port, mail.secure_mode) == (
        "smtp.gov.cn",
        587,
        "starttls",
    )
    ssl_mail = parse_channel("mailtos://duban:pw123456@smtp.gov.cn:465?to=a@b.cn&mode=ssl")
    assert (ssl_mail.port, ssl_mail.secure_mode) == (465, "ssl")
    with pytest.raises(InvalidChannel):
        parse_channel("wecom://pushplus")
    with pytest.raises(InvalidChannel):
        parse_channel("dingtalk://")


def test_outbox_writes_masked_channels_and_the_ledger(tmp_path):
    sessions = database(tmp_path)
    outbox = OutboxNotifier(tmp_path / "home" / "outbox.jsonl", sessions)
    urls = [
        "dingtalk://literaltoken0123456789/SECsecret0123456",
        "mailto://u:pw0123456@smtp.gov.cn?to=a@b.cn",
    ]
    result = outbox.send(make_message(urls, notice_ids=(1, 2)))
    assert (result.state, result.channel) == ("sent", "outbox")
    line = (tmp_path / "home" / "outbox.jsonl").read_text(encoding="utf-8")
    record = json.loads(line)
    assert record["channels"] == ["dingtalk://l...9/****", "mailto://u:****@smtp.gov.cn?to=a@b.cn"]
    assert (record["unit"], record["state"], record["kinds"], record["tasks"]) == (
        "msa", "sent", ["before_due"], ["1", "2"])
    assert "literaltoken0123456789" not in line and "pw0123456" not in line
    with sessions() as session:
        [row] = ledger.list_deliveries(session, "chengdu-2023")
    assert (row["state"], row["channel"], row["at"]) == ("sent", "outbox", "2024-03-04T00:30:00+00:00")


ROWS = [
    {
        "code": "3", "area": "保护体系", "title": "建立健全知识产权快速协同保护机制", "lead": ["msa"],
        "co": ["court", "police"], "due": "2024-06-30", "recurrence": None, "phase": "implementation",
        "status": "in_progress", "progress": 60, "light": "red"},
    {
        "code": "4", "area": "运用体系", "title": "开展知识产权质押融资入园惠企行动", "lead": ["msa"],
        "co": [], "due": "2024-12-31", "recurrence": "quarterly", "phase": "implementation",
        "status": "not_started", "progress": 0, "light": "green"},
]


def test_unit_task_workbook():
    names = {"msa": "市市场监管局", "court": "市中级人民法院", "police": "市公安局"}
    sheet = load_workbook(BytesIO(unit_task_workbook("市市场监管局", ROWS, names=names))).active
    headers = [c.value for c in sheet[2]]
    assert headers == [
        "序号", "编号", "重点任务", "工作举措", "牵头单位", "配合单位", "完成时限", "当前状态", "进度(%)",
        "预警", "本期进展", "佐证材料"]
    first = [c.value for c in sheet[3]]
    assert first[:10] == [
        1, "3", "保护体系", "建立健全知识产权快速协同保护机制", "市市场监管局", "市中级人民法院、市公安局",
        "2024-06-30", "推进中", 60, "红灯"]
    assert first[10:] == [None, None]
    assert sheet.cell(row=4, column=7).value == "每季度（本期 2024-12-31）"
    assert sheet["A2"].font.bold and sheet["A2"].fill.fgColor.rgb.endswith("1F4E78")
    assert sheet.column_dimensions["D"].width == 50 and sheet.freeze_panes == "C3"
    assert sheet.cell(row=3, column=11).fill.fgColor.rgb.endswith("FFF2CC")  # the unit fills this in
    english = load_workbook(BytesIO(unit_task_workbook("MSA", ROWS, language="en"))).active
    assert (
        english.cell(row=2, column=4).value == "Measure"
        and english.cell(row=3, column=8).value == "in progress"
    )


def test_migration_matches_the_models(tmp_path):
    sessions = database(tmp_path)
    engine = sessions.kw["bind"]
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    mine = {"deliveries", "channel_health", "rate_limits", "rate_events"}
    ours = [d for d in diff if any(name in repr(d) for name in mine)]
    assert ours == []
