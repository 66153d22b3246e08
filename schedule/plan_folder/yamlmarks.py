"""YAML with the line and column of every value, so a problem can point at its place in the file.

Dates are left as text (no implicit timestamps): a month 13 must become a located error, not a crash.
"""

from __future__ import annotations

from typing import Any

import yaml

from schedule.i18n import Told

Path_ = tuple[Any, ...]


class _TextDatesLoader(yaml.SafeLoader):
    pass


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


# Limits against a hostile file (an alias "billion laughs" bomb expands exponentially when walked): a plan's
# YAML is a few hundred lines; these are far above that and far below what hurts.
MAX_ALIASES = 100
MAX_VALUES = 100_000


class YamlLimitError(Told):
    def __init__(self, key: str, line: int | None = None, column: int | None = None,
                 **values: object) -> None:
        super().__init__(key, **values)
        self.line, self.column = line, column


def load_with_marks(text: str) -> tuple[Any, dict[Path_, tuple[int, int]]]:
    """The document and a map from each value's path (keys and list indexes) to its (line, column), 1-based.

    Raises YamlLimitError past MAX_ALIASES aliases or MAX_VALUES values (counting each alias as often as it
    is reached), before the document is built."""
    loader = _TextDatesLoader(text)
    try:
        aliases = 0
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_ALIASES:
                    mark = event.start_mark
                    raise YamlLimitError("table.yaml_aliases", mark.line + 1, mark.column + 1,
                                         limit=MAX_ALIASES)
        node = loader.get_single_node()
        marks: dict[Path_, tuple[int, int]] = {}
        if node is None:
            return None, marks
        _collect(node, (), marks)
        return loader.construct_document(node), marks
    finally:
        loader.dispose()


def _collect(node: yaml.Node, path: Path_, marks: dict[Path_, tuple[int, int]]) -> None:
    stack = [(node, path)]
    while stack:
        node, path = stack.pop()
        if len(marks) >= MAX_VALUES:
            raise YamlLimitError("table.yaml_values", node.start_mark.line + 1, node.start_mark.column + 1,
                                 limit=MAX_VALUES)
        marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            stack += [(value_node, (*path, key_node.value)) for key_node, value_node in reversed(node.value)]
        elif isinstance(node, yaml.SequenceNode):
            stack += [(item, (*path, index)) for index, item in reversed(list(enumerate(node.value)))]
