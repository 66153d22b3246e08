"""A dispatch writes its digests from reads alone, then claims them in a short write at the end of its
transaction: SQLite's write lock is never held while a digest is written, so checks of other programs on the
same database (a process pool) wait only for the claims. A message whose claim differs from what it was
written for (an overlapping check took its 督办单号 or one of its notices meanwhile) is written again for what
it holds."""

from __future__ import annotations

import importlib
import sqlite3
from collections import Counter
from datetime import date

from notifications import OutboxNotifier, dispatch
from tests.support.programs import at, check, notices, outbox_lines, setup

DISPATCH = importlib.import_module("notifications.dispatch")  # the package exports a function of that name
DAY = date(2023, 3, 6)


def queued(tmp_path):
    wired = setup(tmp_path)
    check(wired, DAY, 7)  # before the sending window: claimed, queued
    return wired


def another_connection(wired) -> sqlite3.Connection:
    """Another writer on the same database, which never waits for the lock."""
    return sqlite3.connect(wired.settings.db_url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)


def while_writing_digests(monkeypatch, act) -> None:
    """`act()` runs each time the dispatch writes a digest."""
    real = DISPATCH.render_digest

    def rendering(**kwargs):
        act()
        return real(**kwargs)

    monkeypatch.setattr(DISPATCH, "render_digest", rendering)


def send(wired):
    return dispatch(wired.sessions, "demo-city", OutboxNotifier(wired.settings.outbox_path, wired.sessions),
                    at(DAY, 9), DAY)


def numbers_sent(wired) -> dict[str, int]:
    """Each message's 督办单号 as its text says it (示知督〔2023〕N号)."""
    return {line["message"]: int(line["text"].split("督办单号：")[1].split("〕")[1].split("号")[0])
            for line in outbox_lines(wired)}


def numbers_taken(connection: sqlite3.Connection) -> dict[str, int]:
    return dict(connection.execute("SELECT message_id, seq FROM digest_numbers"))


def test_no_digest_is_written_while_the_dispatch_holds_the_write_lock(tmp_path, monkeypatch):
    wired = queued(tmp_path)
    other, locked = another_connection(wired), []

    def another_program_writes():
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        except sqlite3.OperationalError as error:  # database is locked
            locked.append(str(error))

    while_writing_digests(monkeypatch, another_program_writes)
    result = send(wired)
    assert result.messages == len(outbox_lines(wired)) > 1 and locked == []
    assert not notices(wired, state="queued") and not notices(wired, state="sending")


def test_a_number_another_check_took_meanwhile_is_never_sent_the_digest_is_written_again(tmp_path,
                                                                                        monkeypatch):
    wired = queued(tmp_path)
    other, intruder = another_connection(wired), []

    def another_check_numbers_its_message():
        if not intruder:  # the number the first digest is being written with
            [(top,)] = other.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM digest_numbers").fetchall()
            intruder.append(top)
            other.execute("INSERT INTO digest_numbers (program_id, year, seq, message_id) "
                          "VALUES ('demo-city', 2023, ?, 'another-check')", intruder)

    while_writing_digests(monkeypatch, another_check_numbers_its_message)
    send(wired)
    sent, taken = numbers_sent(wired), numbers_taken(other)
    assert len(sent) > 1 and intruder == [1]
    assert all(taken[message] == number for message, number in sent.items())
    assert sorted(sent.values()) == list(range(2, len(sent) + 2))  # the intruder's 1 is nobody's here


def test_a_notice_another_check_took_meanwhile_is_neither_listed_nor_sent_again(tmp_path, monkeypatch):
    wired = queued(tmp_path)
    waiting = notices(wired, state="queued", audience="unit")
    unit = Counter(n.unit_id for n in waiting).most_common(1)[0][0]
    owed = [n for n in waiting if n.unit_id == unit]
    codes = Counter(n.task_code for n in owed)
    stolen = next(n for n in owed if n.task_code and codes[n.task_code] == 1)
    other, taken = another_connection(wired), []

    def another_check_takes_a_notice():
        if not taken:
            taken.append(other.execute("UPDATE notices SET state = 'sending', message_id = 'another-check' "
                                       "WHERE id = ? AND state = 'queued'", (stolen.id,)).rowcount)

    while_writing_digests(monkeypatch, another_check_takes_a_notice)
    send(wired)
    ours = [line for line in outbox_lines(wired) if set(line["notice_ids"]) & {n.id for n in owed}]
    assert taken == [1] and ours
    assert sorted(i for line in ours for i in line["notice_ids"]) == sorted(n.id for n in owed if n != stolen)
    code = stolen.task_code
    assert all(code not in line["tasks"] and code not in line["text"] for line in ours)
