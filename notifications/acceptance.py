"""验收准备: writes the evidence package for the acceptance review (db.acceptance gathers its data).

`build_package` writes into `out_dir`:
  index.xlsx        one row per active task (notifications.workbooks.acceptance)
  evidence/CODE/…   the evidence files of the progress reports (and of closed remediation items), copied
  report.html       completion and timeliness by area and by unit, remediation results, self-check, open gaps
  PROGRAM-acceptance-DATE.zip   all of the above
and returns the readiness score and the gaps.

The package never deletes what it did not create: it writes into an empty (or new) folder; a folder that holds
anything else is refused, unless `force`, which removes only the files the previous package listed in its
manifest (`.duban-package.json`) and still refuses to overwrite a file of someone else's.
"""

from __future__ import annotations

import json
import zipfile
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from db import MANIFEST, ProgramContext, package_data, prepare_out_dir, refuse_foreign
from notifications.render.environment import environment
from notifications.workbooks.acceptance import index_workbook
from schedule import labels


def render_report(data: dict) -> str:
    language = data["language"]
    return environment().get_template("acceptance_report.html.j2").render(
        **data, say=labels(language, "acceptance_report"), acceptance=labels(language, "acceptance"))


def build_package(session: Session, ctx: ProgramContext, out_dir: Path, today: date, home: Path | None = None,
                  force: bool = False) -> dict:
    out_dir = Path(out_dir)
    prepare_out_dir(out_dir, force, ctx.language)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    manifest = out_dir / MANIFEST
    try:
        data = package_data(session, ctx, out_dir, today, home, written)
        index = out_dir / "index.xlsx"
        report = out_dir / "report.html"
        archive = out_dir / f"{ctx.id}-acceptance-{today.isoformat()}.zip"
        for target in (index, report, archive):
            refuse_foreign(target, ctx.language)
        index.write_bytes(index_workbook(data))
        report.write_text(render_report(data), "utf-8")
        members = [index, report, *sorted(written)]
        _zip(archive, out_dir, members, today)
    finally:
        # The manifest lists exactly what this package wrote: what a later --force may remove.
        own = [p for p in [*written, out_dir / "index.xlsx", out_dir / "report.html",
                           out_dir / f"{ctx.id}-acceptance-{today.isoformat()}.zip"] if p.is_file()]
        manifest.write_text(json.dumps({"program": ctx.id, "as_of": today.isoformat(),
                                        "files": sorted(p.relative_to(out_dir).as_posix() for p in own)},
                                       ensure_ascii=False, indent=1), "utf-8")
    totals = data["totals"]
    return {"program": ctx.id, "as_of": today.isoformat(), "dir": str(out_dir), "index": str(index),
            "report": str(report), "zip": str(archive), "readiness": data["readiness"], **totals,
            "remediation": data["remediation_summary"], "gaps": data["gaps"]}


def _zip(archive: Path, out_dir: Path, members: list[Path], today: date) -> None:
    stamp = (today.year, today.month, today.day, 0, 0, 0)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in members:
            info = zipfile.ZipInfo(path.relative_to(out_dir).as_posix(), date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
