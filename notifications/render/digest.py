"""One digest message per recipient per check: its notices grouped by rule, rendered from jinja2 templates."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import date

from markupsafe import Markup

from notifications.render.environment import environment
from schedule import clean_text, labels, language_of, text

# The order of sections in a digest. Their titles (section.*), next steps (next_step.*) and where a list or
# form is (where.*: attached to an email; named for a robot's reader, who gets no attachment; or linked on the
# unit's page) are the catalogue's.
SECTION_KINDS: tuple[str, ...] = (
    "escalation", "overdue", "remediation_escalation", "remediation_overdue", "selfcheck_missing",
    "before_due", "cooperation", "remediation_before_due", "report_missing", "claim_returned", "ack_missing",
    "assignment",
    "selfcheck_form", "remediation_assigned", "extension_requested", "decision_requested",
    "extension_decided", "claim_passed", "phase_opened", "phase_closed", "phase_overrun", "delivery_alert",
    "bulletin", "final_summary",
)



# A digest lists at most this many items per rule; the rest are counted, and the unit's full list is attached.
MAX_ITEMS_PER_SECTION = 50


@dataclass(frozen=True)
class DigestItem:
    kind: str
    title: str
    code: str | None = None
    due: str | None = None
    light: str | None = None
    note: str | None = None
    role: str | None = None  # lead | co: what the unit answers for (a co-unit is asked to cooperate)
    period: str | None = None  # a recurring instance's period: 2024年6月 月报
    lead: str | None = None  # for a co-unit: the lead unit(s) it cooperates with


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    markdown: str
    html: str


@dataclass(frozen=True)
class Letterhead:
    """What makes a digest a 督办通知: its number, who issues it, whom to contact, how to reply."""

    number: str | None = None  # 督办单号: 成知督〔2024〕12号
    office: str | None = None  # the issuing office (the coordinator)
    contact: str | None = None  # 联系人 and phone, as one line: 张三（电话 028-1234）


@dataclass
class _Section:
    kind: str
    title: str
    items: list[DigestItem] = field(default_factory=list)
    lead: str | None = None
    next: str | None = None  # for a robot: names where to get a list or form
    next_html: str | None = None  # for an email, which carries them attached
    total: int = 0

    @property
    def more(self) -> int:
        return max(self.total - len(self.items), 0)


# A co-unit is not chased in its own name: its reminders of these rules become one request to cooperate.
COOPERATING = ("before_due", "overdue")


def _cooperation(items: list[DigestItem], separator: str) -> list[DigestItem]:
    """A co-unit's before-due and overdue reminders as one line per task, its periods listed on it."""
    first: dict[str, DigestItem] = {}
    periods: dict[str, list[str]] = {}
    for item in items:
        if item.kind in COOPERATING and item.role == "co":
            key = item.code or item.title
            first.setdefault(key, item)
            if item.period and item.period not in periods.setdefault(key, []):
                periods[key].append(item.period)
    return [DigestItem("cooperation", item.title, item.code, role="co", lead=item.lead,
                       period=separator.join(periods.get(key, [])) or None)
            for key, item in first.items()]


def _one_line_each(items: list[DigestItem], separator: str) -> list[DigestItem]:
    """One line per item: a co-unit's reminders folded into requests to cooperate, repeats dropped. An item
    about no task (an alert) is told apart by its note too: two messages of unknown fate on one channel read
    alike but for the message to re-send."""
    kept = [item for item in items if not (item.kind in COOPERATING and item.role == "co")]
    unique = {(i.kind, i.code, i.title, i.period, i.due, None if i.code else i.note): i
              for i in kept + _cooperation(items, separator)}
    return list(unique.values())


