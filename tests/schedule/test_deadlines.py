"""The 完成时限 parser: every accepted form of docs/plan-format.md, tolerant variants, and errors."""

import calendar
import datetime as dt
import re
from datetime import date

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schedule import TimeLimit, TimeLimitError, expand_recurrence, parse_time_limit

PROPERTY = settings(max_examples=200, deadline=None)


def due(y, m, d):
    return TimeLimit(due=date(y, m, d))


# Each row of the "Time limits accepted" table of docs/plan-format.md.
CONTRACT = [
    ("2023年6月底前", due(2023, 6, 30)),
    ("2023年6月底", due(2023, 6, 30)),
    ("2023年6月", due(2023, 6, 30)),
    ("2023年6月前", due(2023, 6, 30)),
    ("2023年6月15日前", due(2023, 6, 15)),
    ("2023年6月15日", due(2023, 6, 15)),
    ("2023-06-15", due(2023, 6, 15)),
    ("2023/6/15", due(2023, 6, 15)),
    ("2023.6.15", due(2023, 6, 15)),
    (date(2023, 6, 15), due(2023, 6, 15)),
    (dt.datetime(2023, 6, 15, 0, 0), due(2023, 6, 15)),
    (pd.Timestamp("2023-06-15"), due(2023, 6, 15)),  # an Excel date cell
    ("2023年底前", due(2023, 12, 31)),
    ("2023年年底", due(2023, 12, 31)),
    ("2023年末", due(2023, 12, 31)),
    ("2023年12月底", due(2023, 12, 31)),
    ("2023年上半年", due(2023, 6, 30)),
    ("2023年下半年", due(2023, 12, 31)),
    ("2023年第一季度", due(2023, 3, 31)),
    ("2023年一季度", due(2023, 3, 31)),
    ("2023年Q1", due(2023, 3, 31)),
    ("2023年第二季度", due(2023, 6, 30)),
    ("2023年二季度", due(2023, 6, 30)),
    ("2023年Q2", due(2023, 6, 30)),
    ("2023年第三季度", due(2023, 9, 30)),
    ("2023年三季度", due(2023, 9, 30)),
    ("2023年Q3", due(2023, 9, 30)),
    ("2023年第四季度", due(2023, 12, 31)),
    ("2023年四季度", due(2023, 12, 31)),
    ("2023年Q4", due(2023, 12, 31)),
    ("长期坚持", TimeLimit(recurrence="ongoing")),
    ("持续推进", TimeLimit(recurrence="ongoing")),
    ("长期", TimeLimit(recurrence="ongoing")),
    ("每年", TimeLimit(recurrence="yearly")),
    ("每年12月底前", TimeLimit(recurrence="yearly", month=12)),
    ("每季度", TimeLimit(recurrence="quarterly")),
    ("每月", TimeLimit(recurrence="monthly")),
    ("每月5日前", TimeLimit(recurrence="monthly", day=5)),
    ("每半年", TimeLimit(recurrence="half_yearly")),
    ("按通知要求", TimeLimit(recurrence="as_notified")),
    ("2021年", due(2021, 12, 31)),
]

# Written without a year, as an annual 工作要点 writes them: the plan's window gives the year.
YEARLESS = [
    ("年底前", TimeLimit(month=12)),
    ("全年", TimeLimit(month=12)),
    ("6月30日前", TimeLimit(month=6, day=30)),
    ("4月26日前", TimeLimit(month=4, day=26)),
    ("上半年", TimeLimit(month=6)),
    ("下半年", TimeLimit(month=12)),
]

