"""Overlapping runs, as two processes would start them."""

from __future__ import annotations

import threading
from collections.abc import Callable


def at_once(work: Callable[[], object], times: int = 2) -> list[Exception]:
    """Runs `work` in `times` threads at once; what they raised."""
    errors: list[Exception] = []

    def run() -> None:
        try:
            work()
        except Exception as exc:  # pragma: no cover - the caller asserts there is none
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