def render_digest(*, language: str, program_name: str, recipient_name: str, audience: str, today: date,
                  items: list[DigestItem], bulletin_markdown: str | None = None,
                  sender: str | None = None, link: str | None = None, contact: str | None = None,
                  letterhead: Letterhead | None = None, html: bool = True) -> Rendered:
    """`link`: the unit's personal portal link, shown at the end of every part (text, markdown, HTML) and
    the way to reply; without it the reply goes to `contact`, who is also whom a robot's reader asks for
    what a robot cannot carry. `letterhead`: the 督办单号, issuing office and contact line. `html`: False
    leaves the HTML part empty, for a message no email carries (it is half the rendering)."""
    say = labels(language, "digest_text")
    letterhead = letterhead or Letterhead()
    contact = letterhead.contact or contact or say["contact"]
    sections = _sections(language, _one_line_each(items, say["kinds_separator"]), link, contact,
                         bulletin_markdown)
    kinds_title = say["kinds_separator"].join(s.title.split("：")[0] for s in sections.values())
    counts = {k: max(s.total, len(s.items)) for k, s in sections.items()}
    numbered = f"{letterhead.number} {kinds_title}" if letterhead.number else kinds_title
    subject = say["subject"].format(program=program_name, kinds=numbered, year=today.year,
                                    month=today.month, day=today.day)
    subject = clean_text(subject, one_line=True)  # a mail header: never a line break
    context = {
        "program_name": program_name, "recipient_name": recipient_name, "audience": audience,
        "today": today.isoformat(), "kinds_title": kinds_title, "intro": _intro(counts, say),
        "sections": list(sections.values()), "sender": sender or letterhead.office or say["sender"],
        "language": language, "subject": subject, "greeting": say["greeting"].format(name=recipient_name),
        "as_of_label": say["as_of"], "light_label": labels(language, "light"),
        "link": link, "contact": contact, "link_label": say["link_label"],
        "more_attached": say["more_attached"], "number": letterhead.number,
        "labels": labels(language, "notice"),
        "reply": text(language, "notice.reply_link" if link else "notice.reply_contact", contact=contact)}
    templates = environment()
    markdown = templates.get_template(f"digest.{language_of(language)}.md.j2").render(context)
    page = templates.get_template("digest.html.j2").render(context) if html else ""
    return Rendered(subject, _plain(markdown), markdown, page)


def _sections(language: str, items: list[DigestItem], link: str | None, contact: str,
              bulletin_markdown: str | None) -> dict[str, _Section]:
    steps = labels(language, "next_step")

    def where(step: str, place: str) -> str:
        places = labels(language, f"where.{place}")
        return step.format(**{k: v.format(contact=contact) for k, v in places.items()})

    sections: dict[str, _Section] = {}
    for kind in SECTION_KINDS:
        chosen = [item for item in items if item.kind == kind]
        if chosen:
            step = steps.get(kind)
            sections[kind] = _Section(kind, text(language, f"section.{kind}"), chosen[:MAX_ITEMS_PER_SECTION],
                                      next=where(step, "linked" if link else "named") if step else None,
                                      next_html=where(step, "attached") if step else None,
                                      total=len(chosen))
    unknown = [item for item in items if item.kind not in SECTION_KINDS]
    if unknown:
        sections["other"] = _Section("other", text(language, "section.other"), unknown, total=len(unknown))
    if "bulletin" in sections and bulletin_markdown:
        # Rendered (and escaped) by the bulletin's markdown template: printed as it is.
        sections["bulletin"].lead = Markup(bulletin_markdown)
        sections["bulletin"].items, sections["bulletin"].total = [], 0
    if "final_summary" in sections and bulletin_markdown:
        sections["final_summary"].lead = Markup(bulletin_markdown)  # after its line: the program has ended
    return sections


def _intro(counts: dict[str, int], say: dict[str, str]) -> str:
    urgent = counts.get("escalation", 0) + counts.get("overdue", 0)
    soon = counts.get("before_due", 0)
    parts = [say["urgent"].format(count=urgent) if urgent else "",
             say["soon"].format(count=soon) if soon else ""]
    joined = say["intro_join"].join(p for p in parts if p)
    return say["intro"].format(parts=joined) if joined else say["intro_none"]


def _plain(markdown: str) -> str:
    """The text part: the markdown without its emphasis marks, which read as noise in a plain mail."""
    text = html.unescape(re.sub(r"\*\*(.+?)\*\*", r"\1", markdown))
    return re.sub(r"^#{2,3} ", "", text, flags=re.MULTILINE)
