"""The portal's words come from the one catalogue (schedule/locales, group `portal`): Chinese by default,
English for English programs."""

from __future__ import annotations

from schedule import labels


def texts_for(language: str) -> dict[str, str]:
    return labels(language, "portal")
