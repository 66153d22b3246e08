"""Notices: their keys, the exactly-once claim (the only writer of new notice rows), and the outbox read
model.

A key is `kind:program:part:…` — subject, recipient and audience, then the due date or slot — so a re-run, an
overlapping run or a catch-up run claims nothing twice, and a moved date re-arms the rungs.
"""

from __future__ import annotations

import json
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Select, String, Table, TextClause, bindparam, cast, func, literal, select, text, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.models import Notice, Program, Unit
from db.programs import ProgramContext


def notice_key(kind: str, program_id: str, *parts: object) -> str:
    """The one place a notice key is spelled: `kind:program:part:…`."""
    return ":".join((kind, program_id, *(str(part) for part in parts)))


def outbox_entries(session: Session, program_id: str | None = None) -> list[dict]:
    zones = {pid: ZoneInfo(tz) for pid, tz in session.execute(select(Program.id, Program.timezone))}
    query = (
        select(Notice.program_id, Notice.at, Notice.sent_at, Notice.kind, Notice.audience, Notice.task_code,
               Notice.message_id, Notice.channel, Notice.state, Notice.id, Unit.code)
        .join(Unit, Unit.id == Notice.unit_id)
        .order_by(Notice.at, Notice.id)
    )
    if program_id is not None:
        query = query.where(Notice.program_id == program_id)
    entries: OrderedDict[tuple, dict] = OrderedDict()
    for (
        program,
        at,
        sent_at,
        kind,
        audience,
        code,
        message_id,
        channel,
        state,
        notice_id,
        unit,
    ) in session.execute(query):
        # Unsent notices have no message yet: each stands alone until a dispatch groups it.
        key = (program, message_id or f"notice-{notice_id}", unit, audience, kind)
        entry = entries.get(key)
        if entry is None:
            zone = zones[program]  # shown in the program's time zone, as its coordinator reads the clock
            entry = entries[key] = {"at": at.astimezone(zone).isoformat(), "program": program, "unit": unit,
                                    "audience": audience, "kind": kind, "tasks": [], "channel": channel,
                                    "state": state, "message": message_id,
                                    "sent_at": sent_at.astimezone(zone).isoformat() if sent_at else None}
        if code and code not in entry["tasks"]:
            entry["tasks"].append(code)
    return list(entries.values())


@dataclass(frozen=True)
class Candidate:
    key: str
    kind: str
    unit_id: int
    audience: str = "unit"
    instance_id: int | None = None
    task_code: str | None = None
    due: date | None = None
    subject_unit_id: int | None = None
    data: dict = field(default_factory=dict)


def sql_text(value: object):
    """A typed string constant: PostgreSQL infers no type for a bare parameter in || or json_build_object."""
    return cast(literal(str(value)), String)


def sql_key(kind: str, program_id: str, *parts):
    """notice_key in SQL: constants (str) and columns, joined the same way, `kind:program:part:…`."""
    key = sql_text(f"{kind}:{program_id}")
    for part in parts:
        key = key + sql_text(":") + (sql_text(part) if isinstance(part, str) else cast(part, String))
    return key


def sql_json(session: Session, data: dict):
    """A JSON object built in SQL, for a notice's data."""
    build = func.json_build_object if session.get_bind().dialect.name == "postgresql" else func.json_object
    return build(*(part for key, value in data.items() for part in (sql_text(key), value)))


@dataclass(frozen=True)
class Selected:
    """Candidates chosen in SQL, claimed with one INSERT … SELECT: `select` yields the columns of SELECTED in
    order, keyed as notice_key spells them, and leaves out the keys already held (an anti-join)."""

    kind: str
    select: Select


SELECTED = (
    "key", "kind", "unit_id", "audience", "instance_id", "task_code", "due", "subject_unit_id", "data")


def preview(session: Session, candidates: list[Candidate | Selected]) -> list[Candidate]:
    """The candidates as a claim would record them, those chosen in SQL read out: what a check would send."""
    shown = [c for c in candidates if isinstance(c, Candidate)]
    for selected in (c for c in candidates if isinstance(c, Selected)):
        for row in session.execute(selected.select):
            data = row.data if isinstance(row.data, dict) else json.loads(row.data)
            shown.append(Candidate(row.key, row.kind, row.unit_id, row.audience, row.instance_id,
                                   row.task_code, row.due, row.subject_unit_id, data))
    return shown


