"""`kill -9` of a command that started Prefect's temporary server takes the server down with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

CHILD = """
import time
from duban.prefect_server import temporary_server
with temporary_server(180) as server:
    print(server.server_process.pid, flush=True)
    time.sleep(600)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie waiting for its (dead) parent counts as gone
        return stat.read().split(") ", 1)[1][0] != "Z"


def test_the_temporary_server_dies_with_a_killed_command(tmp_path):
    environment = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    environment["PREFECT_HOME"] = str(tmp_path / "prefect")
    command = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdout=subprocess.PIPE, env=environment, text=True
    )
    server = 0
    try:
        server = int(command.stdout.readline())  # printed once the server answers /health
        assert alive(server)
        command.send_signal(signal.SIGKILL)
        command.wait(timeout=30)
        deadline = time.monotonic() + 20
        while alive(server) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(server), "the temporary server outlived the killed command"
    finally:
        command.kill()
        if server and alive(server):
            os.kill(server, signal.SIGKILL)
