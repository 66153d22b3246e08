"""A real `prefect server start` on a free loopback port, for the tests that need what only it has: the
scheduler, work pools and workers, the UI.

    with PrefectServer.start(tmp_path) as server:
        server.run("prefect", "deployment", "ls")              # CLI against it, checked
        worker = server.spawn("prefect", "worker", "start", "--pool", "duban")
        server.api("POST", "/flow_runs/filter", json={...})   # the REST API

Each server has its own PREFECT_HOME (and database unless `database_url` is given), analytics off, the
scheduler loop shortened with Prefect's own setting, and a long start-up timeout: it takes 6–60 s to start
on a busy 2-core machine. Everything it started (the server, workers, `duban serve`) is stopped by killing its
process group when the block ends, whatever happened.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.peers import free_port

BIN = Path(sys.executable).parent  # the venv's prefect and duban
STARTUP_TIMEOUT_SECONDS = 180


@dataclass
class PrefectServer:
    folder: Path
    port: int
    env: dict[str, str]  # what a client process needs: PREFECT_API_URL, PREFECT_HOME, analytics off
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    @classmethod
    @contextmanager
    def start(cls, folder: Path, *, database_url: str | None = None, scheduler_loop_seconds: int = 2,
              extra_env: dict[str, str] | None = None,
              startup_timeout: float = STARTUP_TIMEOUT_SECONDS) -> Iterator[PrefectServer]:
        folder.mkdir(parents=True, exist_ok=True)
        port = free_port()
        home = folder / "prefect-home"
        env = {key: value for key, value in os.environ.items() if not key.startswith(("PREFECT_", "DUBAN_"))}
        env.update({
            "PREFECT_HOME": str(home), "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING",
            "PREFECT_CLI_PROMPT": "false", "PREFECT_WORKER_QUERY_SECONDS": "2", "PYTHONUNBUFFERED": "1",
            "COLUMNS": "240",  # the CLI's tables in full
            **(extra_env or {}),
        })
        server_env = {
            **env, "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": str(scheduler_loop_seconds),
            "PREFECT_SERVER_API_HOST": "127.0.0.1", "PREFECT_SERVER_API_PORT": str(port),
            # The UI asks this address for its API: needed whenever the port is not 4200.
            "PREFECT_UI_API_URL": f"http://127.0.0.1:{port}/api", "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        }
        if database_url:
            server_env["PREFECT_API_DATABASE_CONNECTION_URL"] = database_url
        server = cls(folder, port, env)
        try:
            server.processes.append(
                server._popen([str(BIN / "prefect"), "server", "start"], server_env, "server")
            )
            server._wait_healthy(startup_timeout)
            yield server
        finally:
            server.stop()

    def _popen(self, command: list[str], env: dict[str, str], name: str) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        return subprocess.Popen(
            command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.processes[0].poll() is not None:
                raise RuntimeError(
                    f"prefect server start exited {self.processes[0].returncode}:\n{self.log('server')}"
                )
            try:
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"prefect server start not healthy after {timeout} s:\n{self.log('server')}")

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text("utf-8", errors="replace")[-6000:] if path.exists() else ""

    def command_env(self, **extra: str) -> dict[str, str]:
        return {**self.env, **extra}

    def run(self, *command: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        """A command against this server (a venv script by name, e.g. "prefect", "duban"); checked by
        default."""
        program = str(BIN / command[0]) if (BIN / command[0]).exists() else command[0]
        result = subprocess.run([program, *command[1:]], env={**self.env, **(env or {})}, cwd=cwd, text=True,
                                capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def run_all(self, *commands: tuple[str, ...], env: dict[str, str] | None = None,
                cwd: Path | None = None) -> list[subprocess.CompletedProcess]:
        """Independent commands at once, each checked as by `run`: the CLI's start-up (seconds of imports)
        is most of their time, and on a busy machine they wait less side by side than one after another."""
        with ThreadPoolExecutor(max_workers=len(commands)) as pool:
            return list(pool.map(lambda command: self.run(*command, env=env, cwd=cwd), commands))

    def spawn(self, *command: str, name: str, env: dict[str, str] | None = None,
              cwd: Path | None = None) -> subprocess.Popen:
        """A long-running process (a worker, `duban serve`), stopped with the server; output in
        `log(name)`."""
        program = str(BIN / command[0]) if (BIN / command[0]).exists() else command[0]
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [program, *command[1:]],
            env={**self.env, **(env or {})},
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def api(self, method: str, path: str, **kwargs) -> httpx.Response:
        """One API call, retried as Prefect's own client retries it: a busy server (its SQLite locked by
        another request) answers 503 or 429 for a moment."""
        for attempt in range(5):
            response = httpx.request(method, f"{self.api_url}{path}", timeout=30, **kwargs)
            if response.status_code not in (429, 503):
                break
            time.sleep(2**attempt)
        response.raise_for_status()
        return response

    def flow_runs(self, **filters) -> list[dict]:
        return self.api("POST", "/flow_runs/filter", json={"limit": 200, **filters}).json()

    def wait_for(self, condition, timeout: float = 180, interval: float = 1.0, what: str = "condition"):
        """Polls `condition()` until it returns something truthy; fails with the logs of what runs here."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found := condition():
                return found
            time.sleep(interval)
        logs = "\n".join(f"--- {p.name}\n{p.read_text('utf-8', errors='replace')[-3000:]}"
                         for p in sorted(self.folder.glob("*.log")))
        raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{logs}")

    def stop(self) -> None:
        """Kills every process group this server started (workers and served flows first, then the server)."""
        for process in reversed(self.processes):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for process in reversed(self.processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait(timeout=10)
            # A flow run's own subprocess may outlive its worker: its group is the worker's.
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
