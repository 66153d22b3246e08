"""Hostile text, neutralised where it enters and made safe where it leaves. Pure functions.

- `clean_text`: what is kept of a text a plan, a unit or a report brings in: control characters (which
openpyxl
  refuses to write and which break mail headers) and bidirectional overrides are dropped, line breaks become
  `\\n` (or a space for a one-line text).
- `name_problem`: why a text cannot be a name (program, unit): a name goes into mail subjects and headers,
so a
  line break or a control character in it is an error at import, not something to repair silently.
- `cell_value`: a value as a workbook cell must carry it: text that a spreadsheet would run as a formula
  (starting with = + - @, a tab or a carriage return, OWASP's CSV-injection list) gets a leading apostrophe,
  and
  no control character reaches openpyxl, which would raise `IllegalCharacterError` and stop the writer.
"""

from __future__ import annotations

import re
from typing import Any

from schedule.i18n import text

# C0 controls except tab and line feed, DEL, C1 controls; bidi overrides/isolates (Trojan-source style
# reordering).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile("\r\n|\r|\u2028|\u2029|\x0b|\x0c|\x85")
_BLANKS = re.compile(r"[\t\n ]+")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def clean_text(value: Any, *, one_line: bool = False) -> str:
    """The text without control characters; line breaks as `\\n`, or, for a one-line text, runs of blanks as
    one
    space."""
    if value is None:
        return ""
    text = _LINE_BREAKS.sub("\n", str(value))
    text = _CONTROL.sub("", text)
    if one_line:
        text = _BLANKS.sub(" ", text)
    return text.strip()


def clean_optional(value: Any, *, one_line: bool = False) -> str | None:
    text = clean_text(value, one_line=one_line)
    return text or None


def name_problem(value: str, language: str | None = None) -> str | None:
    """A message (in `language`) when `value` cannot be a name, else None."""
    if _LINE_BREAKS.search(value) or "\n" in value:
        return text(language, "plan.name_breaks")
    if _CONTROL.search(value) or "\t" in value:
        return text(language, "plan.name_controls")
    return None


def cell_value(value: Any) -> Any:
    """A value safe to hand to openpyxl: numbers, dates and None unchanged; text cleaned and never a
    formula."""
    if not isinstance(value, str):
        return value
    text = _CONTROL.sub("", value.replace("\r\n", "\n"))
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def cell_row(values) -> list[Any]:
    return [cell_value(v) for v in values]
