"""The one jinja2 Environment for every template in notifications/render/templates/: HTML escaped, markdown
escaped too.

- Autoescape is on for every template whose name contains `.html` (`digest.html.j2`, `bulletin.en.html.j2`,
  `acceptance_report.html.j2`): jinja2's `select_autoescape(["html"])` matches the last suffix only, so it
  does not
  match `x.html.j2`.
- Markdown templates (`.md` in the name) escape `&`, `<` and `>` in every value they print: a markdown
artifact or
  a chat message rendered as HTML shows a unit's `<img onerror=…>` as text. Text rendered by another of these
  templates is passed in as `Markup` and printed as it is.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

TEMPLATES = Path(__file__).parent / "templates"


def is_html(name: str | None) -> bool:
    return name is not None and ".html" in name


def markdown_escape(text: str) -> str:
    """HTML special characters as entities: markdown renderers show them as the characters, never as tags."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@pass_context
def _finalize(context: Context, value: object) -> object:
    if isinstance(value, str) and not isinstance(value, Markup) and ".md" in (context.name or ""):
        return markdown_escape(value)
    return value


def markdown_cell(value: object) -> str:
    """A markdown table cell: one line, pipes escaped."""
    return " ".join(str(value).split()).replace("|", "\\|")


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=is_html, finalize=_finalize,
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        auto_reload=False)  # the templates ship with the package: no stat() of the file on every message
    env.filters["cell"] = markdown_cell
    return env