# What a coordinator types and expects to be understood.
TOLERATED = [
    ("  2023年6月底前 ", due(2023, 6, 30)),
    ("２０２３年６月３０日前", due(2023, 6, 30)),  # full-width digits
    ("２０２３／６／１５", due(2023, 6, 15)),
    ("2023年 6月 底前", due(2023, 6, 30)),
    ("2023年6月30日前完成", due(2023, 6, 30)),
    ("2023年6月底以前", due(2023, 6, 30)),
    ("2023年6月底止", due(2023, 6, 30)),
    ("2023年6月30号", due(2023, 6, 30)),
    ("2023年6月份", due(2023, 6, 30)),
    ("2023年6月底前。", due(2023, 6, 30)),
    ("截至2025年底", due(2025, 12, 31)),
    ("2023年6月上旬", due(2023, 6, 10)),
    ("2023年6月中旬", due(2023, 6, 20)),
    ("2023年6月下旬", due(2023, 6, 30)),
    ("2023年2月底", due(2023, 2, 28)),
    ("2024年2月底", due(2024, 2, 29)),
    ("2023年q4", due(2023, 12, 31)),
    ("2023Q1", due(2023, 3, 31)),
    ("2023年第1季度", due(2023, 3, 31)),
    ("2023年一季度末", due(2023, 3, 31)),
    ("2023年年中", due(2023, 6, 30)),
    ("2023年", due(2023, 12, 31)),
    ("2023年3月—2023年4月", due(2023, 4, 30)),
    ("2023年3月——2023年4月", due(2023, 4, 30)),
    ("2023年3月-2023年4月", due(2023, 4, 30)),
    ("2023年3月至4月", due(2023, 4, 30)),
    ("2023年3月至2024年4月", due(2024, 4, 30)),
    ("2023年3—4月", due(2023, 4, 30)),
    ("2023年10月至12月底前", due(2023, 12, 31)),
    ("2023年-2025年", due(2025, 12, 31)),
    ("2023-03-01至2023-04-15", due(2023, 4, 15)),
    ("每年6月15日前", TimeLimit(recurrence="yearly", month=6, day=15)),
    ("每年6月", TimeLimit(recurrence="yearly", month=6)),
    ("每年年底前", TimeLimit(recurrence="yearly")),
    ("每季度末", TimeLimit(recurrence="quarterly")),
    ("每月底前", TimeLimit(recurrence="monthly")),
    ("每个月10号前", TimeLimit(recurrence="monthly", day=10)),
    ("长期坚持。", TimeLimit(recurrence="ongoing")),
    ("年内", TimeLimit(month=12)),
    ("年底", TimeLimit(month=12)),
    ("6月底前", TimeLimit(month=6)),
    ("6月底", TimeLimit(month=6)),
    ("9月", TimeLimit(month=9)),
    ("4月26日", TimeLimit(month=4, day=26)),
    ("2月29日前", TimeLimit(month=2, day=29)),
    ("第三季度", TimeLimit(month=9)),
    ("三季度末", TimeLimit(month=9)),
    ("年中", TimeLimit(month=6)),
    ("3月至4月", TimeLimit(month=4)),
    ("每个半年", TimeLimit(recurrence="half_yearly")),
    ("按要求", TimeLimit(recurrence="as_notified")),
]


@pytest.mark.parametrize(("value", "expected"), CONTRACT + YEARLESS + TOLERATED, ids=str)
def test_accepted_time_limits(value, expected):
    assert parse_time_limit(value) == expected


@pytest.mark.parametrize("blank", [None, "", "   ", float("nan"), pd.NaT, pd.NA], ids=repr)
def test_blank_cells_have_no_time_limit(blank):
    assert parse_time_limit(blank) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2023年13月底前", "月份 13 不在 1–12"), ("2023年0月", "月份 0 不在 1–12"),
        ("2023年6月31日", "2023年6月没有 31 日"), ("2023-02-29", "2023年2月没有 29 日"),
        ("2023/6/0", "没有 0 日"), ("2023年第五季度", "季度 5 不在 1–4"), ("2023年Q5", "季度 5 不在 1–4"),
        ("每年6月31日", "6月没有 31 日"), ("每年13月", "月份 13 不在 1–12"),
        ("每月32日", "日 32 不在 1–31"), ("1999年底", "年份 1999 不在"), ("2023年6月至3月", "早于开始"),
        ("尽快", "不是认得的写法"), ("立即", "不是认得的写法"), ("每周", "不是认得的写法"),
        ("6月31日", "6月没有 31 日"), ("13月", "月份 13 不在 1–12"), ("第五季度", "季度 5 不在 1–4"),
        ("按时", "不是认得的写法"), ("2023年6月底前后", "不是认得的写法"), ("2023-6/15", "不是认得的写法")],
)
def test_bad_time_limits_quote_the_text_and_say_why(text, reason):
    with pytest.raises(TimeLimitError) as caught:
        parse_time_limit(text)
    message = str(caught.value)
    assert message.startswith(f"无法识别的完成时限「{text}」: ")
    assert reason in message
    assert caught.value.text == text


