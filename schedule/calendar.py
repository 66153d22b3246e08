"""Working days on the Chinese statutory calendar, with a plan's own overrides.

Deadlines, reminders and lights all count in workdays, and the daily check runs them for every
task, so the arithmetic goes through a cumulative index over day ordinals: `workdays_between` is
two list look-ups and `add_workdays` a bisect. The index grows lazily, a whole year at a time.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from datetime import date
from functools import cache

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


class WorkCalendar:
    """Statutory workdays plus a plan's extra holidays and makeup workdays (overrides win).

    A date listed in both overrides is a workday: a makeup day is named one by one in a 调休 notice,
    so it is the more deliberate entry. Flagging the contradiction is the plan validator's job.
    """

    def __init__(self, extra_holidays: Iterable[date] = (), extra_workdays: Iterable[date] = ()) -> None:
        self._extra_holidays = frozenset(extra_holidays)
        self._extra_workdays = frozenset(extra_workdays)
        # _cum[i] = number of workdays among ordinals [_start, _start + i); len(_cum) = days + 1.
        self._first_year = 0
        self._last_year = -1
        self._start = 0
        self._end = 0  # exclusive
        self._cum: list[int] = [0]

    @staticmethod
    def uncovered_years(years: Iterable[int]) -> list[int]:
        """Years the statutory data does not cover: there the calendar is Mon–Fri plus overrides."""
        return sorted({y for y in years if not _FIRST_YEAR <= y <= _LAST_YEAR})

    def is_workday(self, d: date) -> bool:
        o = d.toordinal()
        if not self._start <= o < self._end:
            self._cover(d.year)
        i = o - self._start
        return self._cum[i + 1] != self._cum[i]

    def workdays_between(self, a: date, b: date) -> int:
        """Workdays in the half-open interval (a, b]; the negative of (b, a] when b < a."""
        oa, ob = a.toordinal(), b.toordinal()
        if not (self._start <= oa < self._end and self._start <= ob < self._end):
            self._cover(a.year)
            self._cover(b.year)
        cum, start = self._cum, self._start
        return cum[ob - start + 1] - cum[oa - start + 1]

    def add_workdays(self, d: date, n: int) -> date:
        """n > 0: the n-th workday strictly after d; n < 0: the |n|-th strictly before d; 0: d."""
        if n == 0:
            return d
        o = d.toordinal()
        if not self._start <= o < self._end:
            self._cover(d.year)
        while True:
            # Rank (1-based, within the index) of the workday we are looking for.
            if n > 0:
                rank = self._cum[o - self._start + 1] + n
            else:
                rank = self._cum[o - self._start] + n + 1
            if rank < 1:
                self._cover(self._first_year - 1 - (1 - rank) // _MIN_WORKDAYS_PER_YEAR)
            elif rank > self._cum[-1]:
                self._cover(self._last_year + 1 + (rank - self._cum[-1]) // _MIN_WORKDAYS_PER_YEAR)
            else:
                return date.fromordinal(self._start + bisect_left(self._cum, rank) - 1)

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
        flags: list[bool] = []
        for year in range(first, last + 1):
            flags += _statutory_year(year)
        if self._extra_workdays or self._extra_holidays:
            start = date(first, 1, 1).toordinal()
            for d in self._extra_holidays:
                if first <= d.year <= last:
                    flags[d.toordinal() - start] = False
            for d in self._extra_workdays:
                if first <= d.year <= last:
                    flags[d.toordinal() - start] = True
        return flags

    def _cover(self, year: int) -> None:
        """Grow the index, in whole years, until it includes `year`."""
        if self._first_year <= year <= self._last_year:
            return
        if self._last_year < self._first_year:  # empty index
            self._first_year = self._last_year = year
            self._start = date(year, 1, 1).toordinal()
            self._cum = [0]
            self._append(self._year_flags(year, year))
        elif year > self._last_year:
            self._append(self._year_flags(self._last_year + 1, year))
            self._last_year = year
        else:
            flags = self._year_flags(year, self._first_year - 1)
            old = self._cum
            self._cum = [0]
            self._append(flags)
            shift = self._cum[-1]
            self._cum.extend(c + shift for c in old[1:])
            self._first_year = year
            self._start = date(year, 1, 1).toordinal()
        self._end = self._start + len(self._cum) - 1

    def _append(self, flags: list[bool]) -> None:
        total = self._cum[-1]
        for flag in flags:
            total += flag
            self._cum.append(total)
