"""Shared fixtures: one temporary Prefect server per test session, isolated duban homes, and the slowest files
first for `make test`'s two workers."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Before Prefect is imported anywhere: no analytics (no internet here) and a throwaway Prefect home, removed
# when the process that made it ends (xdist's workers inherit it from the controller).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
if "PREFECT_HOME" not in os.environ:
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="duban-prefect-")
    atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], True)
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from tests.support.peers import FakeClock, RobotPeer, SMTPPeer  # noqa: E402

# The files that take most of a worker's time (--durations: Prefect servers, the Chengdu replay, PostgreSQL),
# costliest first. `make test` hands out whole files in collection order (--dist loadfile
# --no-loadscope-reorder); collected last, one of these would keep a worker busy long after the other ran out.
SLOWEST_FIRST = (
    "tests/flows/test_prefect_server.py",
    "tests/flows/test_prefect_postgres.py",
    "tests/cli/test_demo.py",
    "tests/portal/test_browser.py",
    "tests/db/test_postgres.py",
    "tests/notifications/test_fault_campaign.py",
    "tests/flows/test_supervise_flow.py",  # every test that needs the in-process Prefect server is here
    "tests/db/test_selfcheck.py",
    "tests/portal/test_portal_live.py",
)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return SLOWEST_FIRST.index(path) if path in SLOWEST_FIRST else len(SLOWEST_FIRST)

    items.sort(key=rank)  # stable: the order within a file and among the others is kept


@pytest.fixture(autouse=True)
def _duban_environment_restored():
    """`duban serve` and `portal serve` hand their database to what they start through the environment; run
    in-process by a test, that would leak into every later test of the worker (one shared database)."""
    saved = {key: value for key, value in os.environ.items() if key.startswith("DUBAN_")}
    yield
    for key in [key for key in os.environ if key.startswith("DUBAN_")]:
        del os.environ[key]
    os.environ.update(saved)


@pytest.fixture(scope="session")
def prefect_harness():
    """The temporary server takes seconds to start: one per session, for the tests that run real flows."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    """Where the browser tests save their pictures: a temporary folder, so `make test` leaves the clone
    clean; the README's docs/screenshots/ only when asked (`make screenshots`, DUBAN_SCREENSHOTS=1)."""
    if os.environ.get("DUBAN_SCREENSHOTS", "") not in ("", "0"):
        folder = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh DUBAN_HOME with its SQLite database, as a new user has."""
    path = tmp_path / "home"
    monkeypatch.setenv("DUBAN_HOME", str(path))
    monkeypatch.delenv("DUBAN_DATABASE_URL", raising=False)
    monkeypatch.setenv("DUBAN_NOTIFIER", "outbox")
    return path


# Loopback peers for the delivery tests: a fake clock shared by the robot server and the rate limiter.


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def robot(clock):
    with RobotPeer(clock) as peer:
        yield peer


@pytest.fixture
def smtp():
    with SMTPPeer() as peer:
        yield peer
