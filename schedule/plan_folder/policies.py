"""program.yaml's policy blocks (reminders, calendar, delivery, scoring, portal), each with its defaults."""

from __future__ import annotations

import re
from datetime import date

from schedule.model import (
    CalendarPolicy,
    DeliveryPolicy,
    Policies,
    PortalPolicy,
    ReminderPolicy,
    ScoringPolicy,
    parse_hours,
)
from schedule.plan_folder.documents import Problem, YamlDoc, as_date, section

REMINDER_NUMBERS = (
    "overdue_every_workdays",
    "escalate_after",
    "report_every_workdays",
    "ack_within_workdays",
)


def read_policies(doc: YamlDoc, data: dict, problems: list[Problem]) -> Policies:
    # Read in the file's usual order, so that problems are listed as a reader meets them.
    reminders, calendar = _reminders(doc, data, problems), _calendar(doc, data, problems)
    return Policies(
        reminders,
        calendar,
        _delivery(doc, data, problems),
        _scoring(doc, data, problems),
        _portal(doc, data, problems),
    )


def _delivery(doc: YamlDoc, data: dict, problems: list[Problem]) -> DeliveryPolicy:
    delivery = section(doc, data, "delivery", problems)
    try:
        return parse_hours(delivery.get("hours", "08:30-18:00"))
    except ValueError as exc:
        problems.append(doc.problem(("delivery", "hours"), str(exc)))
        return parse_hours("08:30-18:00")


def _reminders(doc: YamlDoc, data: dict, problems: list[Problem]) -> ReminderPolicy:
    reminders = section(doc, data, "reminders", problems)
    defaults = ReminderPolicy()
    offsets = reminders.get("before_due_workdays", list(defaults.before_due_workdays))
    if not isinstance(offsets, list) or not all(isinstance(n, int) and n > 0 for n in offsets):
        problems.append(
            doc.problem(
                ("reminders", "before_due_workdays"), "before_due_workdays 应为正整数列表，例如 [10, 3, 1]"
            )
        )
        offsets = list(defaults.before_due_workdays)
    numbers = {}
    for key in REMINDER_NUMBERS:
        value = reminders.get(key, getattr(defaults, key))
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            problems.append(doc.problem(("reminders", key), f"{key} 应为正整数，现为「{value}」"))
            value = getattr(defaults, key)
        numbers[key] = value
    bulletin = str(reminders.get("bulletin", defaults.bulletin))
    if bulletin not in ("weekly", "monthly", "off"):
        problems.append(
            doc.problem(("reminders", "bulletin"), f"bulletin「{bulletin}」应为 weekly | monthly | off")
        )
        bulletin = defaults.bulletin
    return ReminderPolicy(tuple(sorted(set(offsets), reverse=True)), bulletin=bulletin, **numbers)


def _calendar(doc: YamlDoc, data: dict, problems: list[Problem]) -> CalendarPolicy:
    calendar = section(doc, data, "calendar", problems)
    policy = str(calendar.get("due_on_non_workday", "keep"))
    if policy not in ("keep", "previous", "next"):
        problems.append(
            doc.problem(
                ("calendar", "due_on_non_workday"),
                f"due_on_non_workday「{policy}」应为 keep | previous | next",
            )
        )
        policy = "keep"
    extra: dict[str, tuple[date, ...]] = {}
    for key in ("extra_holidays", "extra_workdays"):
        values = calendar.get(key) or []
        if not isinstance(values, list):
            problems.append(doc.problem(("calendar", key), f"{key} 应为日期列表"))
            values = []
        dates = (as_date(doc, ("calendar", key, i), v, problems, "日期") for i, v in enumerate(values))
        extra[key] = tuple(d for d in dates if d)
    return CalendarPolicy(policy, **extra)


def _scoring(doc: YamlDoc, data: dict, problems: list[Problem]) -> ScoringPolicy:
    scoring = section(doc, data, "scoring", problems)
    values = {}
    for key, default in vars(ScoringPolicy()).items():
        value = scoring.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(doc.problem(("scoring", key), f"{key} 应为整数"))
            value = default
        values[key] = value
    return ScoringPolicy(**values)


def _portal(doc: YamlDoc, data: dict, problems: list[Problem]) -> PortalPolicy:
    portal = section(doc, data, "portal", problems)
    defaults = PortalPolicy()
    url = portal.get("url")
    if url is not None and not re.match(r"^https?://[^\s/]+", str(url)):
        problems.append(doc.problem(("portal", "url"), f"portal.url「{url}」应为 http(s):// 开头的地址"))
        url = None
    days = portal.get("link_days", defaults.link_days)
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        problems.append(doc.problem(("portal", "link_days"), f"link_days 应为正整数，现为「{days}」"))
        days = defaults.link_days
    review = str(data.get("review", defaults.review))
    if review not in ("required", "none"):
        problems.append(doc.problem(("review",), f"review「{review}」应为 required | none"))
        review = defaults.review
    return PortalPolicy(str(url).rstrip("/") if url else None, review, days)
