"""Prefect's temporary server as a child process we own: it dies with the command, even under `kill -9`.

Without PREFECT_API_URL, Prefect starts a temporary server (uvicorn in a subprocess) on first use and stops it
at
exit (atexit). A SIGKILLed command runs no atexit: the server stayed up for good. So `duban supervise` starts
it
itself, from the main thread, with the kernel told to SIGKILL it when its parent dies (Linux
PR_SET_PDEATHSIG),
and registers it where Prefect looks for its temporary server, so Prefect uses this one instead of starting
its own.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import prefect
from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

PR_SET_PDEATHSIG = 1


def _die_with(parent: int):
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)

    def in_child() -> None:  # between fork and exec, in the server's process
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the line above: nobody is left to serve
            os._exit(1)

    return in_child


class OwnedTemporaryServer(SubprocessASGIServer):
    def _run_uvicorn_command(self) -> subprocess.Popen[Any]:
        # Prefect 3.8.8's own command for its temporary server, started bound to this process's life.
        return subprocess.Popen(
            args=[
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                str(prefect.__module_path__.parent),
                "--factory",
                "prefect.server.api.server:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env={
                **os.environ,
                "PREFECT_UI_ENABLED": "0",
                "PREFECT__SERVER_EPHEMERAL": "1",
                "PREFECT__SERVER_FINAL": "1",
                **get_current_settings().to_environment_variables(exclude_unset=True),
            },
            preexec_fn=_die_with(os.getpid()) if sys.platform.startswith("linux") else None,
        )


@contextmanager
def temporary_server(timeout: float) -> Iterator[OwnedTemporaryServer | None]:
    """The temporary server for one command, unless a real one is configured (PREFECT_API_URL); `timeout`:
    seconds it may take to start (6–60 s on a busy machine)."""
    if PREFECT_API_URL.value():
        yield None
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = OwnedTemporaryServer(port=port)
    prior = SubprocessASGIServer._instances.get(None)
    SubprocessASGIServer._instances[None] = server  # what Prefect's own `SubprocessASGIServer()` calls return
    try:
        server.start(timeout=timeout)
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            yield server
    finally:
        server.stop()
        if prior is None:
            SubprocessASGIServer._instances.pop(None, None)
        else:
            SubprocessASGIServer._instances[None] = prior
