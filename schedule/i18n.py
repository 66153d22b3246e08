"""The one catalogue of what duban says: every label and message, looked up by language and key.

Languages are 'zh-CN' (the default) and 'en'; a program's `language` picks one, and whatever is not 'en' is
Chinese. The texts live in schedule/locales/<language>.yaml, one flat mapping of dotted keys to str.format
templates; both files hold the same keys (a test checks it).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
LOCALES = Path(__file__).parent / "locales"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built in: parses far faster


def language_of(value: str | None) -> str:
    """'en', 'en-US', 'english' → 'en'; anything else (None, 'zh', 'zh-CN') → 'zh-CN'."""
    return "en" if value and value.lower().startswith("en") else DEFAULT_LANGUAGE


@cache
def catalogue(language: str) -> dict[str, str]:
    data = yaml.load((LOCALES / f"{language_of(language)}.yaml").read_text("utf-8"), Loader=_LOADER)
    return _flatten(data)


def _flatten(data: dict, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = str(value)
    return flat


def text(language: str | None, key: str, **values: object) -> str:
    """The text under `key` in `language`, filled with `values`; a missing key is a KeyError, never a
    guess."""
    template = catalogue(language_of(language))[key]
    return template.format(**values) if values else template


def labels(language: str | None, group: str) -> dict[str, str]:
    """Every label of a group ('light', 'kind', 'phase', …) as {name: text}, in the catalogue's order."""
    return dict(_labels(language_of(language), group))  # a copy: the cached one is shared


@cache
def _labels(language: str, group: str) -> dict[str, str]:
    # Cached: a digest asks for the same groups once per message, and each scan reads the whole catalogue.
    prefix = f"{group}."
    return {key[len(prefix):]: value for key, value in catalogue(language).items()
            if key.startswith(prefix) and "." not in key[len(prefix):]}


class Told(ValueError):
    """An error in the catalogue's words: `str()` is Chinese (the default language); `told(language)` says it
    in the reader's, such as an English plan's. A value with a `told(language)` of its own (another Told, a
    list of names) is said in the same language."""

    def __init__(self, key: str, **values: object) -> None:
        self.key, self.values = key, values
        super().__init__(self.told(DEFAULT_LANGUAGE))

    def told(self, language: str | None) -> str:
        said = {k: v.told(language) if hasattr(v, "told") else v for k, v in self.values.items()}
        return text(language, self.key, **said)


def told(error: Exception, language: str | None) -> str:
    """An error's message in `language` when it is a Told; any other error says what it says."""
    return error.told(language) if isinstance(error, Told) else str(error)
