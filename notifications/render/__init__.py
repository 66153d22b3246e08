"""Texts from templates: digests and bulletins, through the one jinja2 environment."""

from notifications.render.bulletin import FORMATS, bulletin_data, render_bulletin
from notifications.render.digest import DigestItem, render_digest
from notifications.render.environment import environment

__all__ = [
    "bulletin_data", "DigestItem", "environment", "FORMATS", "render_bulletin", "render_digest",
]