def test_a_number_is_not_a_time_limit():
    with pytest.raises(TimeLimitError, match="「2023」"):
        parse_time_limit(2023)


def test_the_error_is_a_value_error():
    with pytest.raises(ValueError, match="无法识别的完成时限"):
        parse_time_limit("尽快")


# (text, the plan's window start, the due date it reads as): the first such day on or after the start.
IN_WINDOW = [
    ("年底前", date(2021, 1, 1), date(2021, 12, 31)),
    ("全年", date(2021, 3, 1), date(2021, 12, 31)),
    ("6月30日前", date(2021, 1, 1), date(2021, 6, 30)),
    ("4月26日前", date(2021, 1, 1), date(2021, 4, 26)),
    ("4月26日前", date(2021, 5, 1), date(2022, 4, 26)),  # past in the first year: the next one (a warning)
    ("上半年", date(2021, 2, 8), date(2021, 6, 30)),
    ("下半年", date(2021, 2, 8), date(2021, 12, 31)),
    ("2月29日前", date(2021, 1, 1), date(2021, 2, 28)),
    ("2月29日前", date(2024, 1, 1), date(2024, 2, 29)),
    ("6月30日前", date(2023, 7, 1), date(2024, 6, 30)),
    ("2021年", date(2021, 1, 1), date(2021, 12, 31)),  # a year written is kept whatever the window
    ("2021年6月", date(2023, 1, 1), date(2021, 6, 30)),
]


@pytest.mark.parametrize(("text", "start", "expected"), IN_WINDOW, ids=str)
def test_yearless_dates_read_against_the_window(text, start, expected):
    assert parse_time_limit(text).in_window(start) == TimeLimit(due=expected)


@pytest.mark.parametrize("text", ["每年", "每半年", "长期坚持", "按通知要求"])
def test_recurrences_are_what_they_say_in_any_window(text):
    limit = parse_time_limit(text)
    assert limit.in_window(date(2021, 1, 1)) is limit


def days(*texts: str) -> list[date]:
    return [date.fromisoformat(t) for t in texts]


@pytest.mark.parametrize(
    ("limit", "start", "end", "expected"),
    [
        pytest.param(TimeLimit(recurrence="yearly", month=6, day=15), "2023-03-01", "2025-06-14",
                     days("2023-06-15", "2024-06-15"), id="yearly on the given day"),
        pytest.param(TimeLimit(recurrence="yearly"), "2023-03-01", "2025-12-31",
                     days("2023-12-31", "2024-12-31", "2025-12-31"), id="yearly at the end of December"),
        pytest.param(TimeLimit(recurrence="yearly", month=2, day=29), "2023-01-01", "2024-12-31",
                     days("2023-02-28", "2024-02-29"), id="yearly 29 February on the 28th in common years"),
        pytest.param(TimeLimit(recurrence="half_yearly"), "2021-01-01", "2022-06-29",
                     days("2021-06-30", "2021-12-31"), id="half-yearly at June's and December's ends"),
        pytest.param(TimeLimit(recurrence="quarterly"), "2023-03-01", "2023-12-30",
                     days("2023-03-31", "2023-06-30", "2023-09-30"), id="quarterly at quarter ends"),
        pytest.param(TimeLimit(recurrence="monthly"), "2024-01-10", "2024-04-05",
                     days("2024-01-31", "2024-02-29", "2024-03-31"), id="monthly at month end"),
        pytest.param(TimeLimit(recurrence="monthly", day=5), "2024-01-10", "2024-04-05",
                     days("2024-02-05", "2024-03-05", "2024-04-05"), id="monthly on the day"),
        pytest.param(TimeLimit(recurrence="monthly", day=31), "2024-01-10", "2024-04-05",
                     days("2024-01-31", "2024-02-29", "2024-03-31"), id="monthly on the 31st or the end"),
    ],
)
def test_recurring_instances(limit, start, end, expected):
    assert expand_recurrence(limit, date.fromisoformat(start), date.fromisoformat(end)) == expected


