"""Smoke: every flow and deployment loads, prefect.yaml names real entrypoints, schedules carry a zone."""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml
from prefect import Flow

from flows import FLOWS, deployments

ROOT = Path(__file__).resolve().parents[2]


def test_every_flow_is_a_prefect_flow_with_a_distinct_name():
    assert all(isinstance(f, Flow) for f in FLOWS)
    names = [f.name for f in FLOWS]
    assert len(names) == len(set(names))
    assert {
        "supervise", "bulletin", "decide", "deployment", "implementation", "self_check", "remediation",
        "acceptance"} <= set(names)


def test_served_deployments_have_zoned_schedules_and_a_concurrency_limit_of_one():
    built = deployments({"chengdu-2023": "Asia/Shanghai"})
    assert all(d.parameters == {"program": "chengdu-2023"} for d in built)
    assert [d.name for d in built] == [
        "chengdu-2023-daily-check",
        "chengdu-2023-weekly-bulletin",
        "chengdu-2023-decide",
    ]
    for deployment in built[:2]:
        assert deployment.concurrency_limit == 1
        assert all(s.schedule.timezone == "Asia/Shanghai" for s in deployment.schedules)
    assert built[0].schedules[0].schedule.cron == "30 8 * * *"


def test_prefect_yaml_entrypoints_import_and_schedules_name_their_zone():
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text("utf-8"))
    served = [d.name for d in deployments({"chengdu-2023": "Asia/Shanghai"})]
    assert [d["name"] for d in config["deployments"]] == served  # the same three, by the same names
    for deployment in config["deployments"]:
        path, name = deployment["entrypoint"].split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert isinstance(getattr(module, name), Flow)
        assert set(deployment["parameters"]) == {"program"}  # never a database URL: Prefect shows parameters
        if deployment.get("schedules"):
            assert deployment["concurrency_limit"] == 1
            assert all(schedule["timezone"] == "Asia/Shanghai" for schedule in deployment["schedules"])
