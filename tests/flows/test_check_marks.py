"""The check knows what it already decided (db.marks): a quiet re-run is cheap, and nothing written since the
last check, nor any day skipped, loses a notice."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import delete, event

from db import (
    CheckMark,
    approve_extension,
    get_engine,
    import_program,
    load_program,
    pass_claim,
    record_report,
    request_extension,
    submit_report,
)
from schedule import read_plan
from tests.support.factories import TASKS, write_plan
from tests.support.postgres import cluster_or_skip
from tests.support.programs import at, check, check_statements, notices, setup

E1 = ["E1", "督办", "逾期任务", "市场监管局", "", "2023年6月30日", "", ""]
E1_JULY = [*E1[:5], "2023年7月3日", *E1[6:]]
F1 = ["F1", "督办", "年中补充任务", "市公安局", "", "2023年6月30日", "", ""]
G1 = ["G1", "督办", "全年任务", "市场监管局", "", "2023年9月29日", "", ""]
MORE = [[f"M{n}", "协同保护", f"举措{n}", "市场监管局", "市公安局", f"2023年{6 + n % 2}月{10 + n}日", "", ""]
        for n in range(12)]


def _keys(wired, task_code: str, kind: str) -> set[str]:
    return {n.key for n in notices(wired, task_code=task_code, kind=kind)}


def test_a_reopened_task_is_chased_the_next_day(tmp_path):
    wired = setup(tmp_path, tasks=[E1])
    with wired.transaction() as session:
        record_report(session, load_program(session, "demo-city"), "E1", "msa", "done", 100, None, [],
                      at(date(2023, 6, 29), 15))
    for day in (date(2023, 6, 29), date(2023, 6, 30), date(2023, 7, 3)):
        check(wired, day)
    assert _keys(wired, "E1", "overdue") == set()
    with wired.transaction() as session:  # reopened after the check; its rung (催办 1) is the same tomorrow
        record_report(session, load_program(session, "demo-city"), "E1", "msa", "in_progress", 60, None, [],
                      at(date(2023, 7, 3), 15))
    check(wired, date(2023, 7, 4))
    assert [k.rsplit(":", 2)[1:] for k in _keys(wired, "E1", "overdue")] == [["2023-06-30", "1"]]


def test_a_due_date_moved_by_an_extension_is_reminded(tmp_path):
    wired = setup(tmp_path, tasks=[["E2", "督办", "延期任务", "市场监管局", "", "2023年11月30日", "", ""]])
    check(wired, date(2023, 11, 28))
    with wired.transaction() as session:  # moved to 12-08: its 10-workday reminder is due today and tomorrow
        ctx = load_program(session, "demo-city")
        request = request_extension(session, ctx, "E2", "msa", date(2023, 12, 8), "场地",
                                    at(date(2023, 11, 28), 9))
        approve_extension(session, ctx, request["id"], "王主任", at(date(2023, 11, 28), 10))
    check(wired, date(2023, 11, 29))
    assert {k.split(":", 4)[4] for k in _keys(wired, "E2", "before_due")} == {"2023-11-30:3", "2023-12-08:10"}


def test_a_task_imported_mid_day_is_claimed_on_the_rerun(tmp_path):
    wired = setup(tmp_path, tasks=[E1])
    check(wired, date(2023, 7, 4))
    with wired.transaction() as session:
        plan = write_plan(tmp_path, tasks=[E1, F1], name="plan-again")
        import_program(session, read_plan(plan).program, at(date(2023, 7, 4), 10))
    rerun = check(wired, date(2023, 7, 4), 15)
    assert rerun.claimed["assignment"] == 1 and rerun.claimed["overdue"] == 1
    assert _keys(wired, "F1", "overdue") and not check(wired, date(2023, 7, 4), 16).claimed


def _history(tmp_path, days: list[date], *, full_scan: bool) -> set[tuple[str, date]]:
    """(key, day claimed) of every notice of checks on `days`; `full_scan`: each check forgets its marks."""
    wired = setup(tmp_path, tasks=TASKS + MORE)
    for day in days:
        if full_scan:
            with wired.transaction() as session:
                session.execute(delete(CheckMark))
        check(wired, day)
    return {(n.key, n.at.date()) for n in notices(wired)}


def test_catch_up_after_three_days_without_a_check_claims_what_a_full_scan_claims(tmp_path):
    daily = [date(2023, 6, 1) + timedelta(days=n) for n in range(60)]
    gaps = daily[::4]  # three days without a check, then one
    claimed = {}
    for days in (daily, gaps):
        marked = claimed[len(days)] = _history(tmp_path / f"marked-{len(days)}", days, full_scan=False)
        assert marked == _history(tmp_path / f"full-{len(days)}", days, full_scan=True)
        assert {key.split(":")[0] for key, _day in marked} >= {
            "before_due", "overdue", "escalation", "ack_missing", "report_missing", "bulletin"}
    # A catch-up claims each item's rung of the day, as a daily check does: nothing more, nothing twice.
    assert {key for key, _day in claimed[len(gaps)]} <= {key for key, _day in claimed[len(daily)]}


@pytest.mark.parametrize("every", [1, 3, 5])
def test_across_the_spring_festival_and_its_make_up_sundays_marks_claim_what_a_full_scan_claims(
        tmp_path, every):
    """2024: the holiday 02-10..02-17, make-up workdays Sunday 02-04 and Sunday 02-18; checks every day or
    every few days, so some catch-ups start from a make-up day and some straddle the holiday."""
    days = [date(2024, 1, 29) + timedelta(days=n) for n in range(0, 35, every)]
    marked = _history(tmp_path / "marked", days, full_scan=False)
    assert marked == _history(tmp_path / "full", days, full_scan=True)
    assert {key.split(":")[0] for key, _day in marked} >= {"overdue", "escalation"}


def test_a_missed_day_checked_afterwards_claims_what_a_full_scan_claims(tmp_path):
    """A check run as of a past day (a missed morning re-run by hand) after later ones: its mark's day is
    before the last, and the next check compares its rungs with that day's."""
    days = [date(2023, 6, 5), date(2023, 6, 20), date(2023, 6, 12), date(2023, 6, 21), date(2023, 7, 3),
            date(2023, 6, 28), date(2023, 7, 4)]
    marked = _history(tmp_path / "marked", days, full_scan=False)
    assert marked == _history(tmp_path / "full", days, full_scan=True)


