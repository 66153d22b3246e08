"""Notices: their keys, the exactly-once claim (the only writer of new notice rows), and the outbox read
model.

A key is `kind:program:part:…` — subject, recipient and audience, then the due date or slot — so a re-run, an
overlapping run or a catch-up run claims nothing twice, and a moved date re-arms the rungs.
"""

from __future__ import annotations

import json
import uuid
import weakref
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    Select,
    String,
    bindparam,
    cast,
    column,
    func,
    literal,
    select,
    true,
    type_coerce,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert
from sqlalchemy.types import TypeEngine

from db.bulk import core, upsert
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


PROGRAM = bindparam("program_id", type_=String)  # the program of a statement built once, given when it runs


def sql_key(kind: str, program_id, *parts):
    """notice_key in SQL: constants (str) and columns, joined the same way, `kind:program:part:…`; the program
    an id, or PROGRAM in a statement built once."""
    key = sql_text(f"{kind}:{program_id}") if isinstance(program_id, str) else (
        sql_text(f"{kind}:") + cast(program_id, String))
    for part in parts:
        key = key + sql_text(":") + (sql_text(part) if isinstance(part, str) else cast(part, String))
    return key


def sql_json(dialect: str, data: dict):
    """A JSON object built in SQL, for a notice's data, on the `dialect` named ("sqlite", "postgresql")."""
    build = func.json_build_object if dialect == "postgresql" else func.json_object
    return build(*(part for key, value in data.items() for part in (sql_text(key), value)))


def sql_rows(dialect: str, name: str, columns: dict[str, TypeEngine]):
    """A table of rows given as one JSON parameter `name` when the statement runs (json_rows spells it), read
    by json_each on SQLite and json_to_recordset on PostgreSQL. A statement with a values() table carries no
    cache key, so each ran compiled anew; this one is compiled once."""
    rows = bindparam(name, type_=String)
    if dialect == "postgresql":
        return (func.json_to_recordset(cast(rows, JSON))
                .table_valued(*(column(key, kind) for key, kind in columns.items()))
                .render_derived(name=name, with_types=True))
    each = func.json_each(rows).table_valued("value").alias(f"{name}_each")
    # Materialized: SQLite then indexes the rows it joins on (an automatic index). As a plain subquery it was
    # flattened into json_each, which the planner read again for every candidate row (22 s at 10,000 tasks).
    return select(*(type_coerce(func.json_extract(each.c.value, f"$.{key}"), kind).label(key)
                    for key, kind in columns.items())).select_from(each).cte(name).prefix_with("MATERIALIZED")


def json_rows(session: Session, columns: dict[str, TypeEngine], rows: list[tuple]) -> str:
    """The rows for sql_rows, each value as the database stores it (SQLite keeps dates and times as text)."""
    dialect = session.get_bind().dialect
    processors = [(kind.dialect_impl(dialect).bind_processor(dialect) if dialect.name == "sqlite" else None)
                  for kind in columns.values()]

    def stored(process, value):
        value = process(value) if process else value
        return value.isoformat() if isinstance(value, date | datetime) else value

    named = list(zip(columns, processors, strict=True))  # each column's processor looked up once
    return json.dumps([{name: stored(process, value)
                        for (name, process), value in zip(named, row, strict=True)} for row in rows])


@dataclass(frozen=True)
class Selected:
    """Candidates chosen in SQL, claimed with one INSERT … SELECT: `select` yields the columns of SELECTED in
    order, keyed as notice_key spells them, and leaves out the keys already held (an anti-join); `params` are
    its parameters (a statement built once takes its program and rows as parameters)."""

    kind: str
    select: Select
    params: dict = field(default_factory=dict)


SELECTED = (
    "key", "kind", "unit_id", "audience", "instance_id", "task_code", "due", "subject_unit_id", "data")


def preview(session: Session, candidates: list[Candidate | Selected]) -> list[Candidate]:
    """The candidates as a claim would record them, those chosen in SQL read out: what a check would send."""
    shown = [c for c in candidates if isinstance(c, Candidate)]
    for selected in (c for c in candidates if isinstance(c, Selected)):
        for row in session.execute(selected.select, selected.params):
            data = row.data if isinstance(row.data, dict) else json.loads(row.data)
            shown.append(Candidate(row.key, row.kind, row.unit_id, row.audience, row.instance_id,
                                   row.task_code, row.due, row.subject_unit_id, data))
    return shown


class _InsertNew(Insert):
    """INSERT … ON CONFLICT ("key") DO NOTHING, spelled alike for SQLite and PostgreSQL (db.notices.claim). A
    plain Insert with nothing of its own, so it keeps Insert's cache key: the dialects' upserts carry none,
    and every INSERT … SELECT of the check was compiled anew."""

    inherit_cache = True


@compiles(_InsertNew)
def _insert_new(statement: _InsertNew, compiler, **kw) -> str:
    return compiler.visit_insert(statement, **kw) + ' ON CONFLICT ("key") DO NOTHING'


_TOKEN, _AT = bindparam("claim_token", type_=String), bindparam("claim_at", type_=Notice.__table__.c.at.type)
_INSERTS: weakref.WeakKeyDictionary[Select, Insert] = weakref.WeakKeyDictionary()
_COLUMNS = [*SELECTED, "program_id", "claim", "at", "state"]


