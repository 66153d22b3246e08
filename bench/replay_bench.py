"""What the whole Chengdu replay costs: CPU seconds of `duban demo --json` as `make demo` runs it (a child
process: imports, the replay, the status, the acceptance package and the scores), and of the replay alone
in-process with its SQL statements and commits per simulated day. The replay's CPU is split three ways: the
daily check's dispatch (sending the digests), the rest of the daily check (phases, claims), and the units'
side (签收, reports, reviews, forms, remediation, extensions: the replay less its daily checks).

Run on demand: `python -m bench.replay_bench [--seed N] [--profile FILE]` (FILE: a cProfile dump of the
in-process replay). Each run uses a temporary home, like `duban demo`'s own.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

from sqlalchemy import Engine, event

from duban import EXAMPLE_PLANS, fresh_home, readable_plan, replay

DUBAN = Path(sys.executable).with_name("duban")


@contextmanager
def counting():
    """Counts every statement and commit on any engine while inside."""
    counts = {"statements": 0, "commits": 0}

    def statement(*_args) -> None:
        counts["statements"] += 1

    def commit(_connection) -> None:
        counts["commits"] += 1

    event.listen(Engine, "before_cursor_execute", statement)
    event.listen(Engine, "commit", commit)
    try:
        yield counts
    finally:
        event.remove(Engine, "before_cursor_execute", statement)
        event.remove(Engine, "commit", commit)


@contextmanager
def profiling(path: Path):
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        profiler.dump_stats(str(path))


@contextmanager
def timing(module: str, name: str):
    """CPU seconds spent in `module.name` while inside (calls from within it are not counted twice)."""
    owner = importlib.import_module(module)
    original, spent = getattr(owner, name), {"cpu": 0.0, "depth": 0}

    def timed(*args, **kwargs):
        spent["depth"] += 1
        started = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent["depth"] -= 1
            if not spent["depth"]:
                spent["cpu"] += time.process_time() - started

    setattr(owner, name, timed)
    try:
        yield spent
    finally:
        setattr(owner, name, original)


def demo_cpu(seed: int) -> float:
    """CPU seconds (user + system) of `duban demo --json` in a child process of its own, with the project's
    bytecode written first as `make demo` does (`make bytecode`), outside the figure."""
    subprocess.run(["make", "--silent", "bytecode"], check=True, cwd=Path(__file__).resolve().parents[1])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory(prefix="duban-demo-") as home:
        subprocess.run([str(DUBAN), "demo", "--json", "--seed", str(seed)], check=True,
                       stdout=subprocess.DEVNULL, env={**os.environ, "DUBAN_HOME": home})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def replay_figures(seed: int, profile: Path | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="duban-replay-") as tmp:
        home = fresh_home(Path(tmp) / "demo")
        reading = readable_plan(EXAMPLE_PLANS / "chengdu-2023")
        with (counting() as counts, profiling(profile) if profile else nullcontext(),
              timing("duban.simulation.days", "run_check") as checks,
              timing("flows.check", "dispatch") as sends):
            started = time.process_time()
            simulation = replay(reading, home, None, None, seed).simulation
            cpu = time.process_time() - started
    days = (simulation.end - simulation.start).days + 1
    return {
        "days": days, "replay_cpu_s": round(cpu, 1), "dispatch_cpu_s": round(sends["cpu"], 1),
        "check_rest_cpu_s": round(checks["cpu"] - sends["cpu"], 1),
        "units_cpu_s": round(cpu - checks["cpu"], 1),
        "statements_per_day": round(counts["statements"] / days, 1),
        "commits_per_day": round(counts["commits"] / days, 2),
        "notices": sum(simulation.notices.values()), "messages": simulation.messages,
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--profile", type=Path)
    args = parser.parse_args(argv)
    figures = {"demo_cpu_s": round(demo_cpu(args.seed), 1), **replay_figures(args.seed, args.profile)}
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1:])
