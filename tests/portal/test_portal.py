"""The portal route by route, and every refusal, against the ASGI app (the main loop runs under a real uvicorn
in test_portal_live.py). The clock is the test's: the 交办 went out on 2023-03-01, the units act on
2023-03-02."""

from __future__ import annotations

import logging
import re
import shutil
import sqlite3
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from db import (
    AssignmentAck,
    CoordinatorDecision,
    DoneClaim,
    Event,
    ExtensionRequest,
    ProgressReport,
    UnitLink,
    load_program,
    record_failure,
    task_rows,
)
from duban import app as cli
from duban import create_app
from flows import run_check, wiring
from notifications import DigestItem, form_bytes, render_digest, unit_task_workbook
from schedule import MAX_EVIDENCE_BYTES
from tests.support.portal import (
    PDF,
    Clock,
    assigned_home,
    assigned_program,
    cli_json,
    field_value,
    link_of,
    moment,
    outbox,
    path_of,
    runner,
    task_of,
)
from tests.support.programs import fill


@pytest.fixture(scope="module")
def assigned(tmp_path_factory):
    return assigned_home(tmp_path_factory.mktemp("assigned"))


@pytest.fixture
def portal(home, assigned):
    """The factory plan with its 交办 sent: a copy of the module's home, the app on it and its clock."""
    shutil.copytree(assigned, home)
    wired = wiring()
    clock = Clock()
    client = TestClient(create_app(wired, clock), base_url="http://127.0.0.1")
    return wired, clock, client


def counts(wired) -> dict:
    with wired.transaction() as session:
        return {
            model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in (
                ProgressReport,
                AssignmentAck,
                DoneClaim,
                Event,
                ExtensionRequest,
                CoordinatorDecision,
            )
        }


