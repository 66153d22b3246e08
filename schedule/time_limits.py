"""The 完成时限 column: a due date, or a recurrence, from the way coordinators write it.

The accepted forms are the contract in docs/plan-format.md ("Time limits accepted"). Beyond them the
parser forgives what a spreadsheet typist does: full-width digits and punctuation, stray spaces,
trailing 前/以前/完成/止, a leading 截至/到, a range whose end is the due date, 号 for 日, and 上旬/中旬/下旬.
Anything else is an error that quotes the text and says what is wrong: a plan with a misread deadline
would remind the wrong people on the wrong day.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from schedule.i18n import Told

# A year outside this span is a typo (2203年) rather than a plan.
_MIN_YEAR, _MAX_YEAR = 2000, 2100

_ONGOING = frozenset({"长期坚持", "持续推进", "长期", "长期推进", "持续", "持续开展", "常态化", "常态化推进"})
# No date at all: the unit reports when the coordinator's notice asks (a reminder to report, like 长期坚持).
_AS_NOTIFIED = frozenset({"按通知要求", "按要求", "按通知", "按照通知要求", "按上级通知要求"})
# A year-less year end (年底前, 全年): the end of the first plan year it is read against.
_YEAR_WORDS = frozenset({"年底", "年末", "年内", "全年", "年度", "本年度", "当年", "今年", "今年底", "本年"})
_PREFIXES = ("截止到", "截至", "截止", "到", "于")
_SUFFIXES = ("完成", "以前", "之前", "为止", "前", "止")
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
# 旬: the 10th, the 20th, the month's end.
_XUN_DAY = {"上旬": 10, "中旬": 20}


_Y = r"(?P<y>[0-9]{4})"
_OPT_Y = r"(?:(?P<y>[0-9]{4})年)?"  # a form that may leave the year to the plan's window
_M = r"(?P<m>[0-9]{1,2})"
_D = r"(?P<d>[0-9]{1,2})"
_DATE_FORMS = [
    re.compile(rf"{_Y}(?P<sep>[-/.]){_M}(?P=sep){_D}"),
    re.compile(rf"{_Y}年{_M}月{_D}[日号]?"),
    re.compile(rf"{_M}月{_D}[日号]"),
]
_MONTH = re.compile(rf"{_OPT_Y}{_M}月份?(?P<part>底|末|上旬|中旬|下旬)?")
_YEAR_END = re.compile(rf"{_Y}年(?:年底|年末|底|末|内|度)?")
_HALF = re.compile(rf"{_OPT_Y}(?P<half>上半年|下半年|年中)")
_QUARTER = [
    re.compile(rf"{_OPT_Y}第?(?P<q>[0-9]{{1,2}}|[一二三四五六七八九十])季度(?:末|底)?"),
    re.compile(rf"{_Y}年第?(?P<q>[0-9]{{1,2}}|[一二三四五六七八九十])季(?:末|底)?"),
    re.compile(rf"{_Y}年?[Qq](?P<q>[0-9]{{1,2}})(?:末|底)?"),
]
_YEARLY = [
    re.compile(r"每年(?:年底|年末|底|末)?"),
    re.compile(rf"每年{_M}月份?(?:底|末)?"),
    re.compile(rf"每年{_M}月{_D}[日号]"),
]
_HALF_YEARLY = re.compile(r"每(?:个)?半年(?:末|底)?")
_QUARTERLY = re.compile(r"每(?:个)?季度?(?:末|底)?")
_MONTHLY = [
    re.compile(r"每(?:个)?月(?:底|末)?"),
    re.compile(rf"每(?:个)?月{_D}[日号]"),
]
_RANGE_SEP = re.compile(r"至|到|—+|–|~|〜|-")


# Recurrences without a dated instance: the unit is reminded to report, never chased for a deadline.
UNDATED = ("ongoing", "as_notified")


@dataclass(frozen=True)
class TimeLimit:
    due: date | None = None  # a single due date
    # None | "ongoing" | "as_notified" | "yearly" | "half_yearly" | "quarterly" | "monthly"
    recurrence: str | None = None
    month: int | None = None  # yearly, year-less: month of the due day (None → 12)
    day: int | None = None  # yearly/monthly, year-less: day of month (None → month end)

    @property
    def yearless(self) -> bool:
        """A single date written without its year (6月30日前, 年底前): the plan's window gives the year."""
        return self.recurrence is None and self.due is None

    def in_window(self, start: date) -> TimeLimit:
        """A year-less date read against a plan whose window starts on `start`: its first occurrence on or
        after that day. Any other limit is already what it says."""
        if not self.yearless:
            return self
        month = self.month or 12
        due = _day_in_month(start.year, month, self.day)
        if due < start:
            due = _day_in_month(start.year + 1, month, self.day)
        return TimeLimit(due=due)


