"""Matching the unit names typed in a 分工表 to the units of units.yaml.

The same unit is written 市市场监督管理局（知识产权局）, 市市场监督管理局(知识产权局) or 市市场监督管理局
【知识产权局】
depending on who typed the row, so names are compared after folding those differences away. A name
that still matches nothing, or matches two units, is an error: a task assigned to the wrong unit would
send its reminders to the wrong office.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable

from schedule.i18n import Told, text

_OPEN = "〔【[（(〖"
_CLOSE = "〕】]）)〗"
_BRACKETS = str.maketrans(_OPEN + _CLOSE, "(" * len(_OPEN) + ")" * len(_CLOSE))
_SPACE = re.compile(r"\s+")
_BRACKETED = re.compile(r"\([^()]*\)")
_LIST_SEP = re.compile(r"[、，,；;/／\r\n]+")
# Below this difflib ratio a suggestion is more confusing than none.
_CLOSEST_CUTOFF = 0.0  # always name the closest known unit, as the contract asks


def fold(name: str) -> str:
    """The form names are compared in: NFKC, one bracket style, no white space, lower-case latin."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", name).translate(_BRACKETS)).lower()


def split_unit_list(cell: object) -> list[str]:
    """The unit names in one 责任单位 cell, in the order written."""
    if cell is None:
        return []
    # An empty spreadsheet cell arrives as NaN (not equal to itself) or pandas.NA (not a bool at all).
    try:
        if cell != cell:
            return []
    except TypeError:
        return []
    return [part.strip() for part in _LIST_SEP.split(str(cell)) if part.strip()]


class Listed:
    """Unit names listed in the reader's language: 「甲」、「乙」 or 'A', 'B'."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = tuple(names)

    def told(self, language: str | None) -> str:
        return text(language, "unit_name.separator").join(
            text(language, "unit_name.listed", name=name) for name in self.names)


class UnknownUnitError(Told):
    def __init__(self, name: str, closest: str | None = None, key: str | None = None,
                 **values: object) -> None:
        key = key or ("unit_name.unknown" if closest is None else "unit_name.closest")
        super().__init__(key, name=name, closest=closest, **values)
        self.name = name
        self.closest = closest


class AmbiguousUnitError(UnknownUnitError):
    """The name fits more than one unit; `candidates` are their names."""

    def __init__(self, name: str, candidates: Iterable[str]) -> None:
        self.candidates = tuple(candidates)
        super().__init__(name, None, "unit_name.ambiguous", candidates=Listed(self.candidates))


def _unbracketed(folded: str) -> str:
    # Repeat so that nested brackets, (a(b)), go too.
    while True:
        shorter = _BRACKETED.sub("", folded)
        if shorter == folded:
            return folded
        folded = shorter


class UnitDirectory:
    """The units of one plan, looked up by any way their name is written."""

    def __init__(self, units: Iterable[tuple[str, str, Iterable[str]]]) -> None:
        self._names: dict[str, str] = {}  # code → name
        self._exact: dict[str, set[str]] = {}  # folded name or alias → codes
        self._loose: dict[str, set[str]] = {}  # the same without bracketed parts → codes
        self._spelled: dict[str, str] = {}  # folded name or alias → as written, for suggestions
        for code, name, aliases in units:
            self._names[code] = name
            for written in (name, *aliases):
                key = fold(written)
                if not key:
                    continue
                self._exact.setdefault(key, set()).add(code)
                self._spelled.setdefault(key, written)
                loose = _unbracketed(key)
                if loose:
                    self._loose.setdefault(loose, set()).add(code)

    def match(self, name: str) -> str:
        """The code of the unit called `name`; UnknownUnitError if none or several fit."""
        key = fold(name)
        codes = self._exact.get(key)
        if not codes:
            loose = _unbracketed(key)
            codes = self._loose.get(loose) if loose else None
        if not codes:
            raise UnknownUnitError(name, self._closest(key))
        if len(codes) > 1:
            raise AmbiguousUnitError(name, sorted(self._names[c] for c in codes))
        return next(iter(codes))

    def _closest(self, key: str) -> str | None:
        found = difflib.get_close_matches(key, self._spelled, n=1, cutoff=_CLOSEST_CUTOFF)
        return self._spelled[found[0]] if found else None