def test_a_quiet_rerun_reads_the_same_few_statements_whatever_the_size(tmp_path):
    counted = []
    for tasks in (TASKS, TASKS + MORE):
        wired = setup(tmp_path / str(len(tasks)), tasks=tasks)
        assert check(wired, date(2023, 7, 4)).claimed["overdue"]
        statements, quiet = check_statements(wired, date(2023, 7, 4), 15)
        assert not quiet.claimed
        # No due date visited, no 交办 moment, no anti-join: only the marks and the notices not on a ladder.
        assert not any("DISTINCT" in s or "rungs" in s for s in statements)
        counted.append(len(statements))
    assert counted[0] == counted[1] <= 20


def test_a_progress_report_and_a_claim_waiting_for_review_leave_the_marks_holding(tmp_path):
    """Neither brings a notice: the next check visits only the rungs that moved (it reads no extension
    request, no claim decision, no 交办); the claim's decision does, and is told at the next check."""
    wired = setup(tmp_path, tasks=[G1])
    check(wired, date(2023, 7, 3))
    _report("in_progress", date(2023, 7, 3), 15, "G1")(wired, tmp_path)
    with wired.transaction() as session:
        claimed = submit_report(session, load_program(session, "demo-city"), "G1", "msa", "done", 100, None,
                                ["验收.pdf"], at(date(2023, 7, 4), 15), "test")
    assert claimed["review"] == "pending"
    for day in (date(2023, 7, 4), date(2023, 7, 5)):
        statements, _ = check_statements(wired, day)
        assert not any("extension_requests" in s or "done_claims" in s for s in statements), day
    with wired.transaction() as session:
        pass_claim(session, load_program(session, "demo-city"), claimed["claim"], "王主任",
                   at(date(2023, 7, 5), 16))
    statements, passed = check_statements(wired, date(2023, 7, 6))
    assert passed.claimed["claim_passed"] == 1 and any("done_claims" in s for s in statements)


def _report(status: str, day: date, hour: int, code: str = "E1"):
    """msa reports `code` `status` as of `hour` on `day` (after that day's check, or as of an earlier day)."""
    def write(wired, _tmp_path) -> None:
        with wired.transaction() as session:
            record_report(session, load_program(session, "demo-city"), code, "msa", status,
                          100 if status == "done" else 60, None, [], at(day, hour))
    return write


def _import(wired, tmp_path, day: date, tasks=(E1, F1)) -> None:
    """The plan imported again with `tasks` (E1 and a new F1 unless told), at 10:00 on `day`."""
    with wired.transaction() as session:
        plan = write_plan(tmp_path, tasks=list(tasks), name=f"plan-{day}")
        import_program(session, read_plan(plan).program, at(day, 10))


