"""The portal under uvicorn on loopback: a unit page with 1,000 tasks, report submissions (each with a small
evidence file) one at a time and 50 at once, and the review queue with 1,000 claims, each beside a static file
served by the same server (the baseline: what the server and the loopback cost without duban's work).

`python -m bench.portal_bench [TASKS]` (default 1,000). The server is a separate process (`uvicorn
duban.portal.serve:app --factory`, one worker) over a fresh SQLite home; latencies are measured by the client.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from bench.peers import free_port
from db import Task, Unit, add_user, import_program, issue_link, load_program, submit_report
from flows import Settings, Wiring
from schedule import PhaseSpec, ProgramSpec, TaskSpec, TimeLimit, UnitSpec

ZONE = ZoneInfo("Asia/Shanghai")
AS_OF = datetime(2023, 6, 1, 10, 0, tzinfo=ZONE)
PDF = b"%PDF-1.4\n% bench evidence\n" + b"0" * 20_000


def program(size: int):

    units = (UnitSpec("office", "领导小组办公室"), UnitSpec("lead", "牵头单位"), UnitSpec("co", "配合单位"))
    start = date(2023, 5, 1)
    tasks = tuple(
        TaskSpec(
            code=f"T{n:05d}",
            title=f"工作举措 {n}：建立健全知识产权保护工作机制",
            lead=("lead",),
            co=("co",) if n % 3 == 0 else (),
            area=f"体系{n % 5 + 1}",
            evidence="工作方案",
            limit=TimeLimit(due=start + timedelta(days=30 + n % 400)),
            phase="implementation",
        )
        for n in range(size)
    )
    return ProgramSpec(id="bench-portal", name="门户基准", coordinator="office",
                       phases=(PhaseSpec("implementation", "组织实施", start, date(2024, 12, 31)),),
                       units=units, tasks=tasks)


def prepare(home: Path, size: int) -> str:
    """Imports the program, issues the lead unit's link and a coordinator account; returns the token."""

    wired = Wiring(Settings(home=home))
    with wired.transaction() as session:
        import_program(session, program(size), AS_OF - timedelta(days=40), actor="bench")
    with wired.transaction() as session:
        ctx = load_program(session, "bench-portal")
        unit_id = session.query(Unit.id).filter(Unit.program_id == ctx.id, Unit.code == "lead").scalar()
        token = issue_link(session, ctx, unit_id, AS_OF)
        add_user(session, ctx, "bench", "coordinator", "bench-password", AS_OF, "bench")
    return token


def claim_all(home: Path, skip: set[str]) -> int:
    """Every task not reported in the submission round is claimed done with evidence: the review queue."""

    wired = Wiring(Settings(home=home))
    evidence = home / "工作方案.pdf"
    evidence.write_bytes(PDF)
    count = 0
    with wired.transaction() as session:
        ctx = load_program(session, "bench-portal")
        at = datetime.combine(AS_OF.date(), clock_time(9, 0), ZONE)

        for (code,) in session.query(Task.code).filter(Task.program_id == ctx.id).order_by(Task.code):
            if code not in skip:
                submit_report(session, ctx, code, "lead", "done", 100, "已完成", [str(evidence)], at, "bench")
                count += 1
    return count


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000


def timed_gets(client: httpx.Client, url: str, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        begun = time.perf_counter()
        response = client.get(url)
        samples.append(time.perf_counter() - begun)
        assert response.status_code == 200, (url, response.status_code)
    return samples


def serve(home: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "DUBAN_HOME": str(home), "DUBAN_PORTAL_AS_OF": AS_OF.isoformat(),
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("DUBAN_DATABASE_URL", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "duban.portal.serve:app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/static/portal.css", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the portal did not start")


def csrf_of(page: str) -> str:
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def submitter(base: str, token: str, csrf: str, cookies: dict):
    """A unit's report on one task with a 20 KB evidence file, as the portal's form posts it; its seconds."""

    def submit(code: str) -> float:
        begun = time.perf_counter()
        response = httpx.post(
            f"{base}/u/{token}/t/{code}/report", cookies=cookies, timeout=120,
            data={"csrf": csrf, "form_id": f"bench-{code}", "progress": "60", "note": "按计划推进",
                  "action": "report", "status": "in_progress"},
            files=[("files", ("进展材料.pdf", PDF, "application/pdf"))],
        )
        assert response.status_code == 303, response.text[:300]
        return time.perf_counter() - begun

    return submit


def measure(client: httpx.Client, base: str, home: Path, token: str, size: int) -> list[tuple]:
    """(label, samples, static-file samples) for each kind of request."""
    static = timed_gets(client, "/static/portal.css", 200)
    page = client.get(f"/u/{token}")
    rows = [(f"unit page, {size:,} tasks ({len(page.content) // 1024} KiB)",
             timed_gets(client, f"/u/{token}", 30), static)]
    codes = [f"T{n:05d}" for n in range(80)]
    submit = submitter(base, token, csrf_of(page.text), dict(client.cookies))
    one_by_one = [submit(code) for code in codes[50:]]
    rows.append(("a report submission with a 20 KB file, one at a time (30)", one_by_one, static))
    begun = time.perf_counter()
    with ThreadPoolExecutor(50) as pool:
        together = list(pool.map(submit, codes[:50]))
    wall = time.perf_counter() - begun
    rows.append((f"50 concurrent report submissions with a 20 KB file (all in {wall:.1f} s)", together,
                 static))
    claimed = claim_all(home, set(codes))
    client.post("/login", data={"csrf": csrf_of(client.get("/login").text), "program": "bench-portal",
                                "name": "bench", "password": "bench-password"})
    rows.append((f"review queue, {claimed:,} claims", timed_gets(client, "/review", 20), static))
    return rows


def main(size: int = 1000) -> None:
    with tempfile.TemporaryDirectory(prefix="duban-portal-bench-") as folder:
        home = Path(folder) / "home"
        token = prepare(home, size)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = serve(home, port)
        try:
            with httpx.Client(base_url=base, timeout=120) as client:
                rows = measure(client, base, home, token, size)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print("| request | p50 (ms) | p95 (ms) | static file p50 / p95 (ms) |")
    print("|---|---:|---:|---:|")
    for label, samples, baseline in rows:
        p50, p95 = percentiles(samples)
        b50, b95 = percentiles(baseline)
        print(f"| {label} | {p50:.0f} | {p95:.0f} | {b50:.1f} / {b95:.1f} |")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
