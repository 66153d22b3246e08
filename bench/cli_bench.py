"""What a command costs before it answers: CPU seconds (user + system, of the child process) of `duban
--help`, `duban status` and a few other commands, beside a bare `python -c "import sqlalchemy"` on the same
machine in the same run; medians of 3 after one warm-up run each (compiled bytecode and file cache warm).

`python -m bench.cli_bench [RUNS]`. The status and tasks commands read the Chengdu plan, imported into a fresh
home first. Wall-clock time is printed too, but on a shared machine the CPU time is the figure to compare.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DUBAN = Path(sys.executable).parent / "duban"
TARGET = 4.0  # issue 14: --help and status each at most 4x the bare import


def cost(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds of the child, wall seconds) of one run, which must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, wall


def median_cost(command: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    cost(command, env)  # warm-up
    samples = [cost(command, env) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def main(runs: int = 3) -> None:
    with tempfile.TemporaryDirectory(prefix="duban-cli-bench-") as folder:
        env = {**os.environ, "DUBAN_HOME": str(Path(folder) / "home"),
               "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
        env.pop("DUBAN_DATABASE_URL", None)
        cost([str(DUBAN), "plan", "import", str(ROOT / "plans" / "chengdu-2023")], env)
        commands = {
            'python -c "import sqlalchemy"': [sys.executable, "-c", "import sqlalchemy"],
            "duban --help": [str(DUBAN), "--help"],
            "duban status chengdu-2023": [str(DUBAN), "status", "chengdu-2023", "--as-of", "2024-03-14"],
            "duban tasks chengdu-2023": [str(DUBAN), "tasks", "chengdu-2023", "--as-of", "2024-03-14"],
            "duban scores chengdu-2023": [str(DUBAN), "scores", "chengdu-2023", "--as-of", "2024-03-14"],
            "duban plan validate plans/chengdu-2023": [str(DUBAN), "plan", "validate", "plans/chengdu-2023"],
        }
        figures = {label: median_cost(command, env, runs) for label, command in commands.items()}
    baseline = figures['python -c "import sqlalchemy"'][0]
    print(f"| command | CPU (s), median of {runs} | × import sqlalchemy | wall (s) |")
    print("|---|---:|---:|---:|")
    for label, (cpu, wall) in figures.items():
        print(f"| `{label}` | {cpu:.2f} | {cpu / baseline:.1f}× | {wall:.2f} |")
    over = [label for label in ("duban --help", "duban status chengdu-2023")
            if figures[label][0] > TARGET * baseline]
    verdict = "met" if not over else f"NOT met by {over}"
    print(f"\ntarget: --help and status each ≤ {TARGET:.0f}× the bare import: {verdict}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
