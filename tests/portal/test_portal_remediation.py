"""A unit's 整改事项 in the portal (补差提升): it sees its own items on its page, reports progress with the
原因分析 and 整改措施, and closes an item itself with them (and with evidence where the finding was missing
evidence); another unit's item is a 404, a refused close records nothing, and a double submit records once.
The items come from the returned self-check forms (msa: R-1 partly done A2, R-2 B1 without evidence; police:
R-3 C1 not done), derived when 补差提升 opens on 2024-08-01."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from db import Event, RemediationItem, Unit, derive_items, issue_link, list_items
from duban import create_app
from flows import Settings, Wiring
from tests.support.browser import chromium
from tests.support.portal import PDF, Clock, PortalServer, field_value
from tests.support.programs import ZONE, at, ctx_of, with_findings


@pytest.fixture
def items(tmp_path):
    """The program with its items derived, the app on it at 2024-08-05 10:00, and each unit's link path."""
    sessions, _url = with_findings(tmp_path)
    paths = {}
    with sessions.begin() as session:
        ctx = ctx_of(session)
        derive_items(session, ctx, date(2024, 8, 1), at(date(2024, 8, 1)))
        for code in ("msa", "police"):
            unit_id = session.scalar(select(Unit.id).where(Unit.program_id == ctx.id, Unit.code == code))
            paths[code] = "/u/" + issue_link(session, ctx, unit_id, at(date(2024, 8, 1)))
    wired = Wiring(Settings(home=tmp_path, notifier="outbox"))
    clock = Clock(datetime(2024, 8, 5, 10, 0, tzinfo=ZONE))
    return wired, TestClient(create_app(wired, clock), base_url="http://127.0.0.1"), paths


def send(client, path, code, *, action="report", files=(), form_id=None, csrf=None, **fields):
    """Posts the item's form as the unit's browser would, from the item's page (or with the form's ids)."""
    html = "" if form_id and csrf else client.get(f"{path}/r/{code}").text
    data = {"csrf": csrf or field_value(html, "csrf"), "action": action,
            "form_id": form_id or field_value(html, "form_id", f"/r/{code}/report"), **fields}
    return client.post(f"{path}/r/{code}/report", data=data, files=[("files", f) for f in files],
                       follow_redirects=False)


def item(wired, code) -> dict:
    with wired.transaction() as session:
        return next(i for i in list_items(session, ctx_of(session), date(2024, 8, 5)) if i["code"] == code)


def recorded(wired) -> int:
    with wired.transaction() as session:
        return session.scalar(select(func.count()).select_from(Event).where(Event.subject.like("item:%")))


def test_the_unit_page_lists_its_own_items_only(items):
    _wired, client, paths = items
    html = client.get(paths["msa"]).text
    assert "整改事项（2）" in html and 'id="item-R-1"' in html and 'id="item-R-2"' in html
    assert 'id="item-R-3"' not in html
    assert client.get(f"{paths['msa']}/r/R-3").status_code == 404  # police's item, like an unknown one
    assert client.get(f"{paths['msa']}/r/R-9").status_code == 404


def test_a_progress_report_keeps_the_cause_and_measure_and_leaves_the_item_open(items):
    wired, client, paths = items
    response = send(client, paths["msa"], "R-1", progress="40", note="已召开协调会",
                    cause="协作机制未明确牵头人", measure="明确专人，建立月度会商")
    assert response.status_code == 303 and response.headers["location"].endswith("done=saved")
    now = item(wired, "R-1")
    assert now["state"] == "open" and now["cause"] == "协作机制未明确牵头人"
    assert now["measure"] == "明确专人，建立月度会商"
    page = client.get(f"{paths['msa']}/r/R-1").text
    assert "已召开协调会" in page and "40%" in page


@pytest.mark.parametrize("fields,message", [
    ({"cause": "", "measure": ""}, "须写明原因分析和整改措施"),
    ({"cause": "人员调整", "measure": ""}, "须写明原因分析和整改措施"),
    ({"cause": "", "measure": "补齐材料"}, "须写明原因分析和整改措施"),
])
def test_closing_without_cause_or_measure_is_refused_and_records_nothing(items, fields, message):
    wired, client, paths = items
    before = recorded(wired)
    response = send(client, paths["msa"], "R-1", action="close", **fields)
    assert response.status_code == 400 and message in response.text
    assert recorded(wired) == before and item(wired, "R-1")["state"] == "open"


