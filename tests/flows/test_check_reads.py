"""The daily check reads only what can have changed since it last looked: the program's context is made anew
when its row changed, the roll-up of collectives runs when a share may have moved, extension requests and
claim decisions are read when one was written; and each claim counts exactly the rows it inserted."""

from __future__ import annotations

from datetime import date

import pytest
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
    plan_candidates,
    record_report,
    request_extension,
)
from tests.support.factories import UNITS
from tests.support.postgres import cluster_or_skip
from tests.support.programs import at, check, check_statements, notices, setup


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


def test_a_claim_counts_each_kind_it_inserted_when_held_or_a_key_was_claimed_meanwhile(tmp_path, monkeypatch):
    wired = setup(tmp_path)
    with wired.transaction() as session:
        ctx = load_program(session, "demo-city")
        unit = session.scalar(select(Unit.id).where(Unit.code == "msa"))
        held = Candidate(notice_key("bulletin", ctx.id, "2023-W10"), "bulletin", unit)
        assert claim(session, ctx, [held], at(date(2023, 3, 6))) == {"bulletin": 1}
    with wired.transaction() as session:  # a lone candidate, inserted unread: refused when held, uncounted
        assert not claim(session, ctx, [held], at(date(2023, 3, 7)))
    assert [n.at for n in notices(wired, key=held.key)] == [at(date(2023, 3, 6))]
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


def test_a_phase_notice_held_is_left_out_when_read_and_a_closing_after_an_overrun_is_still_told(tmp_path):
    wired = setup(tmp_path, tasks=[["L1", "实施", "阶段内未办结", "市场监管局", "", "2024年6月20日", "", ""]])
    for day in (date(2023, 3, 1), date(2024, 6, 3), date(2024, 7, 1)):
        check(wired, day)
    with wired.transaction() as session:
        ctx = load_program(session, "demo-city")
        # The overrun notice is held: it is no longer read as a candidate, every check, to be refused.
        assert not _ended(session, ctx, date(2024, 7, 2))
        record_report(session, ctx, "L1", "msa", "done", 100, None, [], at(date(2024, 7, 2), 15))
    check(wired, date(2024, 7, 3))  # the overrun phase closes: its closing notice has a key of its own
    ended = [n.kind for n in notices(wired, kind="phase_overrun") + notices(wired, kind="phase_closed")
             if n.data["phase"] == "implementation"]
    assert ended == ["phase_overrun", "phase_closed"]
    with wired.transaction() as session:
        assert not _ended(session, load_program(session, "demo-city"), date(2024, 7, 4))


def _ended(session, ctx, today: date) -> list:
    """The closing and overrun notices the program step reads as candidates on a full scan."""
    return [c for c in plan_candidates(session, ctx, today, set(), program_notices=True)
            if c.kind in ("phase_closed", "phase_overrun")]



@pytest.fixture(scope="module")
def postgres():
    with cluster_or_skip() as cluster:
        yield cluster


R1 = ["R1", "协同保护", "长期协作", "市场监管局", "市法院、市公安局", "2023年12月29日", "", ""]
R2 = ["R2", "人才支撑", "分批培训", "市直有关单位", "", "2023年12月29日", "", ""]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_progress_report_owed_goes_to_each_lead_unit_once_and_one_held_is_not_read_again(
        tmp_path, request, backend):
    """20 workdays after the last report: R1's lead (not its co-units), each member of the collective leading
    R2; the next day the owed read finds them held and builds nothing."""
    url = None
    if backend == "postgresql":
        cluster = request.getfixturevalue("postgres")
        cluster.create_database("owed")
        url = cluster.url("owed")
    wired = setup(tmp_path, tasks=[R1, R2], database_url=url)
    with wired.transaction() as session:
        ctx = load_program(session, "demo-city")
        for code, unit in (("R1", "msa"), ("R2", "court")):
            record_report(session, ctx, code, unit, "in_progress", 30, None, [], at(date(2023, 5, 4), 15))
    assert check(wired, date(2023, 6, 5)).claimed["report_missing"] == 4
    owed = {(n.task_code, n.key.split(":")[3]) for n in notices(wired, kind="report_missing")}
    assert owed == {("R1", "msa"), ("R2", "court"), ("R2", "police"), ("R2", "justice")}
    with wired.transaction() as session:
        ctx = load_program(session, "demo-city")
        assert not [c for c in plan_candidates(session, ctx, date(2023, 6, 6)) if c.kind == "report_missing"]


def test_the_open_instances_the_reports_owed_and_the_moments_of_unsigned_assignments_are_one_read(tmp_path):
    """A workday's check reads them together (db.ladders.OpenInstances), and still chases a 交办 not signed
    for in time."""
    wired = setup(tmp_path)
    check(wired, date(2023, 3, 1))  # the 交办 goes out
    statements, chased = check_statements(wired, date(2023, 3, 15))
    assert chased.claimed["ack_missing"]
    read = [s for s in statements if s.startswith("SELECT") and "notices.sent_at" in s]
    assert len(read) == 1 and "task_instances.last_report_at" in read[0]


def test_a_rung_claims_every_role_in_one_statement_a_units_lead_notices_first(tmp_path):
    """court answers for O1 as co-unit and for O2 as lead, both overdue: one statement claims both roles, and
    the lead one is claimed (and listed in court's digest) first, as when each role had its own statement."""
    wired = setup(tmp_path, tasks=[
        ["O1", "协同保护", "联合执法", "市场监管局", "市法院", "2023年6月30日", "", ""],
        ["O2", "协同保护", "司法保护", "市法院", "", "2023年6月30日", "", ""]])
    statements, checked = check_statements(wired, date(2023, 7, 3))  # 催办 1, the only rung of the day
    assert checked.claimed["overdue"] == 3
    assert sum(s.startswith("INSERT") and "on_rung" in s for s in statements) == 1
    court = [(n.task_code, n.data["role"]) for n in notices(wired, kind="overdue")
             if n.key.split(":")[3] == "court"]
    assert court == [("O2", "lead"), ("O1", "co")]
