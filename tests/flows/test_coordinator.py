"""The coordinator (the leading-group office) is chased for its own tasks like any unit, but never escalated
to itself, never scored and never on its own 约谈 list."""

from __future__ import annotations

from datetime import date

from db import load_program, unit_scores
from tests.support.programs import check, notices, setup


def test_the_coordinators_own_overdue_task_is_chased_never_escalated_to_itself(tmp_path):
    wired = setup(tmp_path)  # D1 印发实施方案 is led by the office, due 2023-04-30
    for day in (date(2023, 3, 1), date(2023, 5, 4), date(2023, 5, 25), date(2023, 7, 20)):
        check(wired, day)
    d1 = [(n.kind, n.audience) for n in notices(wired, task_code="D1")]
    assert ("overdue", "unit") in d1
    assert not [kind for kind, _ in d1 if kind == "escalation"]  # neither its leader nor a copy to itself
    assert [n for n in notices(wired, kind="escalation")]  # others' overdue tasks are escalated as before
    with wired.transaction() as session:
        scores = unit_scores(session, load_program(session, "demo-city"), None, date(2023, 7, 20))
    assert "office" not in {s["unit"] for s in scores}
