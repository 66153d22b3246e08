"""What every part of a plan folder's reading shares: located problems and YAML files that know where each
value stands (FILE:LINE:COLUMN)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from schedule.i18n import text, told
from schedule.plan_folder.yamlmarks import YamlLimitError, load_with_marks
from schedule.sanitize import clean_text

# program.yaml and units.yaml are a few kilobytes; a larger file is refused before it is parsed.
MAX_YAML_BYTES = 1_000_000


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | str | None
    column: int | str | None
    message: str
    severity: str = "error"  # error | warning

    def __str__(self) -> str:
        row = self.row if self.row is not None else "-"
        column = self.column if self.column is not None else "-"
        return f"{self.file}:{row}:{column}: {self.message}"

    def to_json(self) -> dict:
        return {
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "message": self.message,
            "severity": self.severity,
        }


class Problems(list):
    """The problems of one reading, told in the plan's language once program.yaml has said which."""

    language = "zh-CN"

    def say(self, key: str, **values: Any) -> str:
        return text(self.language, f"plan.{key}", **values)


class YamlDoc:
    """A loaded YAML file that can say where a value stands."""

    def __init__(self, shown: str, data: Any, marks: dict) -> None:
        self.shown, self.data, self.marks = shown, data, marks

    def problem(self, path: tuple, message: str, severity: str = "error") -> Problem:
        while path and path not in self.marks:
            path = path[:-1]
        line, column = self.marks.get(path, (None, None))
        return Problem(self.shown, line, column, message, severity)


def load_yaml(path: Path, shown: str, problems: Problems) -> YamlDoc | None:
    if not path.is_file():
        problems.append(Problem(shown, None, None, problems.say("file_missing")))
        return None
    size = path.stat().st_size
    if size > MAX_YAML_BYTES:
        problems.append(
            Problem(
                shown,
                None,
                None,
                problems.say("file_too_large", size=f"{size:,}", limit=f"{MAX_YAML_BYTES:,}"),
            )
        )
        return None
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        guess = problems.say("looks_gbk") if _decodes_as_gb18030(raw) else ""
        problems.append(Problem(shown, line, column, problems.say("not_utf8", guess=guess)))
        return None
    if not text.strip():
        problems.append(Problem(shown, None, None, problems.say("file_empty")))
        return None
    try:
        data, marks = load_with_marks(text)
    except YamlLimitError as exc:
        problems.append(Problem(shown, exc.line, exc.column, told(exc, problems.language)))
        return None
    except Exception as exc:  # yaml.YAMLError and its marks
        mark = getattr(exc, "problem_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        problems.append(
            Problem(shown, line, column, problems.say("yaml_error", problem=getattr(exc, "problem", exc)))
        )
        return None
    return YamlDoc(shown, data, marks)


def _decodes_as_gb18030(raw: bytes) -> bool:
    try:
        raw.decode("gb18030")
    except UnicodeDecodeError:
        return False
    return True


def as_date(doc: YamlDoc, path: tuple, value: Any, problems: Problems, what: str) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        problems.append(doc.problem(path, problems.say("bad_date", what=problems.say(what), value=value)))
        return None


def section(doc: YamlDoc, data: dict, key: str, problems: Problems) -> dict:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        problems.append(doc.problem((key,), problems.say("mapping", key=key)))
        return {}
    return value


def string_list(doc: YamlDoc, path: tuple, value: Any, problems: Problems) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(doc.problem(path, problems.say("string_list", key=path[-1])))
        return ()
    return tuple(clean_text(v, one_line=True) for v in value if clean_text(v, one_line=True))