def _constants():
    return PROGRAM, _TOKEN, _AT, literal("queued", Notice.__table__.c.state.type)


# A column a statement of chosen rows may add: its rows are inserted in its order first, then as below.
CLAIMED_FIRST = "claimed_first"


def _claiming(chosen: Select) -> Insert:
    """INSERT … SELECT of the chosen rows, built once per statement (most are built once themselves)."""
    statement = _INSERTS.get(chosen)
    if statement is None:
        rows = chosen.subquery()
        first = [rows.c[CLAIMED_FIRST]] if CLAIMED_FIRST in rows.c else []
        # WHERE true: SQLite reads an upsert's INSERT … SELECT unambiguously only with a WHERE clause. The
        # order: as below.
        source = (select(*(rows.c[name] for name in SELECTED), *_constants()).where(true())
                  .order_by(*first, rows.c.unit_id, rows.c.audience, rows.c.due, rows.c.instance_id))
        statement = _INSERTS[chosen] = _InsertNew(Notice.__table__).from_select(_COLUMNS, source)
    return statement


_CLAIMED = upsert(Notice.__table__, ("program_id", "key", "claim", "kind", "unit_id", "audience",
                                     "instance_id", "task_code", "due", "subject_unit_id", "data", "at",
                                     "state"), conflict=("key",))
_KEYS = {"key": String()}


@cache
def _held(dialect: str) -> Select:
    return select(Notice.key).where(Notice.key.in_(select(sql_rows(dialect, "keys", _KEYS).c.key)))


def _unheld(session: Session, chosen: dict[str, Candidate]) -> list[Candidate]:
    """The candidates whose keys are not held yet: most a check finds again every day (the phase notices, the
    forms, the items), and leaving them out of the insert spares writing each one's row to be refused. The
    insert still skips a key claimed meanwhile by another run."""
    if chosen:
        keys = json_rows(session, _KEYS, [(key,) for key in chosen])
        for key in core(session, _held(session.get_bind().dialect.name), {"keys": keys}).scalars():
            del chosen[key]
    return list(chosen.values())


# What one claim inserted, by kind: read only when the statements' counts cannot tell.
_KINDS = select(Notice.kind, func.count()).where(Notice.claim == _TOKEN).group_by(Notice.kind)


def claim(
    session: Session, ctx: ProgramContext, candidates: list[Candidate | Selected], at: datetime
) -> Counter:
    """Records the candidates under their unique keys; returns how many rows of each kind this call inserted.

    INSERT .. ON CONFLICT (key) DO NOTHING skips what another run (or an earlier one) already holds. The
    candidates chosen in SQL are each of one kind, so each statement's count of inserted rows is that kind's;
    those built here are all inserted by one statement, counted by kind here when it inserted them all. Else
    (a key claimed meanwhile by another run, a driver that does not count rows) the kinds are read back by the
    call's claim token, grouped: never the rows themselves (at 100,000 tasks, about 394,000 of them).
    """
    claimed: Counter = Counter()
    if not candidates:
        return claimed
    token = uuid.uuid4().hex
    params = {"program_id": ctx.id, "claim_token": token, "claim_at": at}
    dialect = session.get_bind().dialect
    sane = dialect.supports_sane_rowcount
    # Inserted in (unit, audience) order: a digest message takes, routes and settles its notices together, and
    # rows side by side share their table and index pages (at 100k tasks, scattered ids made every message
    # rewrite thousands of pages at each of its commits). Then by due date and instance: a digest lists a
    # task's periods in that order whatever plan the database chose.
    built = {c.key: c for c in candidates if isinstance(c, Candidate)}
    # A lone candidate (most days' bulletin, a report owed) is inserted unread: its insert's count tells if
    # it was held, one statement instead of a read and an insert.
    chosen = list(built.values()) if len(built) == 1 else _unheld(session, built)
    rows = [
        {"program_id": ctx.id, "key": c.key, "claim": token, "kind": c.kind, "unit_id": c.unit_id,
         "audience": c.audience, "instance_id": c.instance_id, "task_code": c.task_code, "due": c.due,
         "subject_unit_id": c.subject_unit_id, "data": c.data, "at": at, "state": "queued"}
        for c in sorted(chosen, key=lambda c: (c.unit_id, c.audience))
    ]
    if rows:
        inserted = core(session, _CLAIMED, rows).rowcount
        if (dialect.supports_sane_multi_rowcount or len(rows) == 1) and inserted == len(rows):
            claimed.update(row["kind"] for row in rows)
        elif inserted:  # some, not all (a key claimed meanwhile), or not counted: read before the rows below
            claimed.update(dict(core(session, _KINDS, {"claim_token": token}).all()))
    counted = sane
    for selected in (c for c in candidates if isinstance(c, Selected)):
        statement = _claiming(selected.select)
        inserted = core(session, statement, {**selected.params, **params}).rowcount
        counted = counted and inserted >= 0  # -1: not counted by the driver
        claimed[selected.kind] += max(inserted, 0)
    if not counted:
        claimed = Counter(dict(core(session, _KINDS, {"claim_token": token}).all()))
    return +claimed
