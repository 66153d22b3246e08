"""No secret anywhere: not in logs (captured at DEBUG), the outbox, the results, or any table of the database."""

from __future__ import annotations

import json
import logging
import socket
from datetime import timedelta

import pytest

from bench.peers import (
    Reply,
    SMTPPeer,
    database,
    dump_database,
    make_message,
    settings_for,
)
from notifications import ledger
from notifications.apprise_notifier import AppriseNotifier
from notifications.channels import mask_url
from notifications.outbox import OutboxNotifier
from notifications.secrets import (
    REDACTOR,
    SecretResolver,
    SecretUnavailable,
    block_name,
    load_prefect_secret,
)

SECRETS = {
    "MSA_DT_TOKEN": "b6c9a1f04e7d4a5f9e3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e",
    "MSA_DT_SECRET": "SEC5e1f0c9d8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f",
    "MSA_WECOM_KEY": "693a91f6-7a0c-4bc4-97a0-0ec2sifa5aaa",
    "MSA_FEISHU_TOKEN": "8a3f1c2e-9b7d-4e6f-a1c3-5d7e9f0b2c4a",
    "MSA_SMTP_PASS": "Gov-Mail-p@ss/2024!",
    "MSA_GW_TOKEN": "gw-7f3e9a1b5c2d8e4f6a0b",
}
LITERAL_TOKEN = "literal0token0in0units0yaml0abcdef0123"


