"""督办单号: each digest message's number, counted per program and year, taken once with the message."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.core import Base


class DigestNumber(Base):
    """A message keeps its number when a later attempt resumes it; numbers are never reused."""

    __tablename__ = "digest_numbers"
    __table_args__ = (UniqueConstraint("program_id", "year", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    message_id: Mapped[str] = mapped_column(String(128), unique=True)
