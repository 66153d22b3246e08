"""The rules every report follows (db.reviews.check_report), refused with what is wrong and nothing written,
and a done claim waiting for the coordinator."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, update

from db import (
    CoordinatorDecision,
    DoneClaim,
    InvalidInput,
    NotFound,
    Program,
    ProgressReport,
    Task,
    TaskInstance,
    check_report,
    claims,
    pass_claim,
    record_report,
    return_claim,
    submit_report,
)
from tests.support.programs import at, ctx_of, make_db

REFUSALS = [
    # code, unit, status, evidence, refused with, saying
    ("Z9", "msa", "in_progress", [], NotFound, "Z9"),
    ("A1", "nobody", "in_progress", [], NotFound, "nobody"),
    ("A1", "justice", "in_progress", [], InvalidInput, "A1"),
    ("A1", "msa", "done", [], InvalidInput, "佐证材料"),
    ("C0", "office", "in_progress", [], InvalidInput, "C0"),
]


@pytest.mark.parametrize("code, unit, status, evidence, error, saying", REFUSALS)
def test_a_report_against_the_rules_is_refused_and_nothing_is_written(tmp_path, code, unit, status,
                                                                      evidence, error, saying):
    sessions, _ = make_db(tmp_path)
    with sessions.begin() as session:
        # A retired task (C0): D1, office's, dropped from the 分工表.
        session.execute(update(Task).where(Task.code == "D1").values(code="C0", active=False))
    with pytest.raises(error) as refused, sessions.begin() as session:
        submit_report(session, ctx_of(session), code, unit, status, None, None, evidence,
                      at(date(2023, 6, 1)), "test")
    assert saying in str(refused.value)
    with sessions.begin() as session:
        assert session.scalar(select(func.count(ProgressReport.id))) == 0


def test_a_done_claim_waits_for_review_and_the_lead_cannot_report_again_meanwhile(tmp_path):
    sessions, _ = make_db(tmp_path)
    with sessions.begin() as session:
        ctx = ctx_of(session)
        claimed = submit_report(session, ctx, "A1", "msa", "done", None, "已完成", ["协议.pdf"],
                                at(date(2023, 6, 1)), "test")
        assert (claimed["review"], claimed["role"]) == ("pending", "lead")
        [waiting] = claims(session, ctx, state="pending")
        assert (waiting["id"], waiting["code"], waiting["unit"]) == (claimed["claim"], "A1", "msa")
        assert waiting["evidence"] == ["协议.pdf"] and waiting["claimed_on"] == "2023-06-01"
    with sessions.begin() as session:
        with pytest.raises(InvalidInput):
            check_report(session, ctx_of(session), "A1", "msa", "in_progress", 50, [])
        part = submit_report(session, ctx_of(session), "A1", "court", "in_progress", 40, None, [],
                             at(date(2023, 6, 2)), "test")  # a co-unit's part is still taken
        assert part["role"] == "co"
        assert session.scalar(select(DoneClaim.previous_progress)) == 0


def test_a_report_moves_its_instance_counts_as_a_change_and_keeps_the_sessions_object_in_step(tmp_path):
    """write_report updates the instance with a Core statement: the program's change count moves as for any
    write the check's marks watch (db.models.marks), and an object of the instance the session holds already
    shows the new state."""
    sessions, _ = make_db(tmp_path)
    with sessions.begin() as session:
        changes = session.scalar(select(Program.changes).where(Program.id == "demo-city"))
    with sessions.begin() as session:
        ctx = ctx_of(session)
        held = session.scalar(select(TaskInstance).join(Task).where(Task.code == "A2"))
        submit_report(session, ctx, "A2", "msa", "in_progress", 40, None, [], at(date(2023, 6, 1)), "test")
        assert (held.status, held.progress, held.last_report_at) == ("in_progress", 40, at(date(2023, 6, 1)))
        record_report(session, ctx, "A2", "msa", "done", None, None, ["纪要.pdf"], at(date(2023, 6, 2)))
        assert (held.status, held.progress, held.done_on) == ("done", 100, date(2023, 6, 2))
        assert not session.dirty  # nothing left for the flush to write again
    with sessions.begin() as session:
        assert session.scalar(select(Program.changes).where(Program.id == "demo-city")) == changes + 1
        assert session.get(TaskInstance, held.id).status == "done"


def test_the_coordinators_decision_moves_the_instance_and_the_claim_once(tmp_path):
    """销号 makes the instance done on the claim's date, 退回重办 puts it back to its progress before the
    claim; the decision is recorded once (a second one is refused) and an object of the claim the session
    holds shows it."""
    sessions, _ = make_db(tmp_path)
    with sessions.begin() as session:
        ctx = ctx_of(session)
        submit_report(session, ctx, "A2", "msa", "in_progress", 30, None, [], at(date(2023, 6, 1)), "test")
        first = submit_report(session, ctx, "A2", "msa", "done", None, None, ["纪要.pdf"],
                              at(date(2023, 6, 5)), "test")["claim"]
    with sessions.begin() as session:
        ctx = ctx_of(session)
        held = session.get(DoneClaim, first)
        with pytest.raises(InvalidInput):
            return_claim(session, ctx, first, "  ", "王主任", at(date(2023, 6, 7)))
        returned = return_claim(session, ctx, first, "材料不全", "王主任", at(date(2023, 6, 7)))
        assert (returned["state"], returned["reason"], held.state, held.reason) == (
            "returned", "材料不全", "returned", "材料不全")
        instance = session.scalar(select(TaskInstance).join(Task).where(Task.code == "A2"))
        assert (instance.status, instance.progress, instance.done_on) == ("in_progress", 30, None)
        with pytest.raises(InvalidInput):
            pass_claim(session, ctx, first, "王主任", at(date(2023, 6, 8)))
        second = submit_report(session, ctx, "A2", "msa", "done", None, None, [], at(date(2023, 6, 9)),
                               "test")["claim"]  # the evidence of the first claim still counts
        assert pass_claim(session, ctx, second, "王主任", at(date(2023, 6, 12)))["claimed_on"] == "2023-06-09"
        assert (instance.status, instance.progress, instance.done_on) == ("done", 100, date(2023, 6, 9))
    with sessions.begin() as session:
        decisions = session.execute(select(CoordinatorDecision.subject, CoordinatorDecision.approve)
                                    .order_by(CoordinatorDecision.id)).all()
        assert decisions == [(f"claim:{first}", False), (f"claim:{second}", True)]
        assert [c["state"] for c in claims(session, ctx_of(session))] == ["returned", "passed"]
