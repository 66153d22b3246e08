"""Working days on the Chinese statutory calendar, with a plan's own overrides.

Deadlines, reminders, lights and scores all count in workdays, and the daily check runs them for
every task, so the arithmetic goes through a cumulative index over day ordinals: `workdays_between` is
two list look-ups and `add_workdays` a bisect. The index covers the years of the statutory data from
its first use and grows, a whole year at a time, only for a date outside them. A program's calendar is
built once per process (`shared_calendar`), not once per task.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from datetime import date
from functools import cache, lru_cache
from itertools import accumulate, chain
from typing import NamedTuple

import chinese_calendar

from schedule.i18n import Told

_FALLBACK_YEARS = (2004, 2026)
# A rough lower bound on workdays per year, used only to size how far the index must grow.
_MIN_WORKDAYS_PER_YEAR = 200


def _statutory_years() -> tuple[int, int]:
    # chinese_calendar rejects any year outside the span of its own holiday table, so read the span
    # from that table: a new release then widens the coverage without a change here.
    try:
        years = [d.year for d in chinese_calendar.holidays]
        return min(years), max(years)
    except (AttributeError, TypeError, ValueError):
        return _FALLBACK_YEARS


_FIRST_YEAR, _LAST_YEAR = _statutory_years()


@cache
def _statutory_year(year: int) -> tuple[bool, ...]:
    """One year's workday flags: computed once per process, since a calendar is built for every check."""
    days = range(date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal() + 1)
    if not _FIRST_YEAR <= year <= _LAST_YEAR:
        return tuple(date.fromordinal(o).weekday() < 5 for o in days)
    holidays, workdays = chinese_calendar.holidays, chinese_calendar.workdays
    flags = []
    for ordinal in days:
        d = date.fromordinal(ordinal)
        flags.append(d in workdays or (d.weekday() < 5 and d not in holidays))
    return tuple(flags)


class _Index(NamedTuple):
    """The cumulative workday count over whole years [first_year, last_year]: cum[i] is the number of
    workdays among the ordinals [start, start + i), so len(cum) is the number of days + 1. Never changed
    in place: a calendar swaps in a wider index at once, so a calendar shared between threads stays
    consistent."""

    first_year: int
    last_year: int
    start: int
    cum: list[int]


class WorkCalendar:
    """Statutory workdays plus a plan's extra holidays and makeup workdays (overrides win).

    A date listed in both overrides is a workday: a makeup day is named one by one in a 调休 notice,
    so it is the more deliberate entry. Flagging the contradiction is the plan validator's job.
    """

    def __init__(self, extra_holidays: Iterable[date] = (), extra_workdays: Iterable[date] = ()) -> None:
        self._extra_holidays = frozenset(extra_holidays)
        self._extra_workdays = frozenset(extra_workdays)
        self._index = _Index(0, -1, 0, [0])  # empty: covers no day

    @staticmethod
    def uncovered_years(years: Iterable[int]) -> list[int]:
        """Years the statutory data does not cover: there the calendar is Mon–Fri plus overrides."""
        return sorted({y for y in years if not _FIRST_YEAR <= y <= _LAST_YEAR})

    def is_workday(self, d: date) -> bool:
        index = self._index
        i = d.toordinal() - index.start
        if not 0 <= i < len(index.cum) - 1:
            index = self._cover(d.year)
            i = d.toordinal() - index.start
        return index.cum[i + 1] != index.cum[i]

    def workdays_between(self, a: date, b: date) -> int:
        """Workdays in the half-open interval (a, b]; the negative of (b, a] when b < a."""
        index = self._index
        ia, ib, days = a.toordinal() - index.start, b.toordinal() - index.start, len(index.cum) - 1
        if not (0 <= ia < days and 0 <= ib < days):
            index = self._cover(a.year, b.year)
            ia, ib = a.toordinal() - index.start, b.toordinal() - index.start
        return index.cum[ib + 1] - index.cum[ia + 1]

    def add_workdays(self, d: date, n: int) -> date:
        """n > 0: the n-th workday strictly after d; n < 0: the |n|-th strictly before d; 0: d."""
        if n == 0:
            return d
        index = self._cover(d.year)
        while True:
            cum, i = index.cum, d.toordinal() - index.start
            # Rank (1-based, within the index) of the workday we are looking for.
            rank = cum[i + 1] + n if n > 0 else cum[i] + n + 1
            if rank < 1:
                index = self._cover(index.first_year - 1 - (1 - rank) // _MIN_WORKDAYS_PER_YEAR)
            elif rank > cum[-1]:
                index = self._cover(index.last_year + 1 + (rank - cum[-1]) // _MIN_WORKDAYS_PER_YEAR)
            else:
                return date.fromordinal(index.start + bisect_left(cum, rank) - 1)

    def next_workday_on_or_after(self, d: date) -> date:
        return d if self.is_workday(d) else self.add_workdays(d, 1)

    def previous_workday_on_or_before(self, d: date) -> date:
        return d if self.is_workday(d) else self.add_workdays(d, -1)

    def adjust_due(self, d: date, policy: str) -> date:
        """Where a due date that falls on a non-workday lands: kept, moved back, or 顺延."""
        if policy == "keep":
            return d
        if policy == "previous":
            return self.previous_workday_on_or_before(d)
        if policy == "next":
            return self.next_workday_on_or_after(d)
        raise Told("policy.non_workday", policy=policy)

    def _year_flags(self, first: int, last: int) -> list[bool]:
        flags = list(chain.from_iterable(_statutory_year(year) for year in range(first, last + 1)))
        start = date(first, 1, 1).toordinal()
        for overrides, flag in ((self._extra_holidays, False), (self._extra_workdays, True)):
            for d in overrides:
                if first <= d.year <= last:
                    flags[d.toordinal() - start] = flag
        return flags

    def _cover(self, *years: int) -> _Index:
        """The index, widened in whole years to include `years`: at its first use to all the years of
        the statutory data as well."""
        index = self._index
        if all(index.first_year <= year <= index.last_year for year in years):
            return index
        if index.last_year < index.first_year:  # empty
            index = _Index(_FIRST_YEAR, _LAST_YEAR, 0, [])
        first, last = min(index.first_year, *years), max(index.last_year, *years)
        cum = list(accumulate(self._year_flags(first, last), initial=0))
        self._index = index = _Index(first, last, date(first, 1, 1).toordinal(), cum)
        return index


@lru_cache(maxsize=256)
def _shared(extra_holidays: frozenset[date], extra_workdays: frozenset[date]) -> WorkCalendar:
    return WorkCalendar(extra_holidays, extra_workdays)


def shared_calendar(extra_holidays: Iterable[date] = (), extra_workdays: Iterable[date] = ()) -> WorkCalendar:
    """The one calendar of these overrides in this process: every step of every check asks for its
    program's calendar, and each index is built once."""
    return _shared(frozenset(extra_holidays), frozenset(extra_workdays))
