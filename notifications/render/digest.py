"""One digest message per recipient per check: its notices grouped by rule, rendered from jinja2 templates."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import date

from markupsafe import Markup

from notifications.render.environment import environment
from schedule import clean_text, labels, text

# kind → (Chinese title, English title); the order is the order of sections in a digest.
SECTION_TITLES: dict[str, tuple[str, str]] = {
    "escalation": ("督办：逾期未办结事项", "Escalation: overdue items"),
    "overdue": ("催办：已逾期事项", "Overdue"),
    "remediation_escalation": ("督办：整改逾期事项", "Escalation: overdue remediation"),
    "remediation_overdue": ("催办：整改逾期事项", "Overdue remediation"),
    "selfcheck_missing": ("催交：自查表未报送", "Self-check form missing"),
    "before_due": ("到期提醒", "Due soon"),
    "cooperation": (text("zh-CN", "notice.cooperation_title"), text("en", "notice.cooperation_title")),
    "remediation_before_due": ("整改到期提醒", "Remediation due soon"),
    "report_missing": ("进展报送提醒", "Progress report missing"),
    "claim_returned": ("退回重办：办结申请未通过审核", "Returned for rework: done claims not accepted"),
    "ack_missing": ("催签收：交办事项尚未签收", "Not yet acknowledged: assignments"),
    "assignment": ("交办：本单位承担的任务", "Assignment: your tasks"),
    "selfcheck_form": ("自查自评：请填报自查表", "Self-check: please fill in your form"),
    "remediation_assigned": ("整改交办：补差提升事项", "Remediation items assigned"),
    "extension_requested": ("延期申请待审批", "Extension requests to decide"),
    "decision_requested": ("待牵头办决定", "Waiting for the coordinator's decision"),
    "extension_decided": ("延期申请结果", "Extension decisions"),
    "claim_passed": ("审核销号：办结申请已通过", "Closed after review"),
    "phase_opened": ("阶段开始", "Phase opened"), "phase_closed": ("阶段结束", "Phase closed"),
    "phase_overrun": ("阶段超期未结", "Phase overrun"),
    "delivery_alert": ("通知渠道故障", "Delivery channel broken"),
    "bulletin": ("工作通报", "Bulletin"),
    "final_summary": (text("zh-CN", "program_end.summary_section"),
                      text("en", "program_end.summary_section"))}

NEXT_STEPS: dict[str, tuple[str, str]] = {
    "escalation": (
        "请责任单位主要负责同志督促落实，于 3 个工作日内报送办结情况或书面说明原因；领导小组办公室将纳入通"
        "报和考核。",
        "The unit's leadership is asked to see to it and report within 3 workdays; this enters the bulletin"
        " and the assessment.",
    ),
    "overdue": (
        "以上事项已超过完成时限，请尽快办结并报送进展和佐证材料；确需延期的，请说明原因。",
        "These items are past their time limit: finish them and report progress with evidence as soon as po"
        "ssible.",
    ),
    "before_due": (
        "请按时限完成，并通过本单位督办页面报送进展和佐证材料；确需延期的，请在到期前提出延期申请。",
        "Please finish on time and report progress with evidence; request an extension before the due date "
        "if needed.",
    ),
    "cooperation": (text("zh-CN", "notice.cooperation_next"), text("en", "notice.cooperation_next")),
    "report_missing": ("请通过本单位督办页面报送最新进展。",
                       "Please report your latest progress on your unit's page."),
    "decision_requested": ("请登录督办门户的审核页面作出决定。",
                           "Please sign in to the portal's review page to decide."),
    "ack_missing": ("请打开本单位督办页面，对以上交办事项逐项签收。",
                    "Please open your unit's page and acknowledge each of these assignments."),
    "claim_returned": ("请按退回理由补充完善后，重新申请办结。",
                       "Please complete the work as the reason says and claim it done again."),
    "assignment": ("请在本单位督办页面逐项签收，对照{list}落实责任分工，按时限推进并定期报送进展。",
                   "Please acknowledge each assignment on your unit's page, work through {list} by its time "
                   "limits and report progress regularly."),
    "selfcheck_form": ("请填写{form}，按时交回。", "Please fill in {form} and return it in time."),
}

# Where the list or form is: attached to an email (html); named for a robot's reader, who gets no attachment
# (markdown, which is also the email's text part: true there as well) — on the unit's page where it has one.
WHERE: dict[str, dict[str, tuple[str, str]]] = {
    "attached": {
        "list": ("附件报送表", "the attached list"),
        "form": ("附件中的自查表", "the attached form"),
    },
    "named": {
        "list": ("本单位报送表（请向{contact}索取）", "your unit's list (ask {contact} for it)"),
        "form": ("本单位自查表（请向{contact}索取）", "your unit's self-check form (ask {contact} for it)"),
    },
    "linked": {
        "list": ("本单位督办页面上的任务清单", "the task list on your unit's page"),
        "form": (
            "本单位自查表（请向{contact}索取，填好后在本单位督办页面上传）",
            "your unit's self-check form (ask {contact} for it; upload it on your unit's page)",
        ),
    },
}


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


def _one_line_each(items: list[DigestItem], english: bool) -> list[DigestItem]:
    """One line per item: a co-unit's reminders folded into requests to cooperate, repeats dropped."""
    kept = [item for item in items if not (item.kind in COOPERATING and item.role == "co")]
    folded = _cooperation(items, "; " if english else "、")
    unique = {(i.kind, i.code, i.title, i.period, i.due): i for i in kept + folded}
    return list(unique.values())


