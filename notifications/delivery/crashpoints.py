"""Fault injection for the exactly-once campaign: the process kills itself at a named step of dispatch.

`DUBAN_CRASH_AT=point[:n]` makes the n-th pass (default the first) through `crash_point(point)` end the
process with SIGKILL, as `kill -9` would: no finally block, no atexit, no rollback other than the database's
own. For `mid_post` the kill is armed instead and fires `DUBAN_CRASH_DELAY` seconds later (default 0.3), while
the request is on the wire. Unset (always, in production) a crash point costs one environment lookup.

Points, in the order a dispatch passes them: before_claim, after_claim, after_sending, mid_post, after_post,
after_answer (every channel answered for the message, its notices not yet settled).
"""

from __future__ import annotations

import os
import signal
import threading

POINTS = ("before_claim", "after_claim", "after_sending", "mid_post", "after_post", "after_answer")
_passes: dict[str, int] = {}


def crash_point(point: str) -> None:
    spec = os.environ.get("DUBAN_CRASH_AT")
    if not spec:
        return
    name, _, nth = spec.partition(":")
    if name != point:
        return
    _passes[point] = _passes.get(point, 0) + 1
    if _passes[point] != int(nth or 1):
        return
    if point == "mid_post":
        timer = threading.Timer(float(os.environ.get("DUBAN_CRASH_DELAY", "0.3")), _kill)
        timer.daemon = True
        timer.start()
        return
    _kill()


def _kill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)
