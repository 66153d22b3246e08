"""How the daily check scales, beside its floor: synthetic programs of 1,000, 10,000 and 100,000 tasks over
100 units.

For each size, on copies of one prepared SQLite database, each measured in a fresh process (CPU seconds and
the process's own peak RSS, VmHWM):
- the check: one ordinary daily check (`run_check`, outbox notifier), with its SQL statements counted;
- the floor: raw sqlite3 on the same database doing the least any check must do: select the due set, one
  `executemany … ON CONFLICT DO NOTHING` of the very notice rows the check claimed, one UPDATE, one commit,
  and as many digests as the check sent, rendered with duban's own template;
- a quiet run: the same check again later that day, with nothing new to claim or send.

Run on demand: `make bench` (or `python -m bench.check_bench 1000 10000`); `--runs 3` measures each three
times on fresh copies and reports the median run (the machine the figures come from is shared and noisy).
"""

from __future__ import annotations

import json
import pickle
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import event, text

from db import get_engine, import_program
from flows import Settings, Wiring, run_check
from notifications import DigestItem, render_digest
from schedule import PhaseSpec, ProgramSpec, TaskSpec, TimeLimit, UnitSpec

ZONE = ZoneInfo("Asia/Shanghai")
FIRST_DAY = date(2023, 5, 4)      # implementation open: the 交办 goes to every unit
MEASURED_DAY = date(2024, 3, 14)  # an ordinary Thursday: reminders, 催办, 督办, reports missing
MEASURED_AT = datetime(2024, 3, 14, 8, 30, tzinfo=ZONE)
QUIET_AT = datetime(2024, 3, 14, 15, 0, tzinfo=ZONE)  # the day's second run: nothing new
UNITS = 100

# The due set, as one query: open instances of active tasks due within the before-due horizon or overdue.
DUE_SET = ("SELECT ti.id, t.code, t.title, ti.due FROM task_instances ti JOIN tasks t ON t.id = ti.task_id "
           "WHERE ti.program_id = ? AND t.active AND ti.status != 'done' AND ti.retired_on IS NULL "
           "AND ti.due <= ?")


def synthetic_program(size: int, seed: int = 7):
    rng = random.Random(seed)
    units = [UnitSpec("office", "领导小组办公室", notify=("json://127.0.0.1:9/office",))]
    units += [
        UnitSpec(f"u{n:03d}", f"第{n}责任单位", notify=(f"json://127.0.0.1:9/u{n}",)) for n in range(1, UNITS)
    ]
    codes = [u.code for u in units]
    start, span = date(2023, 5, 1), (date(2024, 6, 30) - date(2023, 5, 1)).days
    tasks = []
    for n in range(size):
        roll = rng.random()
        if roll < 0.02:
            limit = TimeLimit(recurrence="quarterly")
        elif roll < 0.05:
            limit = TimeLimit(recurrence="ongoing")
        else:
            limit = TimeLimit(due=start + timedelta(days=rng.randrange(span)))
        lead, *co = rng.sample(codes, 3)
        tasks.append(
            TaskSpec(
                code=f"T{n:06d}", title=f"工作举措 {n}", lead=(lead,), co=tuple(co[: rng.randint(0, 2)]),
                area=f"体系{n % 5 + 1}", limit=limit, phase="implementation")
        )
    phases = (PhaseSpec("implementation", "组织实施", start, date(2024, 6, 30)),
              PhaseSpec("self_check", "自查自评", date(2024, 6, 1), date(2024, 7, 31)))
    return ProgramSpec(id=f"bench-{size}", name=f"基准 {size}", coordinator="office", phases=phases,
                       units=tuple(units), tasks=tuple(tasks))