def page(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.text
    return response.text


def report(
    client, path, code, *, progress="60", action="report", files=(), csrf=None, form_id=None, note="进展"
):
    html = page(client, f"{path}/t/{code}")
    data = {"csrf": csrf if csrf is not None else field_value(html, "csrf"),
            "form_id": form_id or field_value(html, "form_id", f"/t/{code}/report"),
            "progress": progress, "note": note, "action": action, "status": "in_progress"}
    if csrf == "":
        del data["csrf"]
    return client.post(f"{path}/t/{code}/report", data=data, files=[("files", f) for f in files],
                       follow_redirects=False)


def add_user(name="lead", password="correct horse"):
    result = runner.invoke(cli, ["portal", "user", "add", "demo-city", name, "--role", "coordinator",
                                 "--password-stdin"], input=password + "\n")
    assert result.exit_code == 0, result.output


def sign_in(client, wired, name="lead", password="correct horse", add=True):
    if add:
        add_user(name, password)
    csrf = field_value(page(client, "/login"), "csrf")
    return client.post(
        "/login",
        data={"csrf": csrf, "program": "demo-city", "name": name, "password": password},
        follow_redirects=False,
    )


# ---------------------------------------------------------------- links


def test_every_digest_to_a_unit_carries_its_own_link_in_text_markdown_and_html(tmp_path, home):

    wired = assigned_program(tmp_path)
    messages = outbox(wired)
    assert messages and all("/u/" in m["text"] for m in messages)
    assert len({link_of(wired, unit) for unit in ("msa", "court", "police")}) == 3
    rendered = render_digest(
        language="zh-CN",
        program_name="P",
        recipient_name="U",
        audience="unit",
        today=moment("2023-03-01T08:30").date(),
        items=[DigestItem("before_due", "T", "A1")],
        link="http://portal.example/u/abc",
    )
    for part in (rendered.text, rendered.markdown, rendered.html):
        assert "http://portal.example/u/abc" in part
    assert 'href="http://portal.example/u/abc"' in rendered.html


def test_no_message_to_a_unit_mentions_a_command_line(tmp_path, home):
    wired = assigned_program(tmp_path)
    for message in outbox(wired):
        words = re.sub(r"https?://\S+", "", message["text"])  # a link's random token may hold "--x"
        assert not re.search(r"duban [a-z]|--[a-z]", words), message["text"]


def test_the_token_is_stored_only_as_its_hash_and_never_logged(portal, caplog):
    wired, _clock, client = portal
    link = link_of(wired, "msa")
    token = link.rsplit("/", 1)[1]
    with caplog.at_level(logging.DEBUG):
        page(client, path_of(link))
        client.get("/u/not-a-token")
    server_side = "\n".join(
        r.getMessage() for r in caplog.records if r.name != "httpx"
    )  # httpx: the test's client
    assert token not in server_side and "/u/***" in server_side
    connection = sqlite3.connect(wired.settings.db_url.removeprefix("sqlite:///"))
    assert not any(token in line for line in connection.iterdump())
    with wired.transaction() as session:
        assert session.scalar(select(func.count()).select_from(UnitLink)) >= 5


@pytest.mark.parametrize("case", ["unknown", "expired", "revoked"])
def test_a_bad_expired_or_revoked_link_is_a_404(portal, case):
    wired, clock, client = portal
    path = path_of(link_of(wired, "msa"))
    if case == "unknown":
        path = path[:-4] + "AAAA"
    elif case == "expired":
        clock.now = clock.now + timedelta(days=61)
    else:
        assert runner.invoke(cli, ["portal", "revoke", "demo-city", "msa"]).exit_code == 0
    response = client.get(path)
    assert response.status_code == 404 and "链接已失效" in response.text
    if case != "expired":
        assert client.get(path_of(link_of(wired, "court"))).status_code == 200  # the others still work


def test_a_later_digest_brings_a_new_link_that_outlives_the_first(tmp_path, home):

    wired = assigned_program(tmp_path)
    first = link_of(wired, "msa")
    run_check(wired.sessions, "demo-city", moment("2023-04-20T08:30"), wired.notifier(outbox_only=True))
    second = link_of(wired, "msa")
    assert second != first
    client = TestClient(create_app(wired, Clock(moment("2023-05-10T10:00"))))
    assert client.get(path_of(first)).status_code == 404  # 60 days after 2023-03-01
    assert client.get(path_of(second)).status_code == 200


def test_repeated_bad_tokens_from_one_address_are_slowed_then_refused(portal):
    wired, clock, client = portal
    with wired.transaction() as session:
        for _ in range(6):
            record_failure(session, "testclient", clock.now)
    started = clock.now
    import time

    begun = time.monotonic()
    assert client.get("/u/guess-1").status_code == 404
    assert time.monotonic() - begun >= 0.4  # held back
    with wired.transaction() as session:
        for _ in range(20):
            record_failure(session, "testclient", started)
    response = client.get(path_of(link_of(wired, "msa")))
    assert response.status_code == 429 and response.headers["Retry-After"]


# ---------------------------------------------------------------- reading changes nothing


def test_get_changes_nothing(portal):
    wired, _clock, client = portal
    path = path_of(link_of(wired, "msa"))
    before = counts(wired)
    for url in (
        path,
        f"{path}/t/A1",
        f"{path}/history",
        f"{path}/t/A1/ack",
        "/login",
        "/review",
        "/overview",
    ):
        assert client.get(url).status_code in (200, 303, 404, 405)
    assert counts(wired) == before


def test_the_unit_page_shows_lead_and_co_tasks_apart_with_lights_limits_and_deliverables(portal):
    wired, _clock, client = portal
    html = page(client, path_of(link_of(wired, "msa")))
    lead, co = html.split("配合任务")
    assert "A1" in lead and "A2" in lead and "B1" in co
    assert "合作协议" in lead and "2023年6月底前" in lead and "light-green" in lead
    # The office's task: neither its link nor its title (a bare "D1" may occur in a random token of the page).
    assert "/t/D1" not in html and "印发实施方案" not in html


def test_another_units_task_is_a_404_for_reading_and_writing(portal):
    wired, _clock, client = portal
    path = path_of(link_of(wired, "court"))
    assert client.get(f"{path}/t/D1").status_code == 404
    csrf = field_value(page(client, path), "csrf")
    before = counts(wired)
    for action in ("ack", "report", "extension"):
        response = client.post(
            f"{path}/t/D1/{action}",
            data={
                "csrf": csrf,
                "form_id": f"x-{action}",
                "progress": "10",
                "to": "2023-05-10",
                "reason": "r",
            },
        )
        assert response.status_code == 404, action
    assert counts(wired) == before


# ---------------------------------------------------------------- 签收


def test_ack_records_once_and_the_unacknowledged_are_chased_as_their_own_kind(portal):

    wired, _clock, client = portal
    path = path_of(link_of(wired, "msa"))
    html = page(client, path)
    response = client.post(f"{path}/t/A1/ack", data={"csrf": field_value(html, "csrf"),
                                                     "form_id": field_value(html, "form_id", "/t/A1/ack")},
                           follow_redirects=False)
    assert response.status_code == 303
    assert "已签收 2023-03-02" in page(client, path)
    run_check(wired.sessions, "demo-city", moment("2023-03-06T08:30"), wired.notifier(outbox_only=True))
    entries = cli_json("outbox", "demo-city")
    chased = {(e["unit"], code) for e in entries if e["kind"] == "ack_missing" for code in e["tasks"]}
    assert ("msa", "A2") in chased and ("msa", "A1") not in chased and ("court", "A1") in chased
    run_check(wired.sessions, "demo-city", moment("2023-03-06T09:30"), wired.notifier(outbox_only=True))
    again = [e for e in cli_json("outbox", "demo-city") if e["kind"] == "ack_missing"]
    assert len(again) == len([e for e in entries if e["kind"] == "ack_missing"])  # once per slot


# ---------------------------------------------------------------- 反馈 and its refusals


def test_missing_or_wrong_csrf_is_refused_and_records_nothing(portal):
    wired, _clock, client = portal
    path = path_of(link_of(wired, "msa"))
    before = counts(wired)
    assert report(client, path, "A1", csrf="").status_code == 403
    assert report(client, path, "A1", csrf="forged").status_code == 403
    assert counts(wired) == before


@pytest.mark.parametrize("name,content,status", [
    ("setup.exe", b"MZ\x90\x00", 415),
    ("协议.pdf", b"MZ\x90\x00 not a pdf", 415),
    ("big.pdf", b"%PDF" + b"0" * MAX_EVIDENCE_BYTES, 413),
])
def test_a_wrongly_typed_or_oversized_upload_is_refused(portal, name, content, status):
    wired, _clock, client = portal
    before = counts(wired)
    response = report(
        client, path_of(link_of(wired, "msa")), "A1", files=[(name, content, "application/pdf")]
    )
    assert response.status_code == status
    assert counts(wired) == before
    assert not (wired.settings.home / "evidence").exists()


def test_a_report_with_evidence_stores_it_by_content_hash_under_a_safe_name(portal):
    wired, _clock, client = portal
    path = path_of(link_of(wired, "msa"))
    response = report(client, path, "A1", files=[("../../etc/合作<协议>.pdf", PDF, "application/pdf")],
                      note="<script>alert(1)</script>")
    assert response.status_code == 303
    with wired.transaction() as session:
        stored = session.scalars(select(ProgressReport.evidence)).one()
    assert len(stored) == 1 and "/evidence/sha256/" in stored[0] and stored[0].endswith("合作_协议_.pdf")
    html = page(client, f"{path}/t/A1")
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert cli_json("tasks", "demo-city", "--unit", "msa", "--as-of", "2023-03-02")[0]["progress"] == 60


def test_a_double_submit_records_one_report(portal):
    wired, _clock, client = portal
    path = path_of(link_of(wired, "msa"))
    html = page(client, f"{path}/t/A1")
    form_id = field_value(html, "form_id", "/t/A1/report")
    first = report(client, path, "A1", form_id=form_id)
    second = report(client, path, "A1", form_id=form_id)
    assert first.status_code == second.status_code == 303 and second.headers["location"].endswith(
        "done=already"
    )
    assert counts(wired)["ProgressReport"] == 1


def test_a_co_unit_reports_its_part_but_cannot_claim_done(portal):
    wired, _clock, client = portal
    path = path_of(link_of(wired, "court"))
    before = counts(wired)
    response = report(client, path, "A1", action="claim", files=[("合作协议.pdf", PDF, "application/pdf")])
    assert response.status_code == 400 and "只有牵头单位可以申请办结" in response.text
    assert counts(wired) == before
    assert report(client, path, "A1", progress="40").status_code == 303
    task = cli_json("tasks", "demo-city", "--as-of", "2023-03-02")[1]
    assert task["code"] == "A1" and task["progress"] == 0  # the part is recorded, the task stays the lead's


def test_a_claim_without_evidence_is_refused_when_the_task_names_a_deliverable(portal):
    wired, _clock, client = portal
    before = counts(wired)
    response = report(client, path_of(link_of(wired, "msa")), "A1", action="claim")
    assert response.status_code == 400 and "须附佐证材料" in response.text and "合作协议" in response.text
    assert counts(wired) == before


def test_an_extension_request_from_the_page_is_the_same_request_as_the_command_lines(portal):
    wired, _clock, client = portal
    path = path_of(link_of(wired, "msa"))
    html = page(client, f"{path}/t/A1")
    response = client.post(f"{path}/t/A1/extension", data={
        "csrf": field_value(html, "csrf"), "form_id": field_value(html, "form_id", "/t/A1/extension"),
        "to": "2023-08-31", "reason": "需与法院会签"}, follow_redirects=False)
    assert response.status_code == 303
    requests = cli_json("extension", "list", "demo-city")
    assert requests[0]["to"] == "2023-08-31" and requests[0]["state"] == "pending"
    assert "需与法院会签" in page(client, f"{path}/history")


# ---------------------------------------------------------------- the coordinator


def test_review_pages_need_a_signed_in_coordinator(portal):
    wired, _clock, client = portal
    for url in ("/review", "/overview"):
        assert client.get(url, follow_redirects=False).headers["location"] == "/login"
    response = client.post("/review/claims/1/pass", data={}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert sign_in(client, wired, password="correct horse").status_code == 303
    client.cookies.clear()
    assert sign_in(client, wired, password="wrong horse!", add=False).status_code == 401


def test_a_login_without_csrf_is_refused(portal):
    wired, _clock, client = portal
    response = client.post("/login", data={"program": "demo-city", "name": "x", "password": "y"})
    assert response.status_code == 403


def test_the_session_cookie_is_signed_httponly_and_samesite(portal):
    wired, _clock, client = portal
    response = sign_in(client, wired)
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    name, value = cookie.split(";")[0].split("=", 1)
    client.cookies.set(name, value[:-3] + "xyz")  # a forged signature is no session
    assert client.get("/review", follow_redirects=False).status_code == 303


def test_the_coordinator_returns_with_a_reason_then_passes_on_the_claims_date(portal):

    wired, clock, client = portal
    path = path_of(link_of(wired, "msa"))
    assert (
        report(
            client, path, "A1", action="claim", files=[("合作协议.pdf", PDF, "application/pdf")]
        ).status_code
        == 303
    )
    assert "已申请办结，等待审核" in page(client, f"{path}/t/A1")
    sign_in(client, wired)
    queue = page(client, "/review")
    assert "合作协议.pdf" in queue and "A1" in queue
    claim_id = int(queue.split("/review/claims/")[1].split("/")[0])
    evidence = client.get(f"/review/claims/{claim_id}/evidence/0")
    assert evidence.status_code == 200 and evidence.content == PDF
    response = client.post(
        f"/review/claims/{claim_id}/return",
        data={"csrf": field_value(queue, "csrf"), "reason": "协议缺少盖章页"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "协议缺少盖章页" in page(client, f"{path}/t/A1")
    run_check(wired.sessions, "demo-city", moment("2023-03-03T08:30"), wired.notifier(outbox_only=True))
    returned = [m for m in outbox(wired) if "claim_returned" in m["kinds"]]
    assert returned and "协议缺少盖章页" in returned[0]["text"] and returned[0]["unit"] == "msa"
    clock.now = moment("2023-03-06T11:00")
    assert report(client, path, "A1", action="claim").status_code == 303  # the evidence already sent counts
    clock.now = moment("2023-03-09T09:00")
    queue = page(client, "/review")
    claim_id = int(queue.split("/review/claims/")[1].split("/")[0])
    client.post(f"/review/claims/{claim_id}/pass", data={"csrf": field_value(queue, "csrf")})
    task = task_of("A1", "2023-03-10")
    assert task["status"] == "done" and task["done_on"] == "2023-03-06"
    scores = cli_json("scores", "demo-city")
    msa = next(u for u in scores["units"] if u["unit"] == "msa")
    assert msa["returns"] == 1
    with wired.transaction() as session:
        sources = session.execute(select(CoordinatorDecision.kind, CoordinatorDecision.source)).all()
    assert sources.count(("claim", "portal")) == 2


def test_with_review_none_a_claim_is_done_at_once(tmp_path, home):
    wired = assigned_program(tmp_path, review="none")
    client = TestClient(create_app(wired, Clock()))
    response = report(client, path_of(link_of(wired, "msa")), "A1", action="claim",
                      files=[("合作协议.pdf", PDF, "application/pdf")])
    assert response.status_code == 303
    task = task_of("A1", "2023-03-03")
    assert task["status"] == "done" and task["done_on"] == "2023-03-02"


def test_extension_and_phase_decisions_from_the_portal_are_the_command_lines_decisions(portal):
    wired, clock, client = portal
    assert (
        runner.invoke(
            cli,
            [
                "extension",
                "request",
                "demo-city",
                "A1",
                "--unit",
                "msa",
                "--to",
                "2023-08-31",
                "--reason",
                "会签",
                "--as-of",
                "2023-03-02",
            ],
        ).exit_code
        == 0
    )
    sign_in(client, wired)
    queue = page(client, "/review")
    assert "会签" in queue
    request_id = cli_json("extension", "list", "demo-city")[0]["id"]
    response = client.post(
        f"/review/extensions/{request_id}/approve",
        data={"csrf": field_value(queue, "csrf")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert cli_json("extension", "list", "demo-city")[0]["state"] == "approved"
    task = task_of("A1", "2023-03-03")
    assert task["due"] == "2023-08-31"
    with wired.transaction() as session:
        assert session.execute(select(CoordinatorDecision.kind, CoordinatorDecision.source)).all() == [
            ("extension", "portal")]
        kinds = set(session.scalars(select(Event.kind)))
    assert "extension.approved" in kinds
    response = client.post(
        "/review/phases/deployment/approve",
        data={"csrf": field_value(queue, "csrf"), "note": "部署完成"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    with wired.transaction() as session:
        assert ("phase", "portal") in session.execute(select(CoordinatorDecision.kind,
                                                             CoordinatorDecision.source)).all()


def test_the_overview_shows_lights_overdue_and_unacknowledged_per_unit(portal):
    wired, clock, client = portal
    sign_in(client, wired)
    clock.now = moment("2023-07-03T10:00")
    html = page(client, "/overview")
    msa_row = html.split("市市场监督管理局")[1].split("</tr>")[0]
    assert "A1" in msa_row  # overdue since 2023-06-30
    assert '<td class="unacked">3</td>' in msa_row  # A1, A2 and B1 not acknowledged


# ---------------------------------------------------------------- the returned 报送表


def upload_table(client, wired, path, **options):
    """The file uploaded as the 报送表 on msa's page."""
    link = path_of(link_of(wired, "msa"))
    html = page(client, link)
    return client.post(
        f"{link}/report-table",
        data={"csrf": field_value(html, "csrf"), "form_id": field_value(html, "form_id", "/report-table")},
        files=[("files", (path.name, path.read_bytes(), "application/octet-stream"))],
        **options,
    )


def returned_table(wired, tmp_path, unit="msa", edits=None, program="demo-city"):
    """The unit's 报送表 as its 交办 attached it, filled in: edits = {code: {header: value}}."""
    import io

    from openpyxl import load_workbook

    with wired.transaction() as session:
        ctx = load_program(session, "demo-city")
        rows = task_rows(session, ctx, moment("2023-03-01T08:30").date(), unit)
    book = load_workbook(io.BytesIO(unit_task_workbook(unit, rows, meta={"program": program, "unit": unit})))
    sheet = book.worksheets[0]
    headers = {cell.value: cell.column_letter for cell in sheet[2]}
    for r in range(3, sheet.max_row + 1):
        code = sheet[f"{headers['编号']}{r}"].value
        for header, value in (edits or {}).get(code, {}).items():
            cell = sheet[f"{headers[header]}{r}"]
            cell.value = value
            if str(value).startswith("="):
                cell.data_type = "s"  # typed as text, as a unit's spreadsheet program would keep it
    path = tmp_path / f"{unit}-报送表.xlsx"
    book.save(path)
    return path, headers


def test_report_import_records_the_filled_rows_under_the_same_rules(portal, tmp_path):
    wired, _clock, _client = portal
    path, _ = returned_table(wired, tmp_path, edits={
        "A1": {"进度(%)": 60, "本期进展": "协议已起草"},
        "A2": {"进度(%)": 100, "本期进展": "已召开联席会议", "佐证材料": "会议纪要.pdf"}})
    result = runner.invoke(
        cli, ["report", "import", "demo-city", str(path), "--as-of", "2023-03-02", "--json"]
    )
    assert result.exit_code == 0, result.output
    recorded = {r["code"]: r for r in __import__("json").loads(result.stdout)["recorded"]}
    assert recorded["A1"]["progress"] == 60 and recorded["A2"]["review"] == "pending"
    assert set(recorded) == {"A1", "A2"}  # the untouched B1 row is no report


@pytest.mark.parametrize("edits,location,message", [
    ({"A1": {"进度(%)": "六十"}}, ":I:", "应为 0–100 的整数"),
    ({"A1": {"进度(%)": 130}}, ":I:", "应在 0–100 之间"),
    ({"A1": {"进度(%)": 100, "本期进展": "完成"}}, ":I:", "须附佐证材料"),
    ({"B1": {"进度(%)": 100, "佐证材料": "统计表.xlsx"}}, ":I:", "只有牵头单位可以申请办结"),
    ({"A1": {"编号": "Z9", "本期进展": "x"}}, ":B:", "没有编号为「Z9」的任务"),
])
def test_report_import_refuses_with_located_errors_and_records_nothing(
    portal, tmp_path, edits, location, message
):
    wired, _clock, _client = portal
    path, _ = returned_table(wired, tmp_path, edits={"A2": {"进度(%)": 30, "本期进展": "推进中"}, **edits})
    before = counts(wired)
    result = runner.invoke(cli, ["report", "import", "demo-city", str(path), "--as-of", "2023-03-02"])
    assert result.exit_code == 1
    line = next(line for line in result.stderr.splitlines() if message in line)
    assert line.startswith(f"{path}:") and location in line and line.split(":")[1].isdigit()
    assert counts(wired) == before  # A2's good row is not recorded either


def test_a_table_of_another_unit_or_program_is_refused(portal, tmp_path):
    wired, _clock, client = portal
    path, _ = returned_table(wired, tmp_path, unit="court", edits={"A1": {"本期进展": "配合推进"}})
    response = upload_table(client, wired, path)
    assert response.status_code == 400 and "本表属于单位「court」" in response.text
    other, _ = returned_table(wired, tmp_path, program="other-city", edits={"A1": {"本期进展": "x"}})
    result = runner.invoke(cli, ["report", "import", "demo-city", str(other)])
    assert result.exit_code == 1 and "本表属于计划「other-city」" in result.stderr


def test_the_returned_table_uploaded_on_the_unit_page_is_recorded(portal, tmp_path):
    wired, _clock, client = portal
    path, _ = returned_table(wired, tmp_path, edits={"A1": {"进度(%)": 45, "本期进展": "=HYPERLINK(\"x\")"}})
    response = upload_table(client, wired, path, follow_redirects=False)
    assert response.status_code == 303
    with wired.transaction() as session:
        note, progress = session.execute(select(ProgressReport.note, ProgressReport.progress)).one()
    assert progress == 45 and note.startswith("'=")  # a formula is kept as text, defused


def test_the_self_check_form_uploaded_on_the_unit_page_is_the_units_return(portal, tmp_path):

    wired, clock, client = portal
    with wired.transaction() as session:
        blank = tmp_path / "demo-city-selfcheck-msa.xlsx"
        blank.write_bytes(form_bytes(session, load_program(session, "demo-city"), "msa"))
    filled = fill(blank, {})
    link = path_of(link_of(wired, "msa"))
    clock.now = moment("2023-03-03T10:00")
    for unit_link, expected in (
        (path_of(link_of(wired, "court")), 400),
        (link, 303),
    ):  # msa's form, not court's
        html = page(client, unit_link)
        response = client.post(
            f"{unit_link}/selfcheck",
            data={"csrf": field_value(html, "csrf"), "form_id": field_value(html, "form_id", "/selfcheck")},
            files=[("files", (filled.name, filled.read_bytes(), "application/octet-stream"))],
            follow_redirects=False,
        )
        assert response.status_code == expected, response.text
    status = cli_json("selfcheck", "status", "demo-city")
    assert "msa" in str(status["returned"])
    assert "2023-03-03" in page(client, f"{link}/history")
