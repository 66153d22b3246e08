"""验收准备: writes the evidence package for the acceptance review (db.acceptance gathers its data).

`build_package` writes into `out_dir`: index.xlsx, evidence/CODE/… (copied by db.acceptance.package_data),
report.html and PROGRAM-acceptance-DATE.zip with all of them, and returns the readiness score and the gaps.
"""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from db import ProgramContext, package_data
from notifications.render.environment import environment
from notifications.workbooks.acceptance import index_workbook


def render_report(data: dict) -> str:
    return environment().get_template("acceptance_report.html.j2").render(**data)


def build_package(session: Session, ctx: ProgramContext, out_dir: Path, today: date) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = package_data(session, ctx, out_dir, today)
    index = out_dir / "index.xlsx"
    index.write_bytes(index_workbook(data))
    report = out_dir / "report.html"
    report.write_text(render_report(data), "utf-8")
    archive = out_dir / f"{ctx.id}-acceptance-{today.isoformat()}.zip"
    stamp = (today.year, today.month, today.day, 0, 0, 0)
    evidence_dir = out_dir / "evidence"
    members = [index, report]
    if evidence_dir.exists():
        members += sorted(p for p in evidence_dir.rglob("*") if p.is_file())
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in members:
            info = zipfile.ZipInfo(path.relative_to(out_dir).as_posix(), date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    totals = data["totals"]
    return {"program": ctx.id, "as_of": today.isoformat(), "dir": str(out_dir), "index": str(index),
            "report": str(report), "zip": str(archive), "readiness": data["readiness"], **totals,
            "remediation": data["remediation_summary"], "gaps": data["gaps"]}
