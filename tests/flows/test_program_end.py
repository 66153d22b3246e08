"""A program ends: after its last phase closes it is completed and sends its final summary alone; `status`
shows the end; `archive` makes it read-only and keeps its record."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, update

from db import (
    AssignmentAck,
    Event,
    Notice,
    Phase,
    Program,
    ProgramArchived,
    ProgressReport,
    acknowledge,
    import_program,
    load_program,
    record_report,
    submit_report,
)
from flows import Settings, Wiring, run_check
from notifications import OutboxNotifier
from schedule import read_plan
from tests.support.programs import at, check, cli_app, make_db, notices, outbox_lines, runner, setup

PLANS = Path(__file__).resolve().parents[2] / "plans"


def ended(tmp_path):
    """The factory plan after its last phase closed, with overdue tasks left that used to be chased daily."""
    wired = setup(tmp_path)
    with wired.transaction() as session:
        session.execute(update(Phase).where(Phase.program_id == "demo-city")
                        .values(state="closed", opened_on=Phase.start, closed_on=Phase.end))
    return wired


def test_a_completed_program_sends_its_final_summary_to_the_coordinator_and_nothing_else(tmp_path):
    wired = ended(tmp_path)
    first = check(wired, date(2025, 5, 6))
    assert dict(first.claimed) == {"final_summary": 1}
    [message] = outbox_lines(wired)
    assert message["unit"] == "office" and "总结通报" in message["text"]
    assert "计划已于 2025-04-30 结束" in message["text"] and "表扬" in message["text"]
    assert "duban " not in message["text"]  # a digest never tells anybody to run a command
    for day in (date(2025, 5, 7), date(2025, 5, 8), date(2025, 6, 3)):
        assert sum(check(wired, day).claimed.values()) == 0
    assert {n.kind for n in notices(wired)} == {"final_summary"}  # no 提醒, 催办 or 督办 after the end


def status_json(wired, as_of: str) -> dict:
    result = runner.invoke(
        cli_app(), ["status", "demo-city", "--as-of", as_of, "--db", wired.settings.db_url, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_status_shows_the_end_and_archive_makes_it_read_only_with_its_record_kept(tmp_path):
    wired = ended(tmp_path)
    check(wired, date(2025, 5, 6))
    assert status_json(wired, "2025-05-06")["program_state"]["state"] == "completed"
    url = wired.settings.db_url
    with wired.transaction() as session:
        kept = tuple(session.scalar(select(func.count(model.id))) for model in (Notice, Event, AssignmentAck,
                                                                               ProgressReport))
    archived = runner.invoke(cli_app(), ["archive", "demo-city", "--by", "王主任", "--as-of", "2025-05-07",
                                         "--db", url])
    assert archived.exit_code == 0 and "已归档" in archived.stdout, archived.output
    state = status_json(wired, "2025-05-08")["program_state"]
    assert (state["state"], state["archived_by"], state["ended_on"]) == ("archived", "王主任", "2025-04-30")
    refused = runner.invoke(cli_app(), ["report", "demo-city", "A1", "--unit", "msa", "--status",
                                        "in_progress", "--as-of", "2025-05-08", "--db", url])
    assert refused.exit_code == 1 and "已于 2025-05-07 归档" in refused.output
    with pytest.raises(ProgramArchived), wired.transaction() as session:
        record_report(session, load_program(session, "demo-city"), "A2", "msa", "done", None, None, [],
                      at(date(2025, 5, 8)))
    with wired.transaction() as session:
        # A 签收, a co-unit's part and a form's return are Core writes, no ORM row to flush: refused all the
        # same, before anything is written (a caller that goes on and commits writes nothing).
        archived = load_program(session, "demo-city")
        for refused_write in (
                lambda: acknowledge(session, archived, "A2", "msa", at(date(2025, 5, 8)), "portal"),
                lambda: submit_report(session, archived, "A1", "court", "in_progress", 50, None, [],
                                      at(date(2025, 5, 8)), "portal")):
            with pytest.raises(ProgramArchived):
                refused_write()
    assert check(wired, date(2025, 5, 8)).dispatched is None
    with wired.transaction() as session:
        assert session.scalar(select(func.count(Notice.id))) == kept[0]  # nothing deleted, nothing added
        assert session.scalar(select(func.count(Event.id))) == kept[1] + 1  # the archive itself
        assert session.scalar(select(func.count(AssignmentAck.id))) == kept[2]
        assert session.scalar(select(func.count(ProgressReport.id))) == kept[3]


def test_a_running_program_cannot_be_archived(tmp_path):
    wired = setup(tmp_path)
    result = runner.invoke(cli_app(), ["archive", "demo-city", "--as-of", "2023-05-01", "--db",
                                       wired.settings.db_url])
    assert result.exit_code == 1 and "尚未结束" in result.output


def test_the_chengdu_plan_sends_no_chase_on_2025_05_06_once_its_phases_have_closed(tmp_path):
    """Issue 13: on 2025-05-06 the Chengdu daily check still sent 80 督办 and 116 催办."""
    wired = Wiring(Settings(home=tmp_path / "home", notifier="outbox"))
    with wired.transaction() as session:
        import_program(session, read_plan(PLANS / "chengdu-2023").program, at(date(2023, 2, 1)))
        session.execute(update(Phase).where(Phase.program_id == "chengdu-2023")
                        .values(state="closed", opened_on=Phase.start, closed_on=Phase.end))
    result = run_check(wired.sessions, "chengdu-2023", at(date(2025, 5, 6)),
                       OutboxNotifier(wired.settings.outbox_path))
    assert dict(result.claimed) == {"final_summary": 1}
    [message] = outbox_lines(wired)
    assert message["unit"] == "leading-office" and message["kinds"] == ["final_summary"]


def test_a_writer_holding_its_context_from_an_earlier_session_has_the_program_read_once_per_transaction(
        tmp_path):
    """The archive check reads the program when the session does not hold it: once per transaction however
    often the writer flushes, and again in the next transaction, which sees an archive committed meanwhile."""
    sessions, _url = make_db(tmp_path)
    with sessions.begin() as session:
        ctx = load_program(session, "demo-city")  # the replay's way: one context for many transactions
    reads: list[str] = []

    def program_read(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().startswith("SELECT") and "FROM programs" in statement:
            reads.append(statement)

    event.listen(sessions.kw["bind"], "before_cursor_execute", program_read)
    with sessions.begin() as session:
        for progress in (10, 20, 30):
            record_report(session, ctx, "A1", "msa", "in_progress", progress, None, [], at(date(2023, 6, 5)))
    assert len(reads) == 1
    with sessions.begin() as session:
        session.execute(update(Program).values(archived_at=at(date(2023, 6, 6))))
    with pytest.raises(ProgramArchived), sessions.begin() as session:
        record_report(session, ctx, "A1", "msa", "in_progress", 40, None, [], at(date(2023, 6, 7)))
    assert len(reads) == 2
