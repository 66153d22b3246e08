"""The coordinator's view in a real browser: Debian's Chromium, driven by Playwright, against a real Prefect
server on which `duban serve` serves the Chengdu program (the README's local path). It opens the daily check's
Upcoming runs and the tasks artifact, checks what a coordinator must see, and takes the screenshots the
README shows (into docs/screenshots/ under `make screenshots`, a temporary folder otherwise)."""

from __future__ import annotations

import re

import pytest

from tests.support.browser import chromium
from tests.support.prefect_server import PrefectServer
from tests.support.production import DAILY_CHECK, PROGRAM, ROOT, Production


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """README: prefect server start; duban plan import plans/chengdu-2023; duban serve."""
    folder = tmp_path_factory.mktemp("served")
    database_url = f"sqlite:///{folder / 'duban' / 'duban.db'}"
    env = {
        "DUBAN_HOME": str(folder / "duban"),
        "DUBAN_DATABASE_URL": database_url,
        "DUBAN_NOTIFIER": "outbox",
    }
    with PrefectServer.start(folder / "prefect") as server:
        server.run("duban", "plan", "import", "plans/chengdu-2023", env=env, cwd=ROOT)
        server.spawn("duban", "serve", name="serve", env=env, cwd=ROOT)
        prod = Production(server, env, database_url)

        def deployed():
            try:
                return prod.deployment(DAILY_CHECK)
            except Exception:
                return None

        server.wait_for(deployed, timeout=180, what="duban serve's deployments")
        server.wait_for(lambda: len(prod.scheduled_checks()) >= 3, timeout=120, what="scheduled checks")
        run = prod.wait_for_state(prod.run_deployment(DAILY_CHECK, "as_of=2023-07-10"))
        assert run["state_type"] == "COMPLETED", server.log("serve")
        yield prod


@pytest.fixture(scope="module")
def page():
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN",
                                      timezone_id="Asia/Shanghai")
        try:
            yield context.new_page()
        finally:
            context.close()


def test_the_daily_check_shows_its_upcoming_runs_at_0830(served, page, screenshots):
    deployment = served.deployment(DAILY_CHECK)
    page.goto(f"{served.server.url}/deployments/deployment/{deployment['id']}?tab=Upcoming")
    page.get_by_text(re.compile(r"^\s*[1-9]\d* Flow runs?\s*$")).first.wait_for(timeout=60_000)
    # Each upcoming run shows its slot in the browser's zone (Asia/Shanghai): 08:30, on the next days.
    slots = page.get_by_text(re.compile(r"\d{4}/\d{2}/\d{2} 08:30:00 AM"))
    slots.first.wait_for(timeout=60_000)
    assert slots.count() >= 3
    page.screenshot(path=str(screenshots / "upcoming-runs.png"))


def test_the_tasks_artifact_shows_chinese_headers_and_red_rows_first(served, page, screenshots):
    artifact = served.artifacts()[f"{PROGRAM}-tasks"]
    page.goto(f"{served.server.url}/artifacts/artifact/{artifact['latest_id']}")
    page.locator("th", has_text="预警").first.wait_for(timeout=60_000)
    headers = [text.strip() for text in page.locator("th").all_inner_texts()]
    assert headers[:7] == ["预警", "编号", "工作举措", "牵头单位", "完成时限", "进度", "最近报送"]
    first_row = page.locator("tbody tr").first
    assert first_row.is_visible() and first_row.locator("td").first.inner_text().strip() == "红灯"
    page.screenshot(path=str(screenshots / "tasks-artifact.png"))
