"""The end of a `duban` process: the command's databases are closed before the interpreter's teardown is
skipped (duban.cli.main), so SQLite folds its write-ahead log back into the database file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINT = "import sys; from duban.cli import main; sys.argv[0] = 'duban'; main()"


def duban(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DUBAN_HOME": str(home), "DUBAN_NOTIFIER": "outbox"}
    env.pop("DUBAN_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-c", ENTRY_POINT, *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)


def test_a_command_leaves_its_database_whole_with_no_write_ahead_log(tmp_path):
    home = tmp_path / "home"
    done = duban(home, "plan", "import", str(ROOT / "plans" / "county-ip-2023"))
    assert done.returncode == 0, done.stderr[-2000:]
    database = home / "duban.db"
    assert database.is_file()
    assert not Path(f"{database}-wal").exists() and not Path(f"{database}-shm").exists()
    with sqlite3.connect(database) as connection:  # what the command wrote is in the file itself
        assert connection.execute("SELECT count(*) FROM tasks").fetchone()[0] > 0