@pytest.fixture
def secrets_env(monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return SECRETS


def test_no_secret_in_logs_outbox_results_or_database(tmp_path, robot, clock, secrets_env, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "apprise", "urllib3", "duban"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    sessions = database(tmp_path)
    settings = settings_for(tmp_path, robot, timeout=0.3)
    robot.dingtalk_secrets[SECRETS["MSA_DT_TOKEN"]] = SECRETS["MSA_DT_SECRET"]
    robot.script(SECRETS["MSA_WECOM_KEY"], Reply.http(500), Reply.code(93000, "invalid webhook url"))
    robot.script(SECRETS["MSA_FEISHU_TOKEN"], Reply.slow(0.6))
    robot.script(LITERAL_TOKEN, Reply.code(310000, "keywords not in content"))
    port = robot.server.server_address[1]
    results = []
    with SMTPPeer(users={"duban": SECRETS["MSA_SMTP_PASS"]}) as smtp:
        urls = [
            "dingtalk://${MSA_DT_TOKEN}/${MSA_DT_SECRET}",
            "wecombot://${MSA_WECOM_KEY}",
            "feishu://${MSA_FEISHU_TOKEN}",
            f"mailto://duban:${{MSA_SMTP_PASS}}@{smtp.host}:{smtp.port}?to=zhangsan@msa.gov.cn&from=duban@ipo.gov.cn",
            f"json://127.0.0.1:{port}/gateway/hook?-token=${{MSA_GW_TOKEN}}&+Authorization=${{MSA_GW_TOKEN}}",
            f"dingtalk://{LITERAL_TOKEN}",
            "dingtalk://${MSA_MISSING_TOKEN}",
        ]
        notifier = AppriseNotifier(
            sessions, settings, clock, sleep=clock.sleep, retry_attempts=2, max_wait=timedelta(0),
            resolver=SecretResolver(block_loader=None),
        )  # fmt: skip
        with notifier:
            results.append(notifier.send(make_message(urls, message_id="m-1")))
            results.append(notifier.send(make_message(urls, message_id="m-2")))
        assert smtp.logins[0] == ("duban", SECRETS["MSA_SMTP_PASS"])  # the secret was really used
        assert len(smtp.messages) == 2
    outbox = OutboxNotifier(tmp_path / "outbox.jsonl", sessions)
    results.append(outbox.send(make_message(urls, message_id="m-3")))

    # The peers did receive the real values: the expansion happened.
    assert robot.of("dingtalk", SECRETS["MSA_DT_TOKEN"])[0].answer == {"errcode": 0, "errmsg": "ok"}
    assert robot.of("gateway")[0].query == {"token": SECRETS["MSA_GW_TOKEN"]}
    assert robot.of("gateway")[0].headers["Authorization"] == SECRETS["MSA_GW_TOKEN"]
    assert results[0].state == "delivered" and len(results[0].alerts) == 3  # wecom, literal dingtalk, missing

    secrets = [*SECRETS.values(), LITERAL_TOKEN]
    places = {
        "logs": caplog.text + "\n".join(r.getMessage() for r in caplog.records),
        "outbox": (tmp_path / "outbox.jsonl").read_text(encoding="utf-8"),
        "results": repr(results),
        "database": dump_database(sessions),
        "artifacts": json.dumps(  # what the check publishes and `duban deliveries --json` prints
            [ledger.list_deliveries(sessions(), "chengdu-2023"), ledger.broken_channels(sessions())],
            ensure_ascii=False,
        ),
    }
    assert "HTTP Request: POST" in places["logs"]  # httpx did log its request lines, redacted
    assert "${MSA_DT_TOKEN}" in places["database"]  # channels are shown by their variable names
    for where, text in places.items():
        for secret in secrets:
            assert secret not in text, f"a secret leaked into {where}"
            assert secret.replace("/", "%2F").replace("@", "%40").replace("!", "%21") not in text, where


def test_mask_url_never_shows_a_literal_secret():
    assert mask_url(f"dingtalk://{LITERAL_TOKEN}/SECabcdef0123456789") == "dingtalk://l...3/****"
    assert mask_url("mailto://duban:hunter2hunter2@smtp.gov.cn:465?to=a@b.cn&mode=ssl") == (
        "mailto://duban:****@smtp.gov.cn:465?to=a@b.cn&mode=ssl"
    )
    assert mask_url(
        "json://gw.gov.cn/api/9f8e7d6c5b4a39281706f5e4d3c2b1a0?-token=abcdefgh123&+X-Api-Key=k1234567"
    ) == ("json://gw.gov.cn/api/9...0?-token=****&+X-Api-Key=****")
    assert mask_url("${MSA_DINGTALK_URL}") == "${MSA_DINGTALK_URL}"


def test_a_variable_holding_a_whole_url_is_shown_masked(tmp_path, robot, clock, monkeypatch):
    monkeypatch.setenv("MSA_ROBOT_URL", f"dingtalk://{LITERAL_TOKEN}")
    notifier = AppriseNotifier(
        database(tmp_path), settings_for(tmp_path, robot), clock, resolver=SecretResolver(block_loader=None)
    )
    with notifier:
        result = notifier.send(make_message(["${MSA_ROBOT_URL}"]))
    assert result.state == "delivered" and result.channel == "dingtalk://l...3"


def test_block_names_follow_prefect_rules():
    assert block_name("MSA_DT_TOKEN") == "msa-dt-token"
    assert block_name("__Odd__Name__") == "odd-name"


def test_secret_blocks_are_consulted_when_the_environment_has_nothing(monkeypatch):
    monkeypatch.delenv("MSA_DT_TOKEN", raising=False)
    asked = []

    def blocks(name):  # stands in for Prefect's Secret.load(name).get()
        asked.append(name)
        return {"msa-dt-token": "from-a-prefect-block-123"}.get(name)

    resolver = SecretResolver(block_loader=blocks)
    assert resolver.expand("dingtalk://${MSA_DT_TOKEN}") == "dingtalk://from-a-prefect-block-123"
    assert resolver.expand("dingtalk://${MSA_DT_TOKEN}") == "dingtalk://from-a-prefect-block-123"
    assert asked == ["msa-dt-token"]  # cached for the resolver's life
    with pytest.raises(SecretUnavailable, match=r"no Prefect Secret block 'msa-other'"):
        resolver.expand("wecombot://${MSA_OTHER}")
    assert REDACTOR.redact("token=from-a-prefect-block-123") == "token=****"


def test_expanded_values_are_percent_encoded_inside_a_url(monkeypatch):
    monkeypatch.setenv("P", "p@ss/word?&")
    assert (
        SecretResolver(block_loader=None).expand("mailto://u:${P}@h?to=a@b.cn")
        == "mailto://u:p%40ss%2Fword%3F%26@h?to=a@b.cn"
    )


def test_no_prefect_api_fails_cleanly(monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket is closed
    from prefect.settings import PREFECT_API_URL, temporary_settings

    dead = f"http://127.0.0.1:{port}/api"
    monkeypatch.setenv("PREFECT_API_URL", dead)
    # Override any Prefect test server another test may have started in this process.
    with temporary_settings({PREFECT_API_URL: dead}):
        with pytest.raises(SecretUnavailable, match="Prefect API not reachable"):
            load_prefect_secret("msa-dt-token")
