"""The working-day calendar after warm-up: 100,000 `workdays_between` and 100,000 `add_workdays` calls.

Run on demand: `python -m bench.calendar_bench`. A timed assertion in the test suite failed on a loaded
machine, so the figure lives here, beside the other measurements.
"""

from __future__ import annotations

import random
import time
from datetime import date, timedelta

from schedule import WorkCalendar


def main(calls: int = 100_000) -> None:
    cal = WorkCalendar()
    rnd = random.Random(7)
    days = [date(2023, 1, 1) + timedelta(days=rnd.randrange(5 * 365)) for _ in range(calls + 1)]
    steps = [rnd.randrange(-30, 31) for _ in range(calls)]
    cal.workdays_between(date(2023, 1, 1), date(2027, 12, 31))  # warm the index
    started = time.perf_counter()
    for a, b in zip(days, days[1:], strict=False):
        cal.workdays_between(a, b)
    between = time.perf_counter() - started
    started = time.perf_counter()
    for d, n in zip(days, steps, strict=False):
        cal.add_workdays(d, n)
    add = time.perf_counter() - started
    print(f"{calls:,} workdays_between: {between:.3f} s; {calls:,} add_workdays: {add:.3f} s")


if __name__ == "__main__":
    main()
