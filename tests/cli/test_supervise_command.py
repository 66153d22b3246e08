"""`duban supervise` without a Prefect server: Prefect's temporary server gets duban's generous start-up
timeout and no telemetry, and a failure is one line and exit 1, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from duban import run_flow
from flows import Settings
from tests.support.factories import write_plan

BIN = Path(sys.executable).parent


def test_the_temporary_server_gets_a_generous_start_up_timeout_and_no_telemetry(monkeypatch):
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_SERVER_ANALYTICS_ENABLED,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
        temporary_settings,
    )

    monkeypatch.delenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", raising=False)
    # A configured server: the settings are what a temporary one would get, without starting one here.
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        seen = run_flow(Settings(), lambda: (PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value(),
                                             PREFECT_SERVER_ANALYTICS_ENABLED.value()))
        assert seen == (180, False)  # Prefect allows 20 s; a fresh home on a busy 2-core machine needed 54
        assert run_flow(Settings(prefect_startup_seconds=300),
                        lambda: PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()) == 300


def test_a_temporary_server_that_does_not_start_is_one_line_and_exit_1(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "DUBAN_"))}
    env.update({"DUBAN_HOME": str(tmp_path / "home"), "PREFECT_HOME": str(tmp_path / "prefect"),
                "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "1"})  # what a slow start looks like
    subprocess.run([str(BIN / "duban"), "plan", "import", str(write_plan(tmp_path))], env=env, check=True,
                   capture_output=True)
    result = subprocess.run([str(BIN / "duban"), "supervise", "demo-city", "--as-of", "2023-03-01"], env=env,
                            capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "telemetry" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("错误")]
    assert errors == [
        "错误: 每日检查未完成：Timed out while attempting to connect to ephemeral Prefect API server；"
        "请设置 PREFECT_API_URL 指向 Prefect 服务器，或调高 DUBAN_PREFECT_STARTUP_SECONDS"
    ]
