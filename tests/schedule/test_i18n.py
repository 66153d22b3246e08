"""One catalogue of texts: both languages hold the same keys and placeholders; lookups never guess."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from schedule import LANGUAGES, catalogue, labels, language_of, text

LOCALES = Path(__file__).resolve().parents[2] / "schedule" / "locales"

PLACEHOLDER = re.compile(r"{(\w+)(?:[:!][^}]*)?}")  # {name}, {name:02d}


def test_both_languages_hold_the_same_keys_and_placeholders():
    chinese, english = catalogue("zh-CN"), catalogue("en")
    assert set(chinese) == set(english)
    for key in chinese:
        names = set(PLACEHOLDER.findall(chinese[key])), set(PLACEHOLDER.findall(english[key]))
        assert names[0] <= names[1] or names[1] <= names[0], key  # a language may leave a detail out


@pytest.mark.parametrize(("value", "language"), [
    (None, "zh-CN"), ("zh-CN", "zh-CN"), ("zh", "zh-CN"), ("en", "en"), ("en-US", "en"), ("english", "en"),
])
def test_language_of(value, language):
    assert language_of(value) == language


@pytest.mark.parametrize(("language", "red", "kind"), [("zh-CN", "红灯", "催办"), ("en", "red", "overdue")])
def test_labels_by_language(language, red, kind):
    assert labels(language, "light")["red"] == red
    assert labels(language, "kind")["overdue"] == kind
    assert set(labels(language, "light")) == {"done", "red", "yellow", "green", "none"}


def test_a_missing_key_is_an_error_not_a_guess():
    with pytest.raises(KeyError):
        text("en", "light.purple")
    assert LANGUAGES == ("zh-CN", "en")


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_group_is_written_twice(language):
    """YAML keeps the last of two equal keys without a word: a group written twice would lose the first."""
    lines = (LOCALES / f"{language}.yaml").read_text("utf-8").splitlines()
    groups = [line.split(":")[0] for line in lines if re.match(r"^\w+:", line)]
    assert len(groups) == len(set(groups))
