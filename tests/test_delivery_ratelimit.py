"""The shared rate limiter: a sliding window per robot in the database, atomic across engines and processes."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import sessionmaker

from bench.peers import (
    FakeClock,
    RobotPeer,
    database,
    database_url,
    make_message,
    second_engine,
    settings_for,
)
from db.engine import forget_engines, get_engine
from notifications.apprise_notifier import AppriseNotifier
from notifications.ratelimit import DEFAULT_LIMITS, Limit, RateLimiter
from notifications.secrets import SecretResolver

DT = "dt-shared-robot-0123456789abcdef"
T0 = datetime(2024, 3, 4, 1, 0, tzinfo=UTC)


def test_twenty_a_minute_then_the_slot_frees_when_the_first_leaves_the_window(tmp_path, clock):
    limiter = RateLimiter(database(tmp_path), clock)
    limits = DEFAULT_LIMITS["dingtalk"]
    start = clock()
    for _ in range(20):
        assert limiter.acquire("robot", limits).ok
        clock.advance(1)
    refused = limiter.acquire("robot", limits)
    assert (refused.ok, refused.reason, refused.retry_at) == (
        False,
        "rate_limited",
        start + timedelta(minutes=1),
    )
    assert limiter.next_slot("robot", limits) == start + timedelta(minutes=1)
    assert limiter.acquire("another robot", limits).ok  # limits are per key
    clock.advance(seconds=(start + timedelta(minutes=1) - clock()).total_seconds())
    assert limiter.acquire("robot", limits).ok  # the first send left the window
    assert not limiter.acquire("robot", limits).ok  # the second has not yet


def test_block_holds_every_slot_and_is_never_shortened(tmp_path, clock):
    limiter = RateLimiter(database(tmp_path), clock)
    limits = DEFAULT_LIMITS["wecombot"]
    limiter.block("robot", clock() + timedelta(minutes=10))
    limiter.block("robot", clock() + timedelta(minutes=1))
    slot = limiter.acquire("robot", limits)
    assert (slot.ok, slot.reason, slot.retry_at) == (False, "blocked", clock() + timedelta(minutes=10))
    clock.advance(minutes=10)
    assert limiter.acquire("robot", limits).ok


def test_feishu_has_a_per_second_limit_too(tmp_path, clock):
    limiter = RateLimiter(database(tmp_path), clock)
    limits = DEFAULT_LIMITS["feishu"]
    assert [limiter.acquire("bot", limits).ok for _ in range(6)] == [True] * 5 + [False]
    clock.advance(1)
    assert limiter.acquire("bot", limits).ok


def test_two_concurrent_senders_with_their_own_engines_stay_within_twenty_a_minute(tmp_path, robot, clock):
    engines = [database(tmp_path), second_engine(tmp_path)]
    settings = settings_for(tmp_path, robot)
    results: list[list[str]] = [[], []]

    def run(index: int) -> None:
        notifier = AppriseNotifier(
            engines[index], settings, clock, sleep=clock.sleep, max_wait=timedelta(0),
            resolver=SecretResolver(block_loader=None),
        )  # fmt: skip
        with notifier:
            for i in range(30):
                results[index].append(
                    notifier.send(make_message([f"dingtalk://{DT}"], message_id=f"s{index}-{i}")).state
                )

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    states = results[0] + results[1]
    assert states.count("delivered") == 20 and states.count("deferred") == 40
    assert len(robot.of("dingtalk")) == 20 and robot.over_limit_answers == 0

    clock.advance(seconds=59)
    notifier = AppriseNotifier(
        engines[1], settings, clock, max_wait=timedelta(0), resolver=SecretResolver(block_loader=None)
    )
    with notifier:
        assert notifier.send(make_message([f"dingtalk://{DT}"], message_id="new-0")).state == "deferred"
        clock.advance(seconds=1)
        ids = [f"s{index}-{i}" for index in range(2) for i in range(30)]
        resent = [notifier.send(make_message([f"dingtalk://{DT}"], message_id=m)).state for m in ids]
    # The twenty sent at T0 left the window: twenty of the forty deferred go now, the delivered are not repeated.
    assert resent.count("delivered") == 40 and resent.count("deferred") == 20
    assert len(robot.of("dingtalk")) == 40 and robot.over_limit_answers == 0


def test_waiting_for_slots_drains_a_queue_without_ever_passing_the_limit(tmp_path, robot, clock):
    sessions = database(tmp_path)
    notifier = AppriseNotifier(
        sessions, settings_for(tmp_path, robot), clock, sleep=clock.sleep, max_wait=timedelta(seconds=65),
        resolver=SecretResolver(block_loader=None),
    )  # fmt: skip
    start = clock()
    with notifier:
        states = [
            notifier.send(make_message([f"dingtalk://{DT}"], message_id=f"m{i}")).state for i in range(45)
        ]
    assert states == ["delivered"] * 45
    times = [r.at for r in robot.of("dingtalk")]
    assert robot.over_limit_answers == 0
    assert max(sum(1 for t in times if a <= t < a + timedelta(minutes=1)) for a in times) == 20
    assert clock() - start == timedelta(minutes=2)  # 20 at once, 20 a minute later, 5 two minutes later


def _process_sender(index: int, url: str, home: str, endpoint: str, count: int, start, barrier, out) -> None:
    from duban.settings import Settings

    forget_engines()  # a forked child opens its own engine and connections

    sessions = sessionmaker(get_engine(url), expire_on_commit=False)
    settings = Settings(home=home, dingtalk_endpoint=endpoint, http_timeout_seconds=2)
    fixed = FakeClock(start)
    notifier = AppriseNotifier(
        sessions, settings, fixed, max_wait=timedelta(0), resolver=SecretResolver(block_loader=None)
    )
    barrier.wait()
    states = [
        notifier.send(make_message([f"dingtalk://{DT}"], message_id=f"p{index}-{i}")).state
        for i in range(count)
    ]
    notifier.close()
    out.put(states)


def test_two_processes_share_the_limit(tmp_path):
    database(tmp_path)  # migrate once, up front
    context = multiprocessing.get_context("fork")
    with RobotPeer(FakeClock(T0)) as peer:
        barrier = context.Barrier(2)
        out = context.Queue()
        endpoint = f"{peer.url}/robot/send"
        processes = [
            context.Process(
                target=_process_sender,
                args=(index, database_url(tmp_path), str(tmp_path), endpoint, 15, T0, barrier, out),
            )
            for index in range(2)
        ]
        for process in processes:
            process.start()
        states = out.get(timeout=30) + out.get(timeout=30)
        for process in processes:
            process.join(timeout=30)
        assert states.count("delivered") == 20 and states.count("deferred") == 10
        assert len(peer.of("dingtalk")) == 20 and peer.over_limit_answers == 0


def test_limits_can_be_configured(tmp_path, robot, clock):
    notifier = AppriseNotifier(
        database(tmp_path), settings_for(tmp_path, robot), clock, max_wait=timedelta(0),
        limits={"dingtalk": (Limit(2, timedelta(minutes=1)),)}, resolver=SecretResolver(block_loader=None),
    )  # fmt: skip
    with notifier:
        states = [
            notifier.send(make_message([f"dingtalk://{DT}"], message_id=f"m{i}")).state for i in range(3)
        ]
    assert states == ["delivered", "delivered", "deferred"]
