"""督办单号: a digest message's number, counted per program and calendar year.

The numbers are taken inside the transaction that claims the messages' notices, so a digest that is never
sent (its claim rolled back) takes none; a message resumed under its id keeps its number. A digest is written
before its claim, with the number foreseen for it (foresee_numbers); the claim takes the numbers foreseen
(take_numbers) unless an overlapping check took one first. Two overlapping checks that reach for the same
number collide on the unique (program, year, seq): the loser numbers its messages anew (digest_numbers),
and the dispatch writes again the digests whose number changed.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import TextClause, bindparam, func, select, text
from sqlalchemy.orm import Session

from db.bulk import core
from db.models import DigestNumber

ATTEMPTS = 20

# The next number of the program's year, or none when the message has one already or an overlapping check took
# that number first (DO NOTHING on either unique key). The same text on SQLite and PostgreSQL, compiled once.
_INSERT_NEXT = (
    "INSERT INTO digest_numbers (program_id, year, seq, message_id) "
    "SELECT CAST(:program_id AS VARCHAR), CAST(:year AS INTEGER), COALESCE(MAX(seq), 0) + 1, "
    "CAST(:message_id AS VARCHAR) FROM digest_numbers WHERE program_id = :program_id AND year = :year "
    "ON CONFLICT DO NOTHING")
_NEXT = text(f"{_INSERT_NEXT} RETURNING seq")
_KEPT = text("SELECT message_id, seq FROM digest_numbers WHERE message_id IN :ids").bindparams(
    bindparam("ids", expanding=True))
_TAKEN = text("SELECT seq FROM digest_numbers WHERE message_id = :message_id")


def digest_number(session: Session, program_id: str, year: int, message_id: str) -> int:
    """One statement for a new message; a resumed one reads the number it kept."""
    numbering = {"program_id": program_id, "year": year, "message_id": message_id}
    for _ in range(ATTEMPTS):
        seq = core(session, _NEXT, numbering).scalar()
        if seq is None:
            seq = core(session, _TAKEN, {"message_id": message_id}).scalar()
        if seq is not None:
            return seq
        # an overlapping check took that number first: the next statement sees its commit
    raise RuntimeError(f"digest number: {ATTEMPTS} attempts collided with overlapping checks")


def _next_each(count: int):
    """The next numbers of the program's year for `count` messages in their order (a VALUES list of
    (position, message id)), but for a message numbered already (resumed: it keeps its number, read after), in
    one statement returning (message id, number). The same text on SQLite and PostgreSQL (a VALUES list's
    columns are column1, column2 on both), compiled once per count."""
    rows = ", ".join(f"({i}, CAST(:m{i} AS VARCHAR))" for i in range(count))
    return text(
        "INSERT INTO digest_numbers (program_id, year, seq, message_id) "
        "SELECT CAST(:program_id AS VARCHAR), CAST(:year AS INTEGER), "
        "top.seq + ROW_NUMBER() OVER (ORDER BY m.column1), m.column2 "
        f"FROM (VALUES {rows}) AS m, (SELECT COALESCE(MAX(seq), 0) AS seq FROM digest_numbers "
        "WHERE program_id = :program_id AND year = :year) AS top "
        "WHERE NOT EXISTS (SELECT 1 FROM digest_numbers AS kept WHERE kept.message_id = m.column2) "
        "ON CONFLICT DO NOTHING RETURNING message_id, seq")


_NEXT_EACH: dict[int, TextClause] = {}  # count → its statement, built once


# The program's highest number of the year: a column a dispatch's first read carries (foresee_numbers' `top`).
TOP_NUMBER = (select(func.coalesce(func.max(DigestNumber.seq), 0))
              .where(DigestNumber.program_id == bindparam("program"), DigestNumber.year == bindparam("year"))
              .scalar_subquery())
_TOP = select(TOP_NUMBER)


class Foreseen(NamedTuple):
    numbers: dict[str, int]  # message id → its number, in the messages' order
    kept: set[str]  # the messages numbered already (resumed), which keep their number


def foresee_numbers(session: Session, program_id: str, year: int, message_ids: list[str],
                    resumed: set[str], top: int | None = None) -> Foreseen:
    """The numbers digest_numbers would give these messages now, by reads alone: a digest is written with
    its number before its claim takes it (take_numbers). A `resumed` message keeps the number it has. `top`:
    TOP_NUMBER, when the caller has just read it."""
    kept = dict(core(session, _KEPT, {"ids": sorted(resumed)}).all()) if resumed else {}
    if top is None:
        top = core(session, _TOP, {"program": program_id, "year": year}).scalar()
    numbers = {}
    for message_id in message_ids:
        if message_id not in kept:
            top += 1
        numbers[message_id] = kept.get(message_id, top)
    return Foreseen(numbers, set(kept))


# The foreseen numbers of a claim's new messages, one row each (an executemany): a row whose number or
# message an overlapping check took first is not inserted, and the row count says so.
_TAKE_FORESEEN = text(
    "INSERT INTO digest_numbers (program_id, year, seq, message_id) "
    "VALUES (:program_id, :year, :seq, :message_id) ON CONFLICT DO NOTHING")


def take_numbers(session: Session, program_id: str, year: int, message_ids: list[str],
                 foreseen: Foreseen) -> dict[str, int]:
    """The numbers of a claim's messages, in their order: those foreseen when the claim took all the
    messages foreseen and none of their numbers was taken meanwhile (one statement); else numbered anew
    (digest_numbers): a digest whose number differs from the one it was written with is written again."""
    if list(foreseen.numbers) == message_ids:
        rows = [{"program_id": program_id, "year": year, "seq": seq, "message_id": message_id}
                for message_id, seq in foreseen.numbers.items() if message_id not in foreseen.kept]
        if not rows or core(session, _TAKE_FORESEEN, rows).rowcount == len(rows):
            return dict(foreseen.numbers)
    return digest_numbers(session, program_id, year, message_ids)


def digest_numbers(session: Session, program_id: str, year: int, message_ids: list[str]) -> dict[str, int]:
    """The numbers of a dispatch's messages, in their order, in one statement (numbered, returned); a resumed
    message's kept number is read, and a message whose number an overlapping check took first tries again
    alone."""
    if not message_ids:
        return {}
    if len(message_ids) not in _NEXT_EACH:
        _NEXT_EACH[len(message_ids)] = _next_each(len(message_ids))
    numbers = dict(core(session, _NEXT_EACH[len(message_ids)], {"program_id": program_id, "year": year,
                                             **{f"m{i}": m for i, m in enumerate(message_ids)}}).all())
    if len(numbers) < len(message_ids):
        numbers.update(core(session, _KEPT, {"ids": [m for m in message_ids if m not in numbers]}).all())
    for message_id in message_ids:
        if message_id not in numbers:
            numbers[message_id] = digest_number(session, program_id, year, message_id)
    return numbers
