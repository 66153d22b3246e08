"""The whole loop against the portal under a real uvicorn on a loopback port: over HTTP, and in Debian's
chromium driven by Playwright (never a downloaded browser). The browser walk takes the screenshots the
README shows (into docs/screenshots/ under `make screenshots`, a temporary folder otherwise)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from duban import app as cli
from flows import wiring
from tests.support.browser import chromium
from tests.support.portal import (
    PDF,
    Clock,
    PortalServer,
    assigned_program,
    field_value,
    link_of,
    moment,
    outbox,
    runner,
    task_of,
)


def add_coordinator(password: str = "correct horse") -> None:
    result = runner.invoke(cli, ["portal", "user", "add", "demo-city", "lead", "--role", "coordinator",
                                 "--password-stdin"], input=password + "\n")
    assert result.exit_code == 0, result.output


@pytest.fixture
def live(tmp_path, home):
    clock = Clock()
    server = PortalServer(wiring(), clock)
    wired = assigned_program(tmp_path, portal_url=server.url)
    add_coordinator()
    with server:
        yield wired, clock, server


def test_the_loop_over_http_against_uvicorn(live):
    wired, clock, server = live
    link = link_of(wired, "msa")
    assert link.startswith(server.url + "/u/")
    with (
        httpx.Client(follow_redirects=False, timeout=30) as unit,
        httpx.Client(base_url=server.url, timeout=30) as office,
    ):
        page = unit.get(link).text
        csrf = field_value(page, "csrf")
        ack = unit.post(
            f"{link}/t/A1/ack", data={"csrf": csrf, "form_id": field_value(page, "form_id", "/t/A1/ack")}
        )
        assert ack.status_code == 303

        def submit(action, progress, files=()):
            html = unit.get(f"{link}/t/A1").text
            return unit.post(f"{link}/t/A1/report", data={
                "csrf": csrf, "form_id": field_value(html, "form_id", "/t/A1/report"), "progress": progress,
                "note": "联动机制协议已起草", "action": action, "status": "in_progress"},
                files=[("files", f) for f in files])

        assert submit("report", "60", [("合作协议（草案）.pdf", PDF, "application/pdf")]).status_code == 303
        assert task_of("A1", "2023-03-02")["progress"] == 60
        assert (
            submit("claim", "100", [("合作协议.pdf", PDF + b"signed", "application/pdf")]).status_code == 303
        )

        login = office.get("/login").text
        assert (
            office.post(
                "/login",
                data={
                    "csrf": field_value(login, "csrf"),
                    "program": "demo-city",
                    "name": "lead",
                    "password": "correct horse",
                },
            ).headers["location"]
            == "/review"
        )
        queue = office.get("/review").text
        claim = queue.split("/review/claims/")[1].split("/")[0]
        clock.now = moment("2023-03-03T09:00")
        office.post(
            f"/review/claims/{claim}/return",
            data={"csrf": field_value(queue, "csrf"), "reason": "请附盖章页"},
        )
        assert "请附盖章页" in unit.get(f"{link}/t/A1").text
        assert task_of("A1", "2023-03-03")["status"] == "in_progress"

        clock.now = moment("2023-03-06T10:00")
        assert submit("claim", "100").status_code == 303
        clock.now = moment("2023-03-08T09:00")
        queue = office.get("/review").text
        claim = queue.split("/review/claims/")[1].split("/")[0]
        office.post(f"/review/claims/{claim}/pass", data={"csrf": field_value(queue, "csrf")})
    done = task_of("A1", "2023-03-09")
    assert done["status"] == "done" and done["done_on"] == "2023-03-06"


def _acknowledge_report_and_claim(unit, link: str, evidence: Path) -> None:
    """On the unit's page: 签收 A1, report 60% with a screenshot, then claim it done with the agreement."""
    unit.goto(link)
    unit.locator("#task-A1 button[name=ack]").click()
    assert "已签收 2023-03-02" in unit.locator("#task-A1").inner_text()
    unit.locator("#task-A1 a.open").click()
    unit.fill("input[name=progress]", "60")
    unit.fill("textarea[name=note]", "联动机制协议已起草，报送平台截图")
    unit.set_input_files("input[name=files]", str(evidence))
    unit.locator("button[value=report]").click()
    assert "60%" in unit.locator("dl.facts").inner_text()
    unit.fill("input[name=progress]", "100")
    unit.set_input_files("input[name=files]",
                         {"name": "合作协议.pdf", "mimeType": "application/pdf", "buffer": PDF})
    unit.locator("button.claim").click()
    assert "已申请办结，等待审核" in unit.content()


def _signed_in_office(browser, url: str):
    """The coordinator's page, signed in and on the review queue."""
    office = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800}).new_page()
    office.goto(url + "/login")
    office.fill("input[name=program]", "demo-city")
    office.fill("input[name=name]", "lead")
    office.fill("input[name=password]", "correct horse")
    office.locator("form.login button").click()
    office.wait_for_url("**/review")
    return office


def test_the_whole_loop_in_chromium(live, screenshots):
    wired, clock, server = live
    message = next(m for m in outbox(wired) if m["unit"] == "msa" and "assignment" in m["kinds"])
    link = next(
        line.split("：", 1)[1] for line in message["text"].splitlines() if "/u/" in line and "：" in line
    )
    evidence = wired.settings.home.parent / "平台截图.png"
    evidence.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    with chromium() as browser:
        unit = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
        _acknowledge_report_and_claim(unit, link, evidence)
        office = _signed_in_office(browser, server.url)
        assert "合作协议.pdf" in office.content()
        office.screenshot(path=str(screenshots / "review-queue.png"), full_page=True)
        clock.now = moment("2023-03-03T09:00")
        office.fill("tr[id^=claim-] input[name=reason]", "协议缺少盖章页，请补充后重新申请")
        office.locator("tr[id^=claim-] button.return").click()

        clock.now = moment("2023-03-06T10:00")
        unit.goto(link)
        assert "协议缺少盖章页" in unit.locator("#task-A1").inner_text()
        unit.screenshot(path=str(screenshots / "unit-page.png"), full_page=True)
        unit.locator("#task-A1 a.open").click()
        assert "协议缺少盖章页" in unit.locator("p.returned").inner_text()
        unit.set_input_files(
            "input[name=files]",
            {"name": "合作协议（盖章）.pdf", "mimeType": "application/pdf", "buffer": PDF + b"stamped"},
        )
        unit.locator("button.claim").click()

        clock.now = moment("2023-03-08T09:00")
        office.goto(server.url + "/review")
        office.locator("tr[id^=claim-] button.pass").click()
        office.wait_for_url("**/review?done=1")
        assert "审核通过" not in office.locator("main").inner_text().split("待审批的延期申请")[0]
    done = task_of("A1", "2023-03-09")
    assert done["status"] == "done" and done["done_on"] == "2023-03-06"
    assert (screenshots / "unit-page.png").stat().st_size > 10_000