def _keys_of(tmp_path, days: list[tuple[date, int]], writes: dict, *, full_scan: bool) -> set[str]:
    """The keys claimed by checks at (day, hour), `writes[(day, hour)](wired, tmp_path)` done just after that
    check; `full_scan`: each check forgets its marks."""
    wired = setup(tmp_path, tasks=[E1, G1])
    for day, hour in days:
        if full_scan:
            with wired.transaction() as session:
                session.execute(delete(CheckMark))
        check(wired, day, hour)
        writes.get((day, hour), lambda *_: None)(wired, tmp_path)
    return {n.key for n in notices(wired)}


DAYS = [date(2023, 6, 29) + timedelta(days=n) for n in range(16)]
DONE, REOPENED = date(2023, 6, 29), date(2023, 7, 3)  # E1 (due 06-30) reopened on the rung of 催办 1


@pytest.mark.parametrize(("name", "days", "writes"), [
    # Done before its due date, reopened after a check: its 催办 1 is claimed the next day, not at 催办 2.
    ("reopened", [(d, 8) for d in DAYS],
     {(DONE, 8): _report("done", DONE, 15), (REOPENED, 8): _report("in_progress", REOPENED, 15)}),
    # The same when the checks run only in the afternoon, every other day (the next on 催办 1 still).
    ("afternoon", [(d, 16) for d in DAYS[::2]],
     {(DONE, 16): _report("done", DONE, 17), (REOPENED, 16): _report("in_progress", REOPENED, 17)}),
    # A task imported in the evening after the day's check (and one re-run at night, local time).
    ("imported", [(DAYS[4], 8), (DAYS[4], 23), (DAYS[5], 0), (DAYS[6], 8), (DAYS[9], 8)],
     {(DAYS[4], 8): lambda wired, tmp_path: _import(wired, tmp_path, DAYS[4])}),
    # E1 re-dated by a re-import (set-based statements) to 07-03, after the check of 07-05: on 07-06 its
    # 催办 1 is due, on the same rung as the day before.
    ("redated", [(d, 8) for d in DAYS],
     {(date(2023, 7, 5), 8): lambda wired, tmp_path: _import(wired, tmp_path, date(2023, 7, 5),
                                                                [E1_JULY, G1])}),
    # A paper report on G1 entered after the check of 07-03 as of 05-25, an uncounted write: the progress
    # report it owes (20 workdays since 05-25) is on the same slot as on 07-03, and due at the next check.
    ("dated back", [(d, 8) for d in DAYS],
     {(REOPENED, 8): _report("in_progress", date(2023, 5, 25), 15, "G1")}),
])
def test_a_check_with_marks_claims_what_a_full_scan_claims(tmp_path, name, days, writes):
    marked = _keys_of(tmp_path / "marked", days, writes, full_scan=False)
    assert marked == _keys_of(tmp_path / "full", days, writes, full_scan=True)
    due = "2023-07-03" if name == "redated" else "2023-06-30"
    assert any(key.startswith("overdue:") and key.endswith(f":{due}:1") for key in marked), name
    assert (name == "dated back") == any(key.startswith("report_missing:") and ":2023-05-25:" in key
                                         for key in marked)


@pytest.fixture(scope="module")
def postgres():
    with cluster_or_skip() as cluster:
        yield cluster


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_write_committed_while_a_check_reads_its_candidates_is_claimed_by_the_next_check(
        tmp_path, request, backend):
    """Another process commits a new task between the check reading its mark and reading its candidates; the
    task's first 催办 is on the same rung as yesterday, so that check, visiting only the rungs that moved, has
    not claimed it: its mark keeps the count read before the write, and the next check scans in full."""
    url = None
    if backend == "postgresql":
        cluster = request.getfixturevalue("postgres")
        cluster.create_database("marks")
        url = cluster.url("marks")
    wired = setup(tmp_path, tasks=[E1], database_url=url)
    check(wired, date(2023, 7, 3))
    engine, done = get_engine(wired.settings.db_url), []

    def concurrent(_connection, _cursor, statement, *_args):
        if "check_marks" in statement and not done:  # the first step's mark (implementation, F1's phase)
            done.append(statement)
            _import(wired, tmp_path, date(2023, 7, 4))

    event.listen(engine, "after_cursor_execute", concurrent)
    try:
        check(wired, date(2023, 7, 4))
    finally:
        event.remove(engine, "after_cursor_execute", concurrent)
    assert done
    assert not _keys(wired, "F1", "overdue")
    check(wired, date(2023, 7, 4), 15)
    assert [k.rsplit(":", 2)[1:] for k in _keys(wired, "F1", "overdue")] == [["2023-06-30", "1"]]
