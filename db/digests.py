"""督办单号: a digest message's number, counted per program and calendar year.

The number is taken inside the transaction that claims the message's notices, so a digest that is never
sent (its claim rolled back) takes none; a message resumed under its id keeps its number. Two overlapping
checks that reach for the same number collide on the unique (program, year, seq): the loser takes the next.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import DigestNumber

ATTEMPTS = 20


def digest_number(session: Session, program_id: str, year: int, message_id: str) -> int:
    taken = session.scalar(select(DigestNumber.seq).where(DigestNumber.message_id == message_id))
    if taken is not None:
        return taken
    for _ in range(ATTEMPTS):
        last = session.scalar(select(func.max(DigestNumber.seq))
                              .where(DigestNumber.program_id == program_id, DigestNumber.year == year))
        try:
            with session.begin_nested():
                session.add(DigestNumber(program_id=program_id, year=year, seq=(last or 0) + 1,
                                         message_id=message_id))
            return (last or 0) + 1
        except IntegrityError:
            continue  # an overlapping check took that number first
    raise RuntimeError(f"digest number: {ATTEMPTS} attempts collided with overlapping checks")