class TimeLimitError(Told):
    def __init__(self, text: str, reason: Told) -> None:
        super().__init__("time_limit.error", text=text, reason=reason)
        self.text = text
        self.reason = reason


class _Invalid(Told):
    """The text has a recognised shape but an impossible value (月份 13, 6月31日)."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(f"time_limit.{key}", **values)


def parse_time_limit(value: object) -> TimeLimit | None:
    """A TimeLimit for a 完成时限 cell; None for a blank cell (no due date)."""
    if value is None:
        return None
    if _is_missing(value):
        return None
    if isinstance(value, datetime):  # also pandas.Timestamp: an Excel date cell
        return TimeLimit(due=value.date())
    if isinstance(value, date):
        return TimeLimit(due=value)
    if not isinstance(value, str):
        raise TimeLimitError(str(value), _Invalid("not_text"))
    text = value.strip()
    if not text:
        return None
    normal = _normalize(text)
    try:
        limit = _parse_single(normal) or _parse_range(normal)
    except _Invalid as exc:
        raise TimeLimitError(text, exc) from None
    if limit is None:
        raise TimeLimitError(text, _Invalid("unknown_form"))
    return limit


def _is_missing(value: object) -> bool:
    # An empty spreadsheet cell arrives as NaN or pandas.NaT, the values not equal to themselves,
    # or as pandas.NA, which refuses to become a bool at all.
    try:
        return bool(value != value)
    except TypeError:
        return True


def expand_recurrence(limit: TimeLimit, start: date, end: date) -> list[date]:
    """The due dates of a recurring limit that fall within [start, end], in order.

    A one-off limit is its own single instance whatever the window (an explicit date in the plan is
    authoritative); an ongoing limit has no dated instances.
    """
    if limit.recurrence is None:
        return [limit.due] if limit.due is not None else []
    if limit.recurrence in UNDATED or limit.yearless:
        return []
    if limit.recurrence == "yearly":
        month = limit.month or 12
        candidates = (_day_in_month(y, month, limit.day) for y in range(start.year, end.year + 1))
    elif limit.recurrence == "half_yearly":
        candidates = (_day_in_month(y, m, None) for y, m in _months(start, end) if m % 6 == 0)
    elif limit.recurrence == "quarterly":
        candidates = (_day_in_month(y, m, None) for y, m in _months(start, end) if m % 3 == 0)
    elif limit.recurrence == "monthly":
        candidates = (_day_in_month(y, m, limit.day) for y, m in _months(start, end))
    else:
        raise _Invalid("recurrence", recurrence=limit.recurrence)
    return [d for d in candidates if start <= d <= end]


def _months(start: date, end: date):
    for index in range(start.year * 12 + start.month - 1, end.year * 12 + end.month):
        yield index // 12, index % 12 + 1


def _day_in_month(year: int, month: int, day: int | None) -> date:
    # "每月31日" falls on the last day of a shorter month, as a coordinator would read it.
    last = calendar.monthrange(year, month)[1]
    return date(year, month, last if day is None else min(day, last))


def _normalize(text: str) -> str:
    s = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).rstrip("。.,;")
    for prefix in _PREFIXES:
        if s.startswith(prefix) and len(s) > len(prefix):
            s = s[len(prefix) :]
            break
    stripped = True
    while stripped:
        stripped = False
        for suffix in _SUFFIXES:
            if s.endswith(suffix) and len(s) > len(suffix):
                s = s[: -len(suffix)]
                stripped = True
    return s


def _parse_single(s: str) -> TimeLimit | None:
    if s in _ONGOING:
        return TimeLimit(recurrence="ongoing")
    if s in _AS_NOTIFIED:
        return TimeLimit(recurrence="as_notified")
    if s in _YEAR_WORDS:
        return TimeLimit(month=12)
    if s.startswith("每"):
        return _parse_recurrence(s)
    return _parse_dated(s)


def _parse_dated(s: str) -> TimeLimit | None:
    for form in _DATE_FORMS:
        if m := form.fullmatch(s):
            return _on(m, _month(m), int(m["d"]))
    if m := _MONTH.fullmatch(s):
        return _on(m, _month(m), _XUN_DAY.get(m["part"] or ""))
    if m := _YEAR_END.fullmatch(s):
        return TimeLimit(due=date(_year(m), 12, 31))
    if m := _HALF.fullmatch(s):
        return _on(m, 12 if m["half"] == "下半年" else 6, None)
    for form in _QUARTER:
        if m := form.fullmatch(s):
            q = _CN_DIGITS.get(m["q"]) or int(m["q"])
            if not 1 <= q <= 4:
                raise _Invalid("quarter", quarter=q)
            return _on(m, 3 * q, None)
    return None


def _on(m: re.Match[str], month: int, day: int | None) -> TimeLimit:
    """That day of that month (None: the month's end), in the year written, or year-less without one."""
    if m.groupdict().get("y") is None:
        if day is not None:
            # 2000 is a leap year, so 2月29日 is allowed and lands on 2月28日 in other years.
            _date(2000, month, day, any_year=True)
        return TimeLimit(month=month, day=day)
    year = _year(m)
    return TimeLimit(due=_date(year, month, day) if day is not None else _day_in_month(year, month, None))


def _parse_recurrence(s: str) -> TimeLimit | None:
    for form in _YEARLY:
        if m := form.fullmatch(s):
            groups = m.groupdict()
            month = _month(m) if groups.get("m") else None
            day = int(groups["d"]) if groups.get("d") else None
            if day is not None:
                # 2000 is a leap year, so 每年2月29日 is allowed and lands on 2月28日 in other years.
                _date(2000, month, day, any_year=True)
            return TimeLimit(recurrence="yearly", month=month, day=day)
    if _HALF_YEARLY.fullmatch(s):
        return TimeLimit(recurrence="half_yearly")
    if _QUARTERLY.fullmatch(s):
        return TimeLimit(recurrence="quarterly")
    for form in _MONTHLY:
        if m := form.fullmatch(s):
            day = int(m["d"]) if m.groupdict().get("d") else None
            if day is not None and not 1 <= day <= 31:
                raise _Invalid("day", day=day)
            return TimeLimit(recurrence="monthly", day=day)
    return None


def _parse_range(s: str) -> TimeLimit | None:
    """「2023年3月—2023年4月」, 「2023年3月至4月」, 「2023年3—4月」: the range ends on its due date."""
    for sep in _RANGE_SEP.finditer(s):
        left, right = s[: sep.start()], s[sep.end() :]
        first = _range_end(left, ("", "月", "年"))
        if first is None:
            continue
        year = re.match(r"[0-9]{4}", left)
        if year and not re.match(r"[0-9]{4}", right):
            right = f"{year[0]}年{right}"
        last = _range_end(right, ("",))
        if last is None:
            continue
        # A year-less range (3月至4月) ends on its year-less end; the plan's window gives the year.
        if first.due and last.due and last.due < first.due:
            raise _Invalid("range", last=last.due.isoformat(), first=first.due.isoformat())
        return last
    return None


def _range_end(part: str, completions: tuple[str, ...]) -> TimeLimit | None:
    # The left end of 「2023年3—4月」 is 「2023年3」: try it with the unit the right end carries.
    for completion in completions:
        limit = _parse_dated(part + completion) if part else None
        if limit is not None:
            return limit
    return None


def _year(m: re.Match[str]) -> int:
    year = int(m["y"])
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        raise _Invalid("year", year=year, min=_MIN_YEAR, max=_MAX_YEAR)
    return year


def _month(m: re.Match[str]) -> int:
    month = int(m["m"])
    if not 1 <= month <= 12:
        raise _Invalid("month", month=month)
    return month


def _date(year: int, month: int, day: int, any_year: bool = False) -> date:
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        raise _Invalid("no_day_any_year" if any_year else "no_day", year=year, month=month, day=day,
                       last=last)
    return date(year, month, day)
