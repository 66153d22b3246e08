"""Generated evidence files for simulated units: a CSV for a ledger or list, a one-page PDF for anything
else."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from db import ProgramContext, checklist

_DOCUMENT_WORDS = ("表", "台账", "清单", "统计", "名单", "目录")


def _pdf(lines: list[str]) -> bytes:
    """A one-page PDF with ASCII lines: enough for a reviewer's viewer to open."""
    def escape(text: str) -> str:
        return (
            text.encode("ascii", "replace")
            .decode()
            .replace("\\", "\\\\")
            .replace("(", "\\(")
            .replace(")", "\\)")
        )

    body = "BT /F1 12 Tf 72 770 Td " + " ".join(f"({escape(line)}) Tj 0 -18 Td" for line in lines) + " ET"
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
               "/Resources << /Font << /F1 5 0 R >> >> >>",
               f"<< /Length {len(body)} >>\nstream\n{body}\nendstream",
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = b"%PDF-1.4\n", []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{obj}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def write_evidence(
    ctx: ProgramContext,
    settings_home: Path,
    code: str,
    title: str,
    spec: str | None,
    unit_code: str,
    today: date,
    only_first: bool = False,
    label: str | None = None,
) -> list[str]:
    """Generated evidence files named after the task's checklist items, under
    settings_home/evidence/PROGRAM/CODE/."""
    items = [label] if label else (checklist(spec) or [title[:12]])
    if only_first:
        items = items[:1]
    folder = (
        settings_home / "evidence" / ctx.id / "".join(c if c.isalnum() or c in "-_." else "_" for c in code)
    )
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, item in enumerate(items, 1):
        safe = "".join(c for c in item if c not in '\\/:*?"<>|').strip() or f"item{number}"
        if any(word in item for word in _DOCUMENT_WORDS):
            path = folder / f"{safe}.csv"
            path.write_text(f"task,unit,date,item\n{code},{unit_code},{today},{item}\n", "utf-8")
        else:
            path = folder / f"{safe}.pdf"
            path.write_bytes(_pdf(["duban simulated evidence", f"program: {ctx.id}", f"task: {code}",
                                   f"item {number} of {len(items)}", f"unit: {unit_code}", f"date: {today}"]))
        paths.append(str(path))
    return paths

