"""A digest reads like a 督办通知: its number, contact and reply path; 催办 for the lead unit and a request to
cooperate for a co-unit; one line per item with its period; chase counts as received; never a command."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from db import Notice
from notifications import DigestItem, Letterhead, period_label, render_digest
from tests.support.factories import TASKS, program_yaml
from tests.support.programs import at, check, outbox_lines, setup

OFFICE = "市知识产权工作领导小组办公室"
HEAD = Letterhead("成知督〔2024〕12号", OFFICE, f"{OFFICE} 张三（电话 028-1234）")


@pytest.mark.parametrize("language, recurrence, window_start, due, expected", [
    ("zh-CN", "monthly", date(2024, 6, 1), date(2024, 6, 30), "2024年6月 月报"),
    ("zh-CN", "monthly", date(2024, 5, 6), date(2024, 6, 5), "2024年5月 月报"),  # 每月5日前: last month's
    ("zh-CN", "monthly", date(2023, 12, 1), date(2024, 1, 2), "2023年12月 月报"),  # moved past New Year
    ("zh-CN", "monthly", date(2023, 5, 1), date(2023, 5, 31), "2023年5月 月报"),
    ("zh-CN", "quarterly", date(2024, 4, 1), date(2024, 6, 30), "2024年第二季度"),
    ("zh-CN", "quarterly", date(2023, 3, 1), date(2023, 3, 31), "2023年第一季度"),  # phase opens in March
    ("zh-CN", "yearly", date(2023, 5, 1), date(2023, 12, 31), "2023年度"),
    ("en", "monthly", date(2024, 6, 1), date(2024, 6, 30), "2024-06 monthly report"),
    ("en", "quarterly", date(2024, 4, 1), date(2024, 6, 30), "Q2 2024"),
    ("zh-CN", None, date(2024, 4, 1), date(2024, 6, 30), None),  # a one-off task has no period
    ("zh-CN", "ongoing", date(2024, 4, 1), None, None),
])
def test_a_recurring_instance_is_named_for_its_period(language, recurrence, window_start, due, expected):
    assert period_label(language, recurrence, window_start, due) == expected


def digest(items, language="zh-CN", link=None, letterhead=HEAD):
    return render_digest(language=language, program_name="成都示范区", recipient_name="市司法局",
                         audience="unit", today=date(2024, 7, 3), items=items, link=link,
                         letterhead=letterhead)


def test_a_co_unit_is_asked_to_cooperate_once_per_task_not_chased():
    items = [DigestItem("overdue", "报送月度协作数据", "C2", f"2024-0{m}-30", "red", "已逾期", role="co",
                        period=f"2024年{m}月 月报", lead="市公安局") for m in (4, 5, 6)] * 5
    rendered = digest(items)
    assert "催办" not in rendered.markdown.split("###", 1)[1]
    [line] = [line for line in rendered.markdown.splitlines() if line.startswith("- ")]
    periods = "2024年4月 月报、2024年5月 月报、2024年6月 月报"
    assert line == f"- **C2** 报送月度协作数据　{periods}　牵头单位：市公安局"
    assert "### 请配合：本单位配合的事项（1 项）" in rendered.markdown
    assert "报送牵头单位" in rendered.markdown


def test_the_lead_unit_is_chased_one_line_per_period():
    items = [DigestItem("overdue", "报送月度协作数据", "C2", f"2024-0{m}-30", "red", f"第 {m} 次催办",
                        role="lead", period=f"2024年{m}月 月报") for m in (4, 5)]
    rendered = digest(items + items)  # the same notice twice is still one line
    lines = [line for line in rendered.markdown.splitlines() if line.startswith("- ")]
    assert [line.split("　")[1] for line in lines] == ["2024年4月 月报", "2024年5月 月报"]
    assert "### 催办：已逾期事项（2 项）" in rendered.markdown



def test_two_alerts_that_read_alike_but_for_their_note_are_two_lines():
    """Two messages of unknown fate on one channel: the coordinator is told of each, with its own re-send."""
    title = "市市场监管局 经 dingtalk://m...b 的 2 项通知投递结果不明（可能已送达）"
    items = [DigestItem("delivery_alert", title, None, note=f"如需重发：--message m-{n}") for n in (1, 2)]
    lines = [line for line in digest(items).markdown.splitlines() if line.startswith("- ")]
    assert len(lines) == 2 and "m-1" in lines[0] and "m-2" in lines[1]
    assert len([line for line in digest(items + items).markdown.splitlines() if line.startswith("- ")]) == 2

@pytest.mark.parametrize("language", ["zh-CN", "en"])
@pytest.mark.parametrize("link", [None, "http://portal.example/u/abc"])
def test_a_digest_has_its_number_contact_and_reply_path_and_never_a_command(language, link):
    items = [DigestItem("assignment", "建立联动机制", "A1", role="lead"),
             DigestItem("selfcheck_form", "自查表")]
    rendered = digest(items, language, link)
    for part in (rendered.text, rendered.markdown, rendered.html):
        assert "成知督〔2024〕12号" in part and "028-1234" in part
        assert "duban " not in part and "--" not in part.replace("---", "")
    assert "成知督〔2024〕12号" in rendered.subject
    reply = rendered.markdown.split("**", 4)[-1]
    if link:
        assert link in reply and ("督办页面" in reply or "your unit's page" in reply)
    else:
        assert "张三" in reply and "/u/" not in rendered.markdown
    assert "附件" not in rendered.markdown and "attach" not in rendered.markdown  # a robot gets no attachment


def test_without_a_contact_in_program_yaml_the_office_is_the_contact():
    rendered = digest([DigestItem("before_due", "T", "A1")], letterhead=None)
    assert "领导小组办公室" in rendered.markdown and "督办单号" not in rendered.markdown


def test_in_a_real_check_the_co_unit_cooperates_and_the_lead_counts_the_chases_it_received(tmp_path):
    tasks = [*TASKS, ["C2", "协同保护", "报送月度协作数据", "市公安局", "市司法局", "每月", "统计表", ""]]
    contact = {"name": "张三", "phone": "028-1234", "prefix": "示知督"}
    wired = setup(tmp_path, tasks=tasks, program=program_yaml(contact=contact))
    for day in (date(2023, 3, 1), date(2023, 7, 3), date(2023, 8, 15)):  # the checks in between never ran
        check(wired, day)
    last = {line["unit"]: line for line in outbox_lines(wired)
            if line["at"].startswith("2023-08-15") and line["audience"] == "unit"}
    justice, police = last["justice"]["text"], last["police"]["text"]
    assert "请配合：本单位配合的事项" in justice and "催办：已逾期事项" not in justice
    [cooperate] = [line for line in justice.splitlines() if line.startswith("- C2") and "牵头单位：" in line]
    assert "2023年5月 月报、2023年6月 月报、2023年7月 月报" in cooperate
    c2 = [line for line in police.splitlines() if line.startswith("- C2") and "催办）" in line]
    # Chased on 07-03 and now: the rung's slot after the gap is far higher, the count is what was received.
    assert [(line.split("　")[1], line.rsplit("（", 1)[1]) for line in c2] == [
        ("2023年5月 月报", "第 2 次催办）"), ("2023年6月 月报", "第 2 次催办）"),
        ("2023年7月 月报", "第 1 次催办）")]
    numbers = [line["text"].split("督办单号：")[1].split("\n")[0] for line in outbox_lines(wired)]
    assert len(set(numbers)) == len(numbers) and numbers[0] == "示知督〔2023〕1号"
    assert "028-1234" in police and "duban " not in police
    acks = [line for line in justice.splitlines() if "催签收）" in line]
    assert acks and all("（第 2 次催签收）" in line and "月报" not in line for line in acks)
    with wired.transaction() as session:  # the count as sent stays on each notice's record
        counted = session.execute(select(Notice.data).where(Notice.kind == "overdue",
                                                            Notice.sent_at >= at(date(2023, 8, 15), 0, 0)))
        assert sorted({(d["count"], d["within"]) for (d,) in counted}) == [(1, 2), (2, 2)]
