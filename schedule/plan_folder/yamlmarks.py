"""YAML with the line and column of every value, so a problem can point at its place in the file.

Dates are left as text (no implicit timestamps): a month 13 must become a located error, not a crash.
"""

from __future__ import annotations

from typing import Any

import yaml

Path_ = tuple[Any, ...]


class _TextDatesLoader(yaml.SafeLoader):
    pass


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_with_marks(text: str) -> tuple[Any, dict[Path_, tuple[int, int]]]:
    """The document and a map from each value's path (keys and list indexes) to its (line, column),
    1-based."""
    loader = _TextDatesLoader(text)
    try:
        node = loader.get_single_node()
        marks: dict[Path_, tuple[int, int]] = {}
        if node is None:
            return None, marks
        _collect(node, (), marks)
        return loader.construct_document(node), marks
    finally:
        loader.dispose()


def _collect(node: yaml.Node, path: Path_, marks: dict[Path_, tuple[int, int]]) -> None:
    marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            _collect(value_node, (*path, key_node.value), marks)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _collect(item, (*path, index), marks)