def prepare(size: int, folder: Path) -> tuple[str, float]:
    """Imports the program, sends the 交办, and marks 40% of what is due by the measured day as done."""
    spec = synthetic_program(size)
    wired = Wiring(Settings(home=folder, notifier="outbox"))
    started = time.perf_counter()
    with wired.transaction() as session:
        import_program(session, spec, datetime(2023, 4, 1, tzinfo=ZONE))
    imported = time.perf_counter() - started
    run_check(wired.sessions, spec.id, datetime.combine(FIRST_DAY, MEASURED_AT.timetz()),
              wired.notifier(outbox_only=True))
    with get_engine(wired.settings.db_url).begin() as connection:
        connection.execute(text(
            "UPDATE task_instances SET status='done', progress=100, done_on=due "
            "WHERE program_id=:p AND due <= :d AND id % 5 < 2"), {"p": spec.id, "d": MEASURED_DAY})
        connection.execute(text("UPDATE task_instances SET status='in_progress', progress=30 "
                                "WHERE program_id=:p AND status='not_started' AND id % 7 = 0"),
                           {"p": spec.id})
    return spec.id, imported


def measure(size: int, runs: int = 1) -> dict:
    """Each of check, quiet run and floor: the run of median CPU among `runs`, each on fresh copies."""
    root = Path(tempfile.mkdtemp(prefix=f"duban-bench-{size}-"))
    program, imported = prepare(size, root / "base")
    before = _max_notice_id(root / "base")
    measured: dict[str, list[dict]] = defaultdict(list)
    for run in range(runs):
        check_home, floor_home = root / f"check-{run}", root / f"floor-{run}"
        for home in (check_home, floor_home):
            shutil.copytree(root / "base", home, ignore=shutil.ignore_patterns("outbox.jsonl"))
        measured["check"].append(_child("check", check_home, program, MEASURED_AT))
        measured["quiet"].append(_child("check", check_home, program, QUIET_AT))
        # The floor inserts the very rows the check claimed, and renders as many digests as it sent.
        (root / "rows.pickle").write_bytes(pickle.dumps(_claimed_rows(check_home, before)))
        measured["floor"].append(_child("floor", floor_home, program, MEASURED_AT, root / "rows.pickle"))
    shutil.rmtree(root, ignore_errors=True)
    check, quiet, floor = (sorted(measured[k], key=lambda m: m["cpu_s"])[(runs - 1) // 2]
                           for k in ("check", "quiet", "floor"))
    return {"tasks": size, "import_s": imported, "check": check, "quiet": quiet, "floor": floor,
            "ratio": check["cpu_s"] / floor["cpu_s"], "runs": runs}


def _max_notice_id(home: Path) -> int:
    with sqlite3.connect(home / "duban.db") as connection:
        return connection.execute("SELECT coalesce(max(id), 0) FROM notices").fetchone()[0]


def _claimed_rows(home: Path, after: int) -> dict:
    with sqlite3.connect(home / "duban.db") as connection:
        cursor = connection.execute("SELECT * FROM notices WHERE id > ? ORDER BY id", (after,))
        columns = [d[0] for d in cursor.description if d[0] != "id"]
        rows = [row[1:] for row in cursor.fetchall()]
        names = dict(connection.execute("SELECT id, name FROM units").fetchall())
    return {"columns": columns, "rows": rows, "names": names}


def _child(mode: str, home: Path, program: str, at: datetime, rows: Path | None = None) -> dict:
    command = [sys.executable, "-m", "bench.check_bench", "--child", mode, str(home), program, at.isoformat()]
    done = subprocess.run([*command, *([str(rows)] if rows else [])], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{mode} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _peak_rss_mib() -> float:
    """This process's own peak resident set (VmHWM), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child_check(home: Path, program: str, at: datetime) -> dict:
    wired = Wiring(Settings(home=home, notifier="outbox"))
    engine = get_engine(wired.settings.db_url)  # migrations checked before the clock starts
    statements = {"n": 0}

    def count(*_args) -> None:
        statements["n"] += 1

    event.listen(engine, "before_cursor_execute", count)
    cpu, wall = time.process_time(), time.perf_counter()
    result = run_check(wired.sessions, program, at, wired.notifier(outbox_only=True))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"cpu_s": cpu, "wall_s": wall, "statements": statements["n"],
            "notices": sum(result.claimed.values()),
            "messages": result.dispatched.messages if result.dispatched else 0}


def child_floor(home: Path, program: str, at: datetime, rows_file: Path) -> dict:
    claimed = pickle.loads(rows_file.read_bytes())
    columns, rows, names = claimed["columns"], claimed["rows"], claimed["names"]
    column = {name: index for index, name in enumerate(columns)}
    insert = (f"INSERT INTO notices ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
              "ON CONFLICT (key) DO NOTHING")
    cpu, wall = time.process_time(), time.perf_counter()
    connection = sqlite3.connect(home / "duban.db")
    connection.execute("PRAGMA synchronous=NORMAL")  # as duban's engine sets it (the file is in WAL mode)
    horizon = (MEASURED_DAY + timedelta(days=20)).isoformat()
    due_set = {row[0]: row for row in connection.execute(DUE_SET, (program, horizon))}
    connection.executemany(insert, rows)
    connection.execute(
        "UPDATE notices SET state = 'sent', sent_at = ? WHERE program_id = ? AND state = 'queued'",
        (at.isoformat(), program))
    connection.commit()
    digests: dict[tuple, list[DigestItem]] = defaultdict(list)
    for row in rows:
        kind, instance = row[column["kind"]], due_set.get(row[column["instance_id"]])
        item = (DigestItem(kind, instance[2], instance[1], instance[3]) if instance
                else DigestItem(kind, row[column["task_code"]] or kind))
        digests[(row[column["unit_id"]], row[column["audience"]])].append(item)
    for (unit_id, audience), items in digests.items():
        render_digest(language="zh-CN", program_name=program, recipient_name=names[unit_id],
                      audience=audience, today=MEASURED_DAY, items=items)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    connection.close()
    return {"cpu_s": cpu, "wall_s": wall, "notices": len(rows), "messages": len(digests)}


def run_child(argv: list[str]) -> None:
    mode, home, program, at, *rest = argv
    moment = datetime.fromisoformat(at)
    figures = (child_check(Path(home), program, moment) if mode == "check"
               else child_floor(Path(home), program, moment, Path(rest[0])))
    print(json.dumps({**figures, "rss_mib": _peak_rss_mib()}))


def report(rows: list[dict]) -> None:
    print("\n| tasks | check CPU (s) | floor CPU (s) | ratio | check peak RSS (MiB) | floor peak RSS (MiB) | "
          "SQL statements | notices in messages | quiet run CPU (s) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        check, floor, quiet = row["check"], row["floor"], row["quiet"]
        print(f"| {row['tasks']:,} | {check['cpu_s']:.2f} | {floor['cpu_s']:.2f} | {row['ratio']:.1f}× | "
              f"{check['rss_mib']:.0f} | {floor['rss_mib']:.0f} | {check['statements']:,} | "
              f"{check['notices']:,} in {check['messages']} | {quiet['cpu_s']:.3f} |")
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        print(f"\nquiet run: t({last['tasks']:,})/t({first['tasks']:,}) = "
              f"{last['quiet']['cpu_s'] / first['quiet']['cpu_s']:.1f}")


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child"]:
        run_child(argv[1:])
        return
    runs = 1
    if "--runs" in argv:
        at = argv.index("--runs")
        runs, argv = int(argv[at + 1]), argv[:at] + argv[at + 2:]
    sizes = [int(a) for a in argv if a.isdigit()] or [1_000, 10_000, 100_000]
    rows = []
    for size in sizes:
        rows.append(measure(size, runs))
        row = rows[-1]
        check, floor, quiet = row["check"], row["floor"], row["quiet"]
        print(f"{size:>7} tasks (median of {runs}): import {row['import_s']:.1f} s; "
              f"check {check['cpu_s']:.2f} s CPU "
              f"({check['wall_s']:.2f} s wall, {check['rss_mib']:.0f} MiB peak, "
              f"{check['statements']} statements, {check['notices']} notices in {check['messages']} "
              f"messages); floor {floor['cpu_s']:.2f} s CPU ({floor['rss_mib']:.0f} MiB); "
              f"ratio {row['ratio']:.1f}x; quiet run {quiet['cpu_s']:.3f} s CPU "
              f"({quiet['notices']} notices, {quiet['messages']} messages)", flush=True)
    report(rows)


if __name__ == "__main__":
    main(sys.argv[1:])
