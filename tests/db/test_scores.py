"""考核评价: yellow and red cards from lateness in workdays, deductions by the program's rule, the 约谈
list."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select

from db import (
    CoordinatorDecision,
    Notice,
    RemediationItem,
    Unit,
    approve_extension,
    card,
    derive_items,
    record_report,
    request_extension,
    unit_scores,
    units_with_tasks,
)
from schedule import ReminderPolicy, read_plan
from tests.support.factories import program_yaml, write_plan
from tests.support.programs import at, cli_app, ctx_of, make_db, runner, set_phase, with_findings

# Escalation comes after escalate_after (2) × overdue_every_workdays (3) = 6 workdays: later than that is red.


def test_a_card_is_yellow_up_to_the_escalation_rung_and_red_beyond():
    policy = ReminderPolicy()
    assert [card(n, policy) for n in (0, 1, 6, 7, 30)] == [None, "yellow", "yellow", "red", "red"]
    assert card(4, ReminderPolicy(overdue_every_workdays=1, escalate_after=3)) == "red"


def scored(tmp_path, **program):
    sessions, url = make_db(tmp_path, program=program_yaml(**program) if program else None)
    with sessions.begin() as session:
        ctx = ctx_of(session)
        record_report(session, ctx, "D1", "office", "done", None, None, [], at(date(2023, 4, 28)))
        record_report(
            session, ctx, "A1", "msa", "done", None, None, [], at(date(2023, 7, 3))
        )  # 1 workday late
        record_report(
            session, ctx, "A2", "msa", "done", None, None, [], at(date(2024, 1, 3))
        )  # 2 workdays late
        record_report(
            session, ctx, "C1", "police", "done", None, None, [], at(date(2024, 3, 19))
        )  # 2 late, collective
        court = session.scalar(select(Unit.id).where(Unit.code == "court"))
        for slot in (3, 4, 5):  # three 督办 letters to the court's leadership (from an earlier due date)
            session.add(
                Notice(
                    program_id="demo-city", key=f"escalation:demo-city:x:court:leader:{slot}",
                    kind="escalation", unit_id=court, audience="leader", subject_unit_id=court,
                    due=date(2024, 3, 15), data={}, at=at(date(2024, 3, 20)), state="sent")
            )
    return sessions, url


def by_unit(scores: list[dict]) -> dict[str, dict]:
    return {s["unit"]: s for s in scores}


def test_scores_cards_deductions_and_the_interview_list(tmp_path):
    sessions, _ = scored(tmp_path)
    with sessions.begin() as session:
        scores = by_unit(unit_scores(session, ctx_of(session), None, date(2024, 3, 20)))
    pick = (
        "tasks_due", "done_on_time", "done_late", "overdue", "yellow_cards", "red_cards", "escalations",
        "deduction", "score", "interview")
    assert {
        code: tuple(s[k] for k in pick) for code, s in scores.items() if s["tasks_due"] or s["escalations"]
    } == {
        "msa": (2, 0, 2, 0, 2, 0, 0, -1, 99, False),  # two yellow cards: −1
        "police": (4, 0, 1, 3, 1, 3, 0, -6, 94, True),  # B2's three quarters overdue past the rung: red
        # 约谈 for three escalations, without a red card; never reported (police closed C1 for it): −5
        "court": (1, 0, 1, 0, 1, 0, 3, -5, 95, True),
        "justice": (1, 0, 1, 0, 1, 0, 0, -5, 95, False),
    }
    assert "office" not in scores  # the coordinator runs the assessment: never scored
    assert scores["court"]["deductions"] == {"never_reported": -5} and scores["court"]["never_reported"]
    assert scores["police"]["interview_reasons"] == ["red_card"] and scores["court"]["interview_reasons"] == [
        "escalations"
    ]
    assert [c["item"] for c in scores["police"]["cards"]] == ["B2", "B2#2", "B2#3", "C1"]
    assert list(scores)[0] == "police"  # the worst first


def test_a_year_counts_what_fell_due_in_it(tmp_path):
    sessions, _ = scored(tmp_path)
    with sessions.begin() as session:
        in_2023 = by_unit(unit_scores(session, ctx_of(session), 2023, date(2024, 3, 20)))
        in_2024 = by_unit(unit_scores(session, ctx_of(session), 2024, date(2024, 3, 20)))
    assert (
        in_2023["msa"]["yellow_cards"],
        in_2023["police"]["red_cards"],
        in_2023["court"]["escalations"],
    ) == (2, 3, 0)
    assert (
        in_2024["msa"]["tasks_due"],
        in_2024["police"]["yellow_cards"],
        in_2024["police"]["red_cards"],
    ) == (0, 1, 0)


def test_an_approved_extension_is_no_lateness(tmp_path):
    sessions, _ = make_db(tmp_path)
    with sessions.begin() as session:
        ctx = ctx_of(session)
        asked = request_extension(session, ctx, "C1", "court", date(2024, 3, 29), "培训场地",
                                  at(date(2024, 3, 11)))
        approve_extension(session, ctx, asked["id"], "王主任", at(date(2024, 3, 12)))
        record_report(session, ctx, "C1", "court", "done", None, None, [], at(date(2024, 3, 19)))
        court = by_unit(unit_scores(session, ctx, None, date(2024, 4, 1)))["court"]
    assert (court["done_on_time"], court["yellow_cards"], court["red_cards"]) == (1, 0, 0)


def test_the_rule_comes_from_the_program(tmp_path, home):
    _, url = scored(tmp_path, scoring={"per_two_yellow": -2, "per_red": -5, "interview_escalations": 5})
    result = runner.invoke(cli_app(), ["scores", "demo-city", "--as-of", "2024-03-20", "--db", url, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    scores = by_unit(report["units"])
    assert (scores["msa"]["deduction"], scores["police"]["deduction"]) == (-2, -15)
    assert [i["unit"] for i in report["interview"]] == ["police"]  # three escalations are below five now
    assert report["rule"] == {
        "per_two_yellow": -2, "per_red": -5, "per_return": -1, "interview_escalations": 5,
        "per_missing_form": -5, "per_never_reported": -5, "max_deduction": 40, "red_after_workdays": 6}
    table = runner.invoke(cli_app(), ["scores", "demo-city", "--as-of", "2024-03-20", "--db", url])
    assert table.exit_code == 0 and "约谈名单：市公安局" in table.stdout


def test_deductions_are_capped_by_the_rule(tmp_path):
    sessions, _ = scored(tmp_path, scoring={"per_red": -20, "max_deduction": 30})
    with sessions.begin() as session:
        police = by_unit(unit_scores(session, ctx_of(session), None, date(2024, 3, 20)))["police"]
    assert police["deductions"] == {"red_cards": -60} and police["capped"]
    assert (police["deduction"], police["score"]) == (-30, 70)


def test_a_form_never_returned_never_scores_100_even_when_the_phase_closed_without_it(tmp_path):
    sessions, _ = make_db(tmp_path)
    with sessions.begin() as session:
        ctx = ctx_of(session)
        for code, unit in (("A1", "msa"), ("A2", "msa"), ("B2", "police"), ("C1", "police")):
            record_report(session, ctx, code, unit, "done", None, None, [], at(date(2023, 5, 10)))
        set_phase(session, "demo-city", "self_check", "closed")
        session.add(CoordinatorDecision(program_id="demo-city", kind="phase", subject="phase:self_check",
                                        approve=True, decided_by="王主任", decided_at=at(date(2024, 8, 1)),
                                        source="cli"))
        scores = by_unit(unit_scores(session, ctx, None, date(2024, 8, 20)))
    assert scores["msa"]["form_missing"] and scores["msa"]["deductions"]["missing_form"] == -5
    assert all(s["score"] < 100 for s in scores.values())


def test_a_negative_cap_and_a_contact_that_is_no_text_are_located_problems(tmp_path):
    plan = write_plan(tmp_path, program=program_yaml(scoring={"max_deduction": -3},
                                                     contact={"name": ["张三"], "phone": "028-1234"}))
    reading = read_plan(plan)
    problems = {str(p) for p in reading.problems}
    assert not reading.ok
    assert any("program.yaml" in p and "max_deduction" in p and "扣分上限" in p for p in problems)
    assert any("program.yaml" in p and "contact.name" in p for p in problems)


def test_the_reads_a_bulletin_hands_over_score_exactly_as_the_scores_own_reads(tmp_path):
    """The bulletin passes the units with tasks and the remediation items it read, and asks for the cards
    counted, not listed: the same scores, every count included (forms late, items late, cards)."""
    sessions, _ = with_findings(tmp_path)
    with sessions.begin() as session:
        ctx = ctx_of(session)
        derive_items(session, ctx, date(2024, 8, 1), at(date(2024, 8, 1)))
        set_phase(session, "demo-city", "self_check", "closed")
        session.flush()
        items = session.execute(select(RemediationItem.code, RemediationItem.title, RemediationItem.unit_id,
                                       RemediationItem.due, RemediationItem.state, RemediationItem.closed_on)
                                .order_by(RemediationItem.id)).all()
        today = date(2024, 9, 20)
        own = unit_scores(session, ctx, None, today)
        handed = unit_scores(session, ctx, None, today, units_with_tasks(session, ctx), items)
        counted = unit_scores(session, ctx, None, today, units_with_tasks(session, ctx), items, cards=False)
    assert items and any(s["remediation_late"] for s in own) and any(s["forms_late"] for s in own)
    assert handed == own
    assert any(s["cards"] for s in own) and any(s["red_cards"] for s in own)
    assert counted == [{**s, "cards": []} for s in own]