def test_ongoing_and_one_off_limits():
    assert expand_recurrence(TimeLimit(recurrence="ongoing"), date(2023, 1, 1), date(2025, 1, 1)) == []
    assert expand_recurrence(TimeLimit(recurrence="as_notified"), date(2023, 1, 1), date(2025, 1, 1)) == []
    assert expand_recurrence(due(2023, 6, 30), date(2023, 1, 1), date(2025, 1, 1)) == [date(2023, 6, 30)]
    assert expand_recurrence(TimeLimit(), date(2023, 1, 1), date(2025, 1, 1)) == []


@st.composite
def valid_days(draw):
    year = draw(st.integers(2000, 2100))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, calendar.monthrange(year, month)[1]))
    return date(year, month, day)


@PROPERTY
@given(valid_days())
def test_formatted_dates_parse_to_that_date(d):
    y, m, dd = d.year, d.month, d.day
    for text in (f"{y}年{m}月{dd}日前", f"{y}-{m:02d}-{dd:02d}", f"{y}/{m}/{dd}", f"{y}.{m}.{dd}"):
        assert parse_time_limit(text) == TimeLimit(due=d), text


@PROPERTY
@given(valid_days())
def test_month_forms_give_the_last_day_of_the_month(d):
    last = date(d.year, d.month, calendar.monthrange(d.year, d.month)[1])
    for text in (f"{d.year}年{d.month}月底前", f"{d.year}年{d.month}月底", f"{d.year}年{d.month}月"):
        assert parse_time_limit(text) == TimeLimit(due=last), text


TIME_LIMIT_ALPHABET = (
    "0123456789０１２３-/.年月日号底末前后上下半季度第一二三四五十Qq"
    "每长期坚持持续推进至—~旬中完成以止 　，。、"
)


@PROPERTY
@given(st.one_of(st.text(), st.text(alphabet=TIME_LIMIT_ALPHABET, max_size=16)))
def test_random_text_parses_or_raises_time_limit_error(text):
    try:
        result = parse_time_limit(text)
    except TimeLimitError:
        return
    assert result is None or isinstance(result, TimeLimit)


def documented_time_limits() -> list[str]:
    """Every text in the first column of docs/plan-format.md's "Time limits accepted" table."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "plan-format.md").read_text("utf-8")
    table = doc.split("Time limits accepted", 1)[1].split("\n\n", 2)[1]
    texts = []
    for line in table.splitlines()[2:]:
        first = re.sub(r"\(.*?\)", "", line.split("|")[1])  # (… 第四季度, Q4): the pattern, not a text
        for text in re.split(r", | / ", first):
            text = text.strip()
            if text and "…" not in text and "Excel" not in text:
                texts.append(text)
    return texts


def test_the_documented_table_is_long_enough_to_mean_something():
    assert {"年底前", "全年", "6月30日前", "4月26日前", "每半年", "上半年", "按通知要求", "2021年"} <= set(
        documented_time_limits())


@pytest.mark.parametrize("text", documented_time_limits())
def test_every_documented_time_limit_is_accepted(text):
    assert isinstance(parse_time_limit(text), TimeLimit)
