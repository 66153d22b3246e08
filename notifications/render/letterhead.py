"""A digest's letterhead from program.yaml's `contact`: the 督办单号, the issuing office, the contact line."""

from __future__ import annotations

from db import ProgramContext
from notifications.render.digest import Letterhead
from schedule import text


def contact_line(ctx: ProgramContext, coordinator_name: str) -> str:
    """联系人 and phone when program.yaml gives them, else the issuing office: whom a unit replies to."""
    contact, language = ctx.policies.contact, ctx.language
    office = contact.office or coordinator_name or text(language, "digest_text.contact")
    if contact.name and contact.phone:
        return f"{office} {text(language, 'notice.contact', name=contact.name, phone=contact.phone)}"
    return " ".join(part for part in (office, contact.name, contact.phone) if part)


def letterhead(ctx: ProgramContext, coordinator_name: str, seq: int, year: int) -> Letterhead:
    """`seq`: the message's number (db.digest_numbers), taken in the transaction that claims its notices."""
    language = ctx.language
    prefix = ctx.policies.contact.prefix or text(language, "notice.number_prefix")
    return Letterhead(number=text(language, "notice.number", prefix=prefix, year=year, seq=seq),
                      office=ctx.policies.contact.office or coordinator_name or None,
                      contact=contact_line(ctx, coordinator_name))