def render_digest(*, language: str, program_name: str, recipient_name: str, audience: str, today: date,
                  items: list[DigestItem], bulletin_markdown: str | None = None,
                  sender: str | None = None, link: str | None = None, contact: str | None = None,
                  letterhead: Letterhead | None = None) -> Rendered:
    """`link`: the unit's personal portal link, shown at the end of every part (text, markdown, HTML) and
    the way to reply; without it the reply goes to `contact`, who is also whom a robot's reader asks for
    what a robot cannot carry."""
    english = language == "en"
    letterhead = letterhead or Letterhead()
    contact = letterhead.contact or contact or text(language, "notice.default_contact")
    sections = _sections(language, _one_line_each(items, english), link, contact, bulletin_markdown)
    kinds_title = ("、" if not english else ", ").join(s.title.split("：")[0] for s in sections.values())
    counts = {k: max(s.total, len(s.items)) for k, s in sections.items()}
    sender = sender or letterhead.office or text(language, "notice.default_sender")
    subject = _subject(language, program_name, kinds_title, today, letterhead.number)
    context = {
        "program_name": program_name, "recipient_name": recipient_name, "audience": audience,
        "today": today.isoformat(), "kinds_title": kinds_title, "intro": _intro(counts, english),
        "sections": list(sections.values()), "sender": sender, "language": language, "subject": subject,
        "greeting": f"Dear {recipient_name}," if english else f"{recipient_name}：",
        "as_of_label": "As of" if english else "截至", "light_label": labels(language, "light"),
        "link": link, "contact": contact, "number": letterhead.number,
        "labels": {key: text(language, f"notice.{key}") for key in LABELS},
        "reply": text(language, "notice.reply_link" if link else "notice.reply_contact", contact=contact),
        "link_label": text(language, "notice.link_label")}
    templates = environment()
    markdown = templates.get_template(f"digest.{'en' if english else 'zh-CN'}.md.j2").render(context)
    html = templates.get_template("digest.html.j2").render(context)
    return Rendered(subject, _plain(markdown), markdown, html)


LABELS = ("number_label", "title", "lead_label", "reply_label", "contact_label")


def _sections(language: str, items: list[DigestItem], link: str | None, contact: str,
              bulletin_markdown: str | None) -> dict[str, _Section]:
    english = language == "en"

    def where(step: str, kind: str) -> str:
        return step.format(**{k: v[english].format(contact=contact) for k, v in WHERE[kind].items()})

    sections: dict[str, _Section] = {}
    for kind in SECTION_TITLES:
        chosen = [item for item in items if item.kind == kind]
        if chosen:
            titles, steps = SECTION_TITLES[kind], NEXT_STEPS.get(kind)
            sections[kind] = _Section(kind, titles[english], chosen[:MAX_ITEMS_PER_SECTION],
                                      next=where(steps[english], "linked" if link else "named")
                                      if steps else None,
                                      next_html=where(steps[english], "attached") if steps else None,
                                      total=len(chosen))
    unknown = [item for item in items if item.kind not in SECTION_TITLES]
    if unknown:
        sections["other"] = _Section("other", "Other" if english else "其他事项", unknown, total=len(unknown))
    if "bulletin" in sections and bulletin_markdown:
        # Rendered (and escaped) by the bulletin's markdown template: printed as it is.
        sections["bulletin"].lead = Markup(bulletin_markdown)
        sections["bulletin"].items, sections["bulletin"].total = [], 0
    if "final_summary" in sections and bulletin_markdown:
        sections["final_summary"].lead = Markup(bulletin_markdown)  # after its line: the program has ended
    return sections


def _subject(language: str, program_name: str, kinds_title: str, today: date, number: str | None) -> str:
    if language == "en":
        subject = f"[{program_name}] {number + ' ' if number else ''}{kinds_title} — {today}"
    else:
        day = f"{today:%Y年%m月%d日}".replace("年0", "年").replace("月0", "月")
        subject = f"【{program_name}】{number + ' ' if number else ''}{kinds_title}（{day}）"
    return clean_text(subject, one_line=True)  # a mail header: never a line break


def _intro(counts: dict[str, int], english: bool) -> str:
    urgent = counts.get("escalation", 0) + counts.get("overdue", 0)
    soon = counts.get("before_due", 0)
    if english:
        parts = [f"{urgent} item(s) are overdue" if urgent else "", f"{soon} are due soon" if soon else ""]
        text = " and ".join(p for p in parts if p)
        return (text + ". Details below.") if text else "please note the following."
    parts = [f"有 {urgent} 项已逾期" if urgent else "", f"{soon} 项即将到期" if soon else ""]
    text = "，".join(p for p in parts if p)
    return (text + "，详见下文。") if text else "请关注以下事项。"


def _plain(markdown: str) -> str:
    """The text part: the markdown without its emphasis marks, which read as noise in a plain mail."""
    text = html.unescape(re.sub(r"\*\*(.+?)\*\*", r"\1", markdown))
    return re.sub(r"^#{2,3} ", "", text, flags=re.MULTILINE)
