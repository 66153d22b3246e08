"""验收准备: the data of the evidence package for the acceptance review, its readiness score and its gaps.

`package_data` copies the evidence files into `out_dir/evidence/CODE/` and gathers one row per active task:
code, area, measure, lead and co units, due (and the table's date when an extension moved it), done on,
status,
on time, expected evidence (成果形式), evidence files (paths inside the package), the checklist items
without a
matching file, self-check answers, remediation history. notifications.acceptance writes the index, the report
and the zip; `prepare_out_dir` and `refuse_foreign` keep it from deleting or overwriting what it did not
write.
Evidence file names are made safe for Windows and zip readers (`\\`, `:`, `*`, … become `_`).

Evidence checklist: a task's 成果形式 split into items on 、，,；;/ and on 及/和/与 between two words of two
or more
characters ("合作协议及联席会议纪要" → 合作协议, 联席会议纪要). An item is matched by an evidence file whose
name
contains it (or is contained in it) after folding widths, brackets and spaces. (及 inside 普及 or 及时 and the
like is no joiner.)

Readiness (0–100): the mean over active tasks of 50 if the task is done (every instance) + 25 if it has at
least
one evidence file + 25 × the share of its checklist items matched (all of them when the task has no 成果形式
but
has files). Gaps: not_done, no_evidence, checklist (an item without a matching file), missing_file (recorded
but
not found on disk), remediation_open.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import defaultdict
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.evidence import resolve, safe_name
from db.models import (
    Finding,
    ProgressReport,
    RemediationItem,
    SelfCheckReturn,
    SelfCheckRow,
    Task,
    TaskInstance,
    Unit,
)
from db.programs import InvalidInput, ProgramContext
from db.selfcheck import COMPLETION_LABELS, FINDING_LABELS, lang
from db.tasks import task_rows
from schedule import fold, labels, text

_ITEM_SEP = re.compile(r"[、，,；;/／\r\n]+")
# 及/和/与 (and 以及) join two items, except inside common words: 普及, 涉及, 及时, 和谐, 和平, 总和, 与会.
_JOINERS = re.compile(r"以及|(?<![普涉])及(?!时)|(?<![总共])和(?![谐平])|与(?!会)")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)


def checklist(spec: str | None) -> list[str]:
    """The evidence items of a 成果形式 text."""
    items: list[str] = []
    for part in _ITEM_SEP.split(spec or ""):
        part = part.strip().rstrip("等").strip()
        if not part:
            continue
        pieces = _JOINERS.split(part)
        if len(pieces) > 1 and all(len(p.strip()) >= 2 for p in pieces):
            items += [p.strip() for p in pieces]
        else:
            items.append(part)
    return list(dict.fromkeys(items))


def matches(item: str, file_name: str) -> bool:
    a, b = fold(item), fold(Path(file_name).stem)
    return bool(a) and bool(b) and (a in b or b in a)


def _task_score(done: bool, files: list[str], items: list[str]) -> tuple[float, list[str]]:
    unmatched = [item for item in items if not any(matches(item, f) for f in files)]
    score = 50.0 if done else 0.0
    if files:
        score += 25.0 + 25.0 * ((len(items) - len(unmatched)) / len(items) if items else 1.0)
    return score, unmatched if files else items


def _copy(source: Path, target_dir: Path, used: set[str], written: list[Path], language: str) -> str:
    target_dir.mkdir(parents=True, exist_ok=True)
    safe = Path(safe_name(source.name))
    name, n = safe.name, 1
    while name in used:
        n += 1
        name = f"{safe.stem}-{n}{safe.suffix}"
    used.add(name)
    target = target_dir / name
    refuse_foreign(target, language)
    shutil.copy2(source, target)
    written.append(target)
    return name


MANIFEST = ".duban-package.json"


class PackageRefused(InvalidInput):
    pass


def refuse_foreign(target: Path, language: str) -> None:
    # After prepare_out_dir every file left in the folder is someone else's.
    if target.exists():
        raise PackageRefused(text(language, "package.foreign_file", target=target))


def prepare_out_dir(out_dir: Path, force: bool, language: str) -> None:
    """An empty or new folder; with force, the previous package's own files (its manifest) are removed.
    Refusals are said in `language`."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise PackageRefused(text(language, "package.not_a_folder", path=out_dir))
    if not any(out_dir.iterdir()):
        return
    manifest = out_dir / MANIFEST
    if not force:
        what = text(language, "package.previous" if manifest.is_file() else "package.other_files")
        raise PackageRefused(text(language, "package.not_empty", path=out_dir, what=what))
    if manifest.is_file():
        try:
            listed = json.loads(manifest.read_text("utf-8")).get("files", [])
        except (ValueError, AttributeError):
            raise PackageRefused(text(language, "package.broken_manifest", path=manifest)) from None
        root = out_dir.resolve()
        for name in listed:
            path = (out_dir / name).resolve()
            if root in path.parents and path.is_file():  # never a path outside the package
                path.unlink()
        for directory in sorted(
            {p.parent for p in ((out_dir / n) for n in listed)}, key=lambda p: -len(p.parts)
        ):
            while directory != out_dir and directory.is_dir() and not any(directory.iterdir()):
                directory.rmdir()
                directory = directory.parent
        manifest.unlink()


