"""The daily check reads only what can have changed since it last looked: the program's context is made anew
when its row changed, the roll-up of collectives runs when a share may have moved, extension requests and
claim decisions are read when one was written; and each claim counts exactly the rows it inserted."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from db import (
    Candidate,
    Program,
    Task,
    TaskInstance,
    Unit,
    claim,
    daily_program,
    load_program,
    notice_key,
    request_extension,
)
from tests.support.factories import UNITS
from tests.support.programs import at, check, check_statements, setup


def test_a_share_moved_behind_the_checks_back_is_rolled_up_by_the_next_check_and_a_quiet_one_reads_none(
        tmp_path):
    units = [dict(u, jointly=False, done_when="all") if u["id"] == "departments" else u for u in UNITS]
    wired = setup(tmp_path, units=units)
    check(wired, date(2023, 9, 4))
    with wired.transaction() as session:  # every member's share done, by a bulk write that does not roll up
        shares = select(Task.id).where(Task.parent_code == "C1")
        session.execute(update(TaskInstance).where(TaskInstance.task_id.in_(shares))
                        .values(status="done", progress=100, done_on=date(2023, 9, 4))
                        .execution_options(program="demo-city"))
    rolled, _ = check_statements(wired, date(2023, 9, 5))
    with wired.transaction() as session:
        parent = session.scalar(select(TaskInstance.status).join(Task).where(Task.code == "C1"))
    assert parent == "done"
    assert any("share_instance" in statement for statement in rolled)
    quiet, _ = check_statements(wired, date(2023, 9, 5), 15)
    assert not any("share_instance" in statement for statement in quiet)


def test_the_program_is_read_anew_once_its_row_changed_and_a_rollback_leaves_its_context_whole(tmp_path):
    wired = setup(tmp_path)
    with wired.transaction() as session:
        first = daily_program(session, "demo-city").ctx
    with wired.transaction() as session:
        assert daily_program(session, "demo-city").ctx is first  # the same row: the same context
    with wired.transaction() as session:
        session.get(Program, "demo-city").name = "更名后的方案"
    session = wired.sessions()
    renamed = daily_program(session, "demo-city").ctx
    session.rollback()  # a check that failed after reading it
    session.close()
    assert renamed is not first and renamed.program.name == "更名后的方案"
    with wired.transaction() as session:
        assert daily_program(session, "demo-city").ctx is renamed


def test_a_claim_counts_each_kind_it_inserted_when_a_key_was_claimed_meanwhile(tmp_path, monkeypatch):
    wired = setup(tmp_path)
    with wired.transaction() as session:
        ctx = load_program(session, "demo-city")
        unit = session.scalar(select(Unit.id).where(Unit.code == "msa"))
        held = Candidate(notice_key("bulletin", ctx.id, "2023-W10"), "bulletin", unit)
        assert claim(session, ctx, [held], at(date(2023, 3, 6))) == {"bulletin": 1}
    # As if another run claimed `held` after this one looked for held keys: the insert refuses it.
    monkeypatch.setattr("db.notices._unheld", lambda _session, chosen: list(chosen.values()))
    new = [Candidate(notice_key("bulletin", ctx.id, "2023-W11"), "bulletin", unit),
           Candidate(notice_key("phase_opened", ctx.id, "implementation", unit), "phase_opened", unit)]
    with wired.transaction() as session:
        assert claim(session, ctx, [held, *new], at(date(2023, 3, 13))) == {"bulletin": 1, "phase_opened": 1}
        assert not claim(session, ctx, [held, *new], at(date(2023, 3, 13)))


def test_an_extension_requested_after_the_days_check_is_told_at_the_next(tmp_path):
    wired = setup(tmp_path)
    check(wired, date(2023, 12, 20))
    assert not check(wired, date(2023, 12, 20), 15).claimed  # the mark holds: nothing new
    with wired.transaction() as session:
        request_extension(session, load_program(session, "demo-city"), "A2", "msa", date(2024, 1, 31), "场地",
                          at(date(2023, 12, 20), 16))
    assert check(wired, date(2023, 12, 20), 17).claimed["extension_requested"] == 1
