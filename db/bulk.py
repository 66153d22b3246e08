"""Whole-program reads: the task list, every assignment, every instance a score counts.

At 100,000 tasks such a read builds hundreds of thousands of plain containers (rows, dicts, lists), and
CPython's cyclic collector scans the whole heap again each time the long-lived containers grow by a quarter:
measured, that was 40–60% of the read. Rows hold no reference cycles (reference counting frees them), so
the collector waits while they are built; cycles made elsewhere meanwhile are collected after. Such a read
streams its rows (STREAMED_ROWS at a time) rather than holding the whole result beside what it builds.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

# Rows fetched at a time by a whole-program read that turns each row into something else: the raw result
# is never held whole beside what is built from it.
STREAMED_ROWS = 5000


@contextmanager
def bulk_read() -> Iterator[None]:
    """The cyclic collector paused for the block (left as it was if something else paused it)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def flush_pending(session: Session) -> None:
    """What the ORM would flush before its own read: a read built once on the tables (Core, far cheaper per
    call) is not autoflushed, so it must not miss the session's pending writes."""
    if session.autoflush:
        session.flush()