def test_closing_an_item_found_without_evidence_needs_the_evidence(items):
    wired, client, paths = items
    reasons = {"cause": "材料未归档", "measure": "补充归档"}
    refused = send(client, paths["msa"], "R-2", action="close", **reasons)
    assert refused.status_code == 400 and "须附佐证材料" in refused.text
    assert not (wired.settings.home / "evidence").exists()
    evidence = [("归档清单.pdf", PDF, "application/pdf")]
    closed = send(client, paths["msa"], "R-2", action="close", files=evidence, **reasons)
    assert closed.status_code == 303
    now = item(wired, "R-2")
    assert now["state"] == "closed" and now["closed_on"] == "2024-08-05" and now["closed_by"] == "unit:msa"
    assert now["evidence"][0].endswith("归档清单.pdf") and "/evidence/sha256/" in now["evidence"][0]
    assert (now["cause"], now["measure"]) == ("材料未归档", "补充归档")


def test_a_cause_given_earlier_counts_when_closing_and_the_package_sees_no_gap(items):
    wired, client, paths = items
    send(client, paths["msa"], "R-1", progress="50", cause="牵头不明", measure="明确牵头")
    assert send(client, paths["msa"], "R-1", action="close", note="已落地").status_code == 303
    assert item(wired, "R-1")["state"] == "closed"
    page = client.get(f"{paths['msa']}/r/R-1").text
    assert "已整改办结" in page and 'action="/u/' not in page.split("<h2>")[1]  # no form any more
    with wired.transaction() as session:
        row = session.scalar(select(RemediationItem).where(RemediationItem.code == "R-1"))
        assert (row.cause, row.measure) == ("牵头不明", "明确牵头")


def test_a_double_submit_records_once_and_a_closed_item_takes_no_report(items):
    wired, client, paths = items
    html = client.get(f"{paths['police']}/r/R-3").text
    form_id, csrf = field_value(html, "form_id", "/r/R-3/report"), field_value(html, "csrf")
    fields = {"cause": "培训经费未到位", "measure": "追加经费，九月完成培训", "csrf": csrf}
    first = send(client, paths["police"], "R-3", action="close", form_id=form_id, **fields)
    second = send(client, paths["police"], "R-3", action="close", form_id=form_id, **fields)
    assert first.status_code == second.status_code == 303
    assert second.headers["location"].endswith("done=already") and recorded(wired) == 1
    again = send(client, paths["police"], "R-3", form_id="fresh-form", csrf=csrf, progress="10")
    assert again.status_code == 400 and "已办结" in again.text


def test_hostile_text_is_cleaned_where_it_enters_and_escaped_where_it_leaves(items):
    wired, client, paths = items
    send(client, paths["msa"], "R-1", cause="=HYPERLINK(\"x\")\x07", measure="<script>alert(1)</script>")
    now = item(wired, "R-1")
    assert "\x07" not in now["cause"]
    page = client.get(f"{paths['msa']}/r/R-1").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_a_unit_closes_its_item_in_chromium(items, screenshots):
    """Under a real uvicorn, in Debian's chromium: the unit finds its item on its page, is refused a close
    without the cause, then closes it with cause, measure and the missing evidence."""
    wired, _client, paths = items
    clock = Clock(datetime(2024, 8, 5, 10, 0, tzinfo=ZONE))
    with PortalServer(wired, clock) as server, chromium() as browser:
        unit = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
        unit.goto(server.url + paths["msa"])
        unit.locator("#item-R-2 a.open").click()
        unit.fill("textarea[name=measure]", "补充归档")
        unit.locator("button.claim").click()
        assert "须写明原因分析和整改措施" in unit.locator("main").inner_text()
        unit.goto(server.url + paths["msa"] + "/r/R-2")
        unit.fill("textarea[name=cause]", "材料未归档")
        unit.fill("textarea[name=measure]", "补充归档")
        unit.set_input_files("input[name=files]", {"name": "归档清单.pdf", "mimeType": "application/pdf",
                                                   "buffer": PDF})
        unit.locator("button.claim").click()
        unit.wait_for_url("**/r/R-2?done=saved")
        assert "已整改办结" in unit.locator("dd.item-closed").inner_text()
        unit.screenshot(path=str(screenshots / "remediation-item.png"), full_page=True)
    assert item(wired, "R-2")["state"] == "closed" and item(wired, "R-2")["cause"] == "材料未归档"
