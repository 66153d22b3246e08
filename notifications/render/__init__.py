"""Texts from templates: digests and bulletins, through the one jinja2 environment."""

from schedule import lazy_surface

# A name loads its module on first use (PEP 562, schedule.surface): a command pays only for what it uses.
_SURFACE = {
    "bulletin": ("FORMATS", "bulletin_data", "render_bulletin"),
    "digest": ("DigestItem", "render_digest"),
    "environment": ("environment",),
}
__getattr__, __dir__ = lazy_surface(__name__, _SURFACE)

__all__ = [
    "bulletin_data", "DigestItem", "environment", "FORMATS", "render_bulletin", "render_digest",
]
