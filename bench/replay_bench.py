"""What the whole Chengdu replay (`make demo`) costs: CPU seconds of the replay and of the demo's end (status,
acceptance package, scores), and per simulated day the SQL statements and commits.

Run on demand: `python -m bench.replay_bench [--seed N] [--profile FILE]` (FILE: a cProfile dump of the
replay). The replay runs in a temporary home, like `duban demo`'s own.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, event

from duban.simulation import EXAMPLE_PLANS, fresh_home, readable_plan, replay

PLAN = EXAMPLE_PLANS / "chengdu-2023"


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


def measure(seed: int, profile: Path | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="duban-replay-") as tmp:
        home = fresh_home(Path(tmp) / "demo")
        reading = readable_plan(PLAN)
        profiler = cProfile.Profile() if profile else None
        with counting() as counts:
            started = time.process_time()
            if profiler:
                profiler.enable()
            result = replay(reading, home, None, None, seed)
            if profiler:
                profiler.disable()
            replay_cpu = time.process_time() - started
        if profiler:
            profiler.dump_stats(str(profile))
        from duban.cli.main import demo_outcome  # the demo's end: status, acceptance package, scores

        started = time.process_time()
        demo_outcome(result)
        outcome_cpu = time.process_time() - started
        simulation = result.simulation
        days = (simulation.end - simulation.start).days + 1
        return {
            "days": days, "replay_cpu_s": round(replay_cpu, 2), "outcome_cpu_s": round(outcome_cpu, 2),
            "statements_per_day": round(counts["statements"] / days, 1),
            "commits_per_day": round(counts["commits"] / days, 2),
            "notices": sum(simulation.notices.values()), "messages": simulation.messages,
        }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--profile", type=Path)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.seed, args.profile), ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1:])
