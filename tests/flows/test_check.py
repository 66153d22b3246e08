"""The daily check: phase transitions, the reminder ladder, exactly-once, catch-up, digests."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from db import Notice, Task, Unit, load_program, phases, record_report, unit_role
from flows import Settings, Wiring, run_check
from notifications import DigestItem, OutboxNotifier, render_digest
from tests.support.factories import TASKS, UNITS, program_yaml
from tests.support.programs import ZONE, at, check, notices, outbox_lines, replay, setup
from tests.support.threads import at_once

SPRING_TASK = [
    ["S1", "春节任务", "春节前后到期的任务", "市场监管局", "市法院", "2024年2月19日", "材料", "组织实施"]
]


def test_the_ladder_on_the_2024_spring_festival(tmp_path):
    wired = setup(tmp_path, tasks=SPRING_TASK)
    replay(wired, date(2024, 1, 20), date(2024, 2, 19))
    reminded = sorted(
        {(n.at.astimezone(ZONE).date(), n.data["workdays"]) for n in notices(wired, kind="before_due")}
    )
    assert reminded == [(date(2024, 1, 31), 10), (date(2024, 2, 8), 3), (date(2024, 2, 18), 1)]
    # The lead and the co-unit are both reminded, each once per threshold.
    assert len(notices(wired, kind="before_due")) == 6


def test_no_reminders_on_non_workdays_and_one_digest_per_unit_per_day(tmp_path):
    wired = setup(tmp_path)
    check(wired, date(2023, 3, 4))  # a Saturday: the phase opens, nothing is sent
    assert outbox_lines(wired) == []
    check(wired, date(2023, 3, 6))
    lines = outbox_lines(wired)
    per_unit = {}
    for line in lines:
        per_unit.setdefault((line["unit"], line["audience"]), []).append(line)
    assert all(len(messages) == 1 for messages in per_unit.values()), per_unit.keys()
    msa = per_unit[("msa", "unit")][0]
    assert "assignment" in msa["kinds"] and {"A1", "A2"} <= set(msa["tasks"])
    assert msa["attachments"] == []  # the outbox, like a robot, carries no file: only email gets the 报送表


def test_the_same_day_run_twice_sends_nothing_the_second_time(tmp_path):
    wired = setup(tmp_path)
    first = check(wired, date(2023, 6, 20))
    assert sum(first.claimed.values()) > 0
    sent = len(outbox_lines(wired))
    second = check(wired, date(2023, 6, 20), 10, 0)
    assert sum(second.claimed.values()) == 0
    assert len(outbox_lines(wired)) == sent


def test_two_concurrent_checks_send_nothing_twice(tmp_path):
    wired = setup(tmp_path)
    check(wired, date(2023, 3, 1))
    def run():
        # Each thread is its own "process": its own engine and sessions on the same SQLite file.
        other = Wiring(Settings(home=tmp_path / "home", notifier="outbox"))
        run_check(
            other.sessions, "demo-city", at(date(2023, 6, 20)), OutboxNotifier(other.settings.outbox_path)
        )

    assert at_once(run) == []
    sent_ids = [i for line in outbox_lines(wired) for i in line["notice_ids"]]
    assert len(sent_ids) == len(set(sent_ids))
    with wired.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Notice).where(Notice.state == "queued")) == 0


def test_catch_up_after_downtime_sends_what_is_still_relevant_once(tmp_path):
    wired = setup(tmp_path)
    check(wired, date(2023, 3, 1))
    # Down from 2023-03-02 until 2023-07-20: A1 (due 2023-06-30) is overdue, D1 (2023-04-30) long overdue.
    result = check(wired, date(2023, 7, 20))
    transitions = [(t.kind, t.state, t.on) for t in result.transitions]
    assert transitions == [
        ("deployment", "closed", date(2023, 4, 30)),
        ("implementation", "open", date(2023, 5, 1)),
    ]
    a1 = [n for n in notices(wired, task_code="A1") if n.kind in ("overdue", "before_due")]
    assert [n.kind for n in a1 if n.unit_id == a1[0].unit_id] == ["overdue"]  # one, not one per missed day
    assert all(n.kind != "before_due" for n in notices(wired, task_code="D1"))
    again = check(wired, date(2023, 7, 20), 9, 0)
    assert sum(again.claimed.values()) == 0


def test_overdue_every_three_workdays_then_escalation_to_leader_and_coordinator(tmp_path):
    wired = setup(tmp_path, tasks=[["E1", "督办", "逾期任务", "市场监管局", "", "2023年6月30日", "", ""]])
    replay(wired, date(2023, 6, 26), date(2023, 7, 20))
    overdue_days = [n.at.astimezone(ZONE).date() for n in notices(wired, kind="overdue")]
    assert overdue_days == [
        date(2023, 7, 3), date(2023, 7, 6), date(2023, 7, 11), date(2023, 7, 14), date(2023, 7, 19)]
    escalations = notices(wired, kind="escalation")
    assert {n.at.astimezone(ZONE).date() for n in escalations} == {
        date(2023, 7, 11),
        date(2023, 7, 14),
        date(2023, 7, 19),
    }
    assert {n.audience for n in escalations} == {"leader", "unit"}
    leader_messages = [line for line in outbox_lines(wired) if line["audience"] == "leader"]
    assert leader_messages and leader_messages[0]["unit"] == "msa"


def test_done_tasks_are_not_chased(tmp_path):
    wired = setup(tmp_path, tasks=[["E1", "督办", "按时完成", "市场监管局", "", "2023年6月30日", "", ""]])
    with wired.transaction() as session:
        ctx = load_program(session, "demo-city")
        record_report(session, ctx, "E1", "msa", "done", 100, None, [], at(date(2023, 6, 29), 15))
    replay(wired, date(2023, 6, 26), date(2023, 7, 20))
    assert notices(wired, kind="overdue") == []


def test_recurring_instances_are_reminded_each_on_its_own(tmp_path):
    wired = setup(tmp_path, tasks=[["Q1", "季度", "报送季度数据", "市公安局", "", "每季度", "", ""]])
    replay(wired, date(2023, 9, 1), date(2023, 12, 31))
    dues = sorted({n.due for n in notices(wired, kind="before_due")})
    assert dues == [date(2023, 9, 30), date(2023, 12, 31)]


def test_phase_windows_overlap_and_a_failing_gate_overruns_and_escalates(tmp_path):
    wired = setup(tmp_path, tasks=[["L1", "实施", "阶段内未办结", "市场监管局", "", "2024年6月20日", "", ""]])
    for day in (date(2023, 3, 1), date(2024, 6, 3), date(2024, 7, 1)):
        result = check(wired, day)
    status = {p: s for p, s in _phase_states(wired).items()}
    assert status["implementation"] == "overrun" and status["self_check"] == "open"
    assert [(t.kind, t.state) for t in result.transitions] == [("implementation", "overrun")]
    overrun = notices(wired, kind="phase_overrun")
    assert len(overrun) == 1 and "L1" in overrun[0].data["reasons"][0]
    with wired.transaction() as session:
        ctx = load_program(session, "demo-city")
        record_report(session, ctx, "L1", "msa", "done", 100, None, [], at(date(2024, 7, 2), 15))
    result = check(wired, date(2024, 7, 3))
    assert [(t.kind, t.state, t.on) for t in result.transitions] == [
        ("implementation", "closed", date(2024, 7, 3))
    ]


def _phase_states(wired: Wiring) -> dict[str, str]:
    with wired.transaction() as session:
        return {p.kind: p.state for p in phases(session, "demo-city")}


def test_a_check_outside_the_sending_window_queues_for_the_next_window(tmp_path):
    wired = setup(tmp_path)
    result = check(wired, date(2023, 3, 1), 7, 0)
    assert result.dispatched is None and outbox_lines(wired) == []
    assert sum(result.claimed.values()) > 0
    later = check(wired, date(2023, 3, 1), 9, 0)
    assert later.dispatched.notices == sum(result.claimed.values())


@pytest.mark.parametrize(
    "language, expected",
    [
        ("zh-CN", ["到期提醒", "距时限还有", "请按时限完成"]),
        ("en", ["Due soon", "due 2024-02-19", "Please finish on time"]),
    ],
)
def test_templates_render_in_both_languages(language, expected):
    rendered = render_digest(
        language=language, program_name="示范区", recipient_name="市公安局", audience="unit",
        today=date(2024, 2, 8),
        items=[DigestItem("before_due", "报送数据", "A1", "2024-02-19", "yellow", "距时限还有 3 个工作日")])
    for text in expected:
        assert text in rendered.markdown + rendered.html
    assert "A1" in rendered.text and "<table" in rendered.html and "**" not in rendered.text


def test_a_long_digest_lists_fifty_items_a_rule_one_per_line_and_counts_the_rest():
    items = [DigestItem("overdue", f"举措{i}", f"A{i}", "2024-01-01", "red") for i in range(52)]
    rendered = render_digest(
        language="zh-CN", program_name="示范区", recipient_name="市公安局", audience="unit",
        today=date(2024, 1, 2), items=items)
    listed = [line for line in rendered.markdown.splitlines() if line.startswith("- **A")]
    assert len(listed) == 50
    assert "### 催办：已逾期事项（52 项）" in rendered.markdown
    assert "另有 2 项" in rendered.markdown and "另有 2 项" in rendered.html


def test_an_english_program_gets_english_messages(tmp_path):
    wired = setup(tmp_path, program=program_yaml(language="en"))
    check(wired, date(2023, 3, 1))
    line = next(line for line in outbox_lines(wired) if line["unit"] == "msa")
    assert "Assignment" in line["text"] and "交办" not in line["text"]


def test_a_collective_is_reached_through_its_members(tmp_path):
    wired = setup(tmp_path, tasks=[row for row in TASKS if row[0] == "C1"], units=UNITS)
    check(wired, date(2023, 3, 1))
    assigned = {line["unit"] for line in outbox_lines(wired) if "assignment" in line["kinds"]}
    assert assigned == {"court", "police", "justice"}


@pytest.mark.parametrize("code, unit, role", [
    ("A1", "msa", "lead"), ("A1", "court", "co"), ("A1", "justice", None),
    ("C1", "police", "lead"),  # through the collective 市直有关单位, answering jointly
    ("C1", "msa", None), ("C1", "departments", "lead"),
])
def test_a_units_role_on_a_task_directly_or_through_its_collective(tmp_path, code, unit, role):
    """db.tasks.unit_role, the one statement that reports and 签收 ask: the same answer as the assignments."""
    wired = setup(tmp_path, units=UNITS)
    with wired.transaction() as session:
        task_id = session.scalar(select(Task.id).where(Task.code == code))
        unit_id = session.scalar(select(Unit.id).where(Unit.code == unit))
        assert unit_role(session, task_id, unit_id) == role