def package_data(session: Session, ctx: ProgramContext, out_dir: Path | None, today: date,
                 home: Path | None = None, written: list[Path] | None = None) -> dict:
    """Everything the package shows; copies evidence into out_dir/evidence when out_dir is given (each file
    copied is appended to `written`). Evidence paths recorded relative to the home are resolved under
    `home`."""
    written = written if written is not None else []
    language = lang(ctx)
    say = labels(language, "acceptance")
    names = dict(session.execute(select(Unit.code, Unit.name).where(Unit.program_id == ctx.id)).all())
    unit_codes = dict(session.execute(select(Unit.id, Unit.code).where(Unit.program_id == ctx.id)).all())
    rows = task_rows(session, ctx, today)
    task_ids = dict(session.execute(select(Task.code, Task.id).where(Task.program_id == ctx.id)).all())

    instances: dict[int, list[TaskInstance]] = defaultdict(list)
    for instance in session.scalars(
        select(TaskInstance)
        .where(TaskInstance.program_id == ctx.id, TaskInstance.retired_on.is_(None))
        .order_by(TaskInstance.task_id, TaskInstance.seq)
    ):
        instances[instance.task_id].append(instance)
    evidence: dict[int, list[str]] = defaultdict(list)
    for task_id, files in session.execute(
        select(ProgressReport.task_id, ProgressReport.evidence)
        .where(ProgressReport.program_id == ctx.id)
        .order_by(ProgressReport.id)
    ):
        for f in files or []:
            if f not in evidence[task_id]:
                evidence[task_id].append(f)
    answers: dict[int, list[str]] = defaultdict(list)
    completion_names = COMPLETION_LABELS[language]
    for row, unit_id in session.execute(select(SelfCheckRow, SelfCheckReturn.unit_id)
                                        .join(SelfCheckReturn, SelfCheckReturn.id == SelfCheckRow.return_id)
                                        .where(SelfCheckRow.program_id == ctx.id).order_by(SelfCheckRow.id)):
        score = f" {row.self_score}" if row.self_score is not None else ""
        answers[row.task_id].append(f"{unit_codes[unit_id]}: {completion_names[row.completion]}{score}")
    finding_names = FINDING_LABELS[language]
    history: dict[int, list[str]] = defaultdict(list)
    items = session.execute(
        select(RemediationItem, Finding.kind)
        .join(Finding, Finding.id == RemediationItem.finding_id)
        .where(RemediationItem.program_id == ctx.id)
        .order_by(RemediationItem.id)
    ).all()
    state_names = labels(language, "item_state")
    for item, kind in items:
        if item.task_id is not None:
            end = f" {item.closed_on}" if item.closed_on else ""
            history[item.task_id].append(say["history"].format(
                code=item.code, finding=finding_names[kind], unit=unit_codes[item.unit_id], due=item.due,
                state=state_names[item.state], end=end))

    evidence_dir = out_dir / "evidence" if out_dir is not None else None
    tasks, gaps = [], []
    for row in rows:
        task_id = task_ids[row["code"]]
        task_instances = instances[task_id]
        done = all(i.status == "done" for i in task_instances)
        late = [i for i in task_instances if i.status == "done" and i.due and i.done_on and i.done_on > i.due]
        on_time = done and not late
        packaged, links, missing = [], [], []
        used: set[str] = set()
        for f in evidence[task_id]:
            if _URL.match(f):
                links.append(f)
                continue
            source = resolve(home, f) if home is not None else Path(f)
            if not source.is_file():
                missing.append(f)
                continue
            name = safe_name(source.name)
            if evidence_dir is not None:
                name = _copy(source, evidence_dir / _safe(row["code"]), used, written, language)
            packaged.append(f"evidence/{_safe(row['code'])}/{name}")
        files = packaged + links
        items_ = checklist(row["evidence_spec"])
        score, unmatched = _task_score(done, files, items_)
        done_on = max((i.done_on for i in task_instances if i.done_on), default=None)
        record = {
            "code": row["code"], "area": row["area"] or "", "title": row["title"], "lead": row["lead"],
            "co": row["co"], "lead_names": [names.get(c, c) for c in row["lead"]],
            "co_names": [names.get(c, c) for c in row["co"]], "due": row["due"],
            "original_due": row["original_due"], "recurrence": row["recurrence"],
            "instances": len(task_instances),
            "instances_done": sum(i.status == "done" for i in task_instances),
            "status": "done" if done else row["status"], "done": done, "on_time": on_time,
            "late": bool(late), "done_on": done_on.isoformat() if done_on else None,
            "evidence_spec": row["evidence_spec"] or "", "checklist": items_, "unmatched": unmatched,
            "files": files, "missing_files": missing, "selfcheck": answers[task_id],
            "remediation": history[task_id], "score": score}
        tasks.append(record)
        if not done:
            gaps.append({"task": row["code"], "kind": "not_done",
                         "detail": say["not_done"].format(done=record["instances_done"],
                                                          instances=record["instances"])})
        if not files:
            gaps.append(
                {
                    "task": row["code"],
                    "kind": "no_evidence",
                    "detail": say["no_evidence"],
                }
            )
        elif unmatched:
            gaps.append(
                {
                    "task": row["code"],
                    "kind": "checklist",
                    "detail": say["unmatched"].format(items=say["separator"].join(unmatched)),
                }
            )
        for f in missing:
            gaps.append(
                {
                    "task": row["code"],
                    "kind": "missing_file",
                    "detail": say["missing_file"].format(name=Path(f).name),
                }
            )
    for item, _kind in items:
        if item.state == "open":
            gaps.append({"task": item.code, "kind": "remediation_open",
                         "detail": say["item_open"].format(title=item.title, unit=unit_codes[item.unit_id],
                                                           due=item.due)})
    readiness = round(sum(t["score"] for t in tasks) / len(tasks), 1) if tasks else 100.0

    def group(key) -> list[dict]:
        buckets: dict[str, list[dict]] = defaultdict(list)
        for t in tasks:
            for k in key(t):
                buckets[k].append(t)
        return [{"name": k, "tasks": len(ts), "done": sum(t["done"] for t in ts),
                 "on_time": sum(t["on_time"] for t in ts), "late": sum(t["done"] and t["late"] for t in ts),
                 "open": sum(not t["done"] for t in ts), "with_evidence": sum(bool(t["files"]) for t in ts),
                 "readiness": round(sum(t["score"] for t in ts) / len(ts), 1)} for k, ts in buckets.items()]

    remediation = [
        {
            "code": item.code, "title": item.title, "unit": names.get(unit_codes[item.unit_id], ""),
            "finding": finding_names[kind], "due": item.due.isoformat(), "state": item.state,
            "state_name": state_names[item.state],
            "closed_on": item.closed_on.isoformat() if item.closed_on else None,
            "late": item.state == "closed" and item.closed_on is not None and item.closed_on > item.due}
        for item, kind in items
    ]
    return {
        "program": ctx.id,
        "name": ctx.program.name,
        "language": language,
        "today": today.isoformat(),
        "readiness": readiness,
        "tasks": tasks,
        "gaps": gaps,
        "by_area": group(lambda t: [t["area"] or say["no_area"]]),
        "by_unit": group(lambda t: t["lead_names"] or ["—"]),
        "remediation": remediation,
        "remediation_summary": {
            "total": len(remediation), "closed": sum(r["state"] == "closed" for r in remediation),
            "closed_late": sum(r["late"] for r in remediation),
            "accepted": sum(r["state"] == "accepted" for r in remediation),
            "open": sum(r["state"] == "open" for r in remediation)},
        "totals": {
            "tasks": len(tasks), "done": sum(t["done"] for t in tasks),
            "on_time": sum(t["on_time"] for t in tasks),
            "with_evidence": sum(bool(t["files"]) for t in tasks),
            "files": sum(len(t["files"]) for t in tasks)},
    }


def _safe(code: str) -> str:
    return re.sub(r"[^\w.-]+", "_", code)


