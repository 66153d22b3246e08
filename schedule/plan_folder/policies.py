"""program.yaml's policy blocks (reminders, calendar, delivery, scoring, portal), each with its defaults."""

from __future__ import annotations

import re
from datetime import date

from schedule.i18n import told
from schedule.model import (
    CalendarPolicy,
    DeliveryPolicy,
    Policies,
    PortalPolicy,
    ReminderPolicy,
    ScoringPolicy,
    parse_hours,
)
from schedule.plan_folder.documents import Problems, YamlDoc, as_date, section

REMINDER_NUMBERS = (
    "overdue_every_workdays",
    "escalate_after",
    "report_every_workdays",
    "ack_within_workdays",
)


def read_policies(doc: YamlDoc, data: dict, problems: Problems) -> Policies:
    # Read in the file's usual order, so that problems are listed as a reader meets them.
    reminders, calendar = _reminders(doc, data, problems), _calendar(doc, data, problems)
    return Policies(
        reminders,
        calendar,
        _delivery(doc, data, problems),
        _scoring(doc, data, problems),
        _portal(doc, data, problems),
    )


def _delivery(doc: YamlDoc, data: dict, problems: Problems) -> DeliveryPolicy:
    delivery = section(doc, data, "delivery", problems)
    try:
        return parse_hours(delivery.get("hours", "08:30-18:00"))
    except ValueError as exc:
        problems.append(doc.problem(("delivery", "hours"), told(exc, problems.language)))
        return parse_hours("08:30-18:00")


def _reminders(doc: YamlDoc, data: dict, problems: Problems) -> ReminderPolicy:
    reminders = section(doc, data, "reminders", problems)
    defaults = ReminderPolicy()
    offsets = reminders.get("before_due_workdays", list(defaults.before_due_workdays))
    if not isinstance(offsets, list) or not all(isinstance(n, int) and n > 0 for n in offsets):
        problems.append(doc.problem(("reminders", "before_due_workdays"), problems.say("offsets")))
        offsets = list(defaults.before_due_workdays)
    numbers = {}
    for key in REMINDER_NUMBERS:
        value = reminders.get(key, getattr(defaults, key))
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            problems.append(doc.problem(("reminders", key), problems.say("positive", key=key, value=value)))
            value = getattr(defaults, key)
        numbers[key] = value
    bulletin = str(reminders.get("bulletin", defaults.bulletin))
    if bulletin not in ("weekly", "monthly", "off"):
        problems.append(doc.problem(("reminders", "bulletin"), problems.say("bulletin", value=bulletin)))
        bulletin = defaults.bulletin
    return ReminderPolicy(tuple(sorted(set(offsets), reverse=True)), bulletin=bulletin, **numbers)


def _calendar(doc: YamlDoc, data: dict, problems: Problems) -> CalendarPolicy:
    calendar = section(doc, data, "calendar", problems)
    policy = str(calendar.get("due_on_non_workday", "keep"))
    if policy not in ("keep", "previous", "next"):
        problems.append(
            doc.problem(
                ("calendar", "due_on_non_workday"),
                problems.say("non_workday", value=policy),
            )
        )
        policy = "keep"
    extra: dict[str, tuple[date, ...]] = {}
    for key in ("extra_holidays", "extra_workdays"):
        values = calendar.get(key) or []
        if not isinstance(values, list):
            problems.append(doc.problem(("calendar", key), problems.say("date_list", key=key)))
            values = []
        dates = (as_date(doc, ("calendar", key, i), v, problems, "date") for i, v in enumerate(values))
        extra[key] = tuple(d for d in dates if d)
    return CalendarPolicy(policy, **extra)


def _scoring(doc: YamlDoc, data: dict, problems: Problems) -> ScoringPolicy:
    scoring = section(doc, data, "scoring", problems)
    values = {}
    for key, default in vars(ScoringPolicy()).items():
        value = scoring.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(doc.problem(("scoring", key), problems.say("integer", key=key)))
            value = default
        values[key] = value
    return ScoringPolicy(**values)


def _portal(doc: YamlDoc, data: dict, problems: Problems) -> PortalPolicy:
    portal = section(doc, data, "portal", problems)
    defaults = PortalPolicy()
    url = portal.get("url")
    if url is not None and not re.match(r"^https?://[^\s/]+", str(url)):
        problems.append(doc.problem(("portal", "url"), problems.say("portal_url", url=url)))
        url = None
    days = portal.get("link_days", defaults.link_days)
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        problems.append(
            doc.problem(("portal", "link_days"), problems.say("positive", key="link_days", value=days))
        )
        days = defaults.link_days
    review = str(data.get("review", defaults.review))
    if review not in ("required", "none"):
        problems.append(doc.problem(("review",), problems.say("review", value=review)))
        review = defaults.review
    return PortalPolicy(str(url).rstrip("/") if url else None, review, days)