def dialect_insert(session: Session):
    """INSERT … ON CONFLICT for the session's database: SQLite or PostgreSQL, the same statement."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def upsert(table: Table, columns: tuple[str, ...], conflict: tuple[str, ...],
           replace: tuple[str, ...] = ()) -> TextClause:
    """INSERT … ON CONFLICT DO NOTHING (or DO UPDATE SET `replace`), spelled alike for SQLite and PostgreSQL.

    Built once by its caller: SQLAlchemy's dialect upserts carry no cache key, so each execution compiled
    them anew (thousands per Chengdu replay); a text statement with typed parameters is compiled once."""
    def quoted(names: tuple[str, ...]) -> str:
        return ", ".join(f'"{name}"' for name in names)

    values = ", ".join(f":{name}" for name in columns)
    on_conflict = (
        "DO UPDATE SET " + ", ".join(f'"{name}" = excluded."{name}"' for name in replace)
        if replace else "DO NOTHING"
    )
    return text(
        f"INSERT INTO {table.name} ({quoted(columns)}) VALUES ({values}) "
        f"ON CONFLICT ({quoted(conflict)}) {on_conflict}"
    ).bindparams(*(bindparam(name, type_=table.c[name].type) for name in columns))


_CLAIMED = upsert(Notice.__table__, ("program_id", "key", "claim", "kind", "unit_id", "audience",
                                     "instance_id", "task_code", "due", "subject_unit_id", "data", "at",
                                     "state"), conflict=("key",))


def claim(
    session: Session, ctx: ProgramContext, candidates: list[Candidate | Selected], at: datetime
) -> list[tuple[int, str]]:
    """Records the candidates under their unique keys; returns (id, kind) of the rows this call inserted.

    INSERT .. ON CONFLICT (key) DO NOTHING skips what another run (or an earlier one) already holds; each row
    carries this call's claim token, so reading back by token returns this call's rows alone.
    """
    if not candidates:
        return []
    token = uuid.uuid4().hex
    insert, table = dialect_insert(session), Notice.__table__
    # Inserted in (unit, audience) order: a digest message takes, routes and settles its notices together, and
    # rows side by side share their table and index pages (at 100k tasks, scattered ids made every message
    # rewrite thousands of pages at each of its commits). Then by due date and instance: a digest lists a
    # task's periods in that order whatever plan the database chose.
    chosen = {c.key: c for c in candidates if isinstance(c, Candidate)}.values()
    rows = [
        {"program_id": ctx.id, "key": c.key, "claim": token, "kind": c.kind, "unit_id": c.unit_id,
         "audience": c.audience, "instance_id": c.instance_id, "task_code": c.task_code, "due": c.due,
         "subject_unit_id": c.subject_unit_id, "data": c.data, "at": at, "state": "queued"}
        for c in sorted(chosen, key=lambda c: (c.unit_id, c.audience))
    ]
    if rows:
        session.execute(_CLAIMED, rows)
    for selected in (c for c in candidates if isinstance(c, Selected)):
        chosen_rows = selected.select.subquery()
        constants = (literal(ctx.id, table.c.program_id.type), literal(token, table.c.claim.type),
                     literal(at, table.c.at.type), literal("queued", table.c.state.type))
        # WHERE true: SQLite reads an upsert's INSERT … SELECT unambiguously only with a WHERE clause.
        source = (select(*(chosen_rows.c[name] for name in SELECTED), *constants).where(true())
                  .order_by(chosen_rows.c.unit_id, chosen_rows.c.audience, chosen_rows.c.due,
                            chosen_rows.c.instance_id))
        session.execute(insert(table).from_select([*SELECTED, "program_id", "claim", "at", "state"], source)
                        .on_conflict_do_nothing(index_elements=["key"]))
    held = session.execute(select(Notice.id, Notice.kind).where(Notice.claim == token)).all()  # one fetch
    return [tuple(row) for row in held]
