"""A throwaway PostgreSQL cluster on a free loopback port, in a temporary folder (as the `postgres` user when
the tests run as root, since initdb refuses root). `postgres_binaries()` is None where the machine has no
server binaries: the tests that need one skip there, and only there."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest

from bench.peers import free_port


def postgres_binaries() -> Path | None:
    found = shutil.which("initdb")
    candidates = [found] if found else sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    # /usr/local/bin may hold links to a few of them: the folder that really has initdb has them all.
    return Path(candidates[0]).resolve().parent if candidates and candidates[0] else None


@dataclass(frozen=True)
class Cluster:
    binaries: Path
    folder: Path
    port: int
    user: ClassVar[str] = "duban"  # the superuser initdb creates; clients connect as it

    def _run(self, *command: str) -> subprocess.CompletedProcess:
        return _as_owner(self.folder, [str(self.binaries / command[0]), *command[1:]])

    def create_database(self, name: str) -> None:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, name)

    def url(self, name: str, driver: str = "psycopg", password: str | None = None) -> str:
        """Trust authentication ignores the password; a URL may still carry one, as a real installation's
        does."""
        secret = f":{password}" if password else ""
        return f"postgresql+{driver}://{self.user}{secret}@127.0.0.1:{self.port}/{name}"

    def dump(self, name: str) -> str:
        """Everything the database holds, as SQL text: what a grep for a secret must not find."""
        return self._run(
            "pg_dump", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, name
        ).stdout.decode("utf-8", errors="replace")


def _as_owner(folder: Path, command: list[str]) -> subprocess.CompletedProcess:
    preexec = None
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")

        def preexec():  # runs in the child before exec
            os.setgid(entry.pw_gid)
            os.setuid(entry.pw_uid)

    return subprocess.run(command, check=True, capture_output=True, preexec_fn=preexec, cwd=folder)


@contextmanager
def postgres_cluster() -> Iterator[Cluster]:
    binaries = postgres_binaries()
    if binaries is None:
        raise RuntimeError("no PostgreSQL server binaries (initdb) on this machine")
    folder = Path(tempfile.mkdtemp(prefix="duban-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        folder.chmod(0o700)
    cluster, data = Cluster(binaries, folder, free_port()), folder / "data"
    _as_owner(folder, [str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", cluster.user])
    _as_owner(folder, [str(binaries / "pg_ctl"), "-D", str(data), "-w", "-l", str(folder / "log"), "-o",
                       f"-k {folder} -p {cluster.port} -c listen_addresses=127.0.0.1", "start"])
    try:
        yield cluster
    finally:
        _as_owner(folder, [str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"])
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def cluster_or_skip() -> Iterator[Cluster]:
    """A throwaway cluster for a test, which is skipped where the machine has no server binaries or no
    psycopg, and only there."""
    pytest.importorskip("psycopg")
    if postgres_binaries() is None:
        pytest.skip("no PostgreSQL server binaries (initdb) on this machine")
    with postgres_cluster() as cluster:
        yield cluster
