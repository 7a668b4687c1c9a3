"""YAML text to plain data, remembering the line of every key and item.

``parse(text)`` returns the data and a ``Lines`` map from key paths (``("points", 3, "word_order")``) to
one-based line numbers. Duplicate keys, which YAML would silently collapse, are reported, not dropped.
Only the safe subset of YAML is built (no tags that construct objects).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]


@dataclass
class Lines:
    by_path: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        for n in range(len(path), -1, -1):
            line = self.by_path.get(path[:n])
            if line is not None:
                return line
        return None


@dataclass(frozen=True)
class YamlProblem:
    path: Path
    line: int | None
    message: str


class _Builder:
    def __init__(self) -> None:
        self.lines = Lines()
        self.problems: list[YamlProblem] = []
        self._constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: Path) -> Any:
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            self._constructor.flatten_mapping(node)  # merge keys (<<: *anchor)
            for key_node, value_node in node.value:
                key = self._constructor.construct_object(key_node, deep=True)
                if not isinstance(key, str | int | float | bool):
                    self.problems.append(
                        YamlProblem(path, key_node.start_mark.line + 1, "a key must be a plain value")
                    )
                    continue
                sub = (*path, key if isinstance(key, int | str) else str(key))
                if key in out:
                    self.problems.append(
                        YamlProblem(
                            sub,
                            key_node.start_mark.line + 1,
                            f"duplicate key (first on line {self.lines.by_path.get(sub)})",
                        )
                    )
                    continue
                self.lines.by_path[sub] = key_node.start_mark.line + 1
                out[key] = self.build(value_node, sub)
            return out
        if isinstance(node, yaml.SequenceNode):
            items = []
            for i, item in enumerate(node.value):
                self.lines.by_path[(*path, i)] = item.start_mark.line + 1
                items.append(self.build(item, (*path, i)))
            return items
        return self._constructor.construct_object(node, deep=True)


_PLAIN = {
    "expected <block end>, but found '<block mapping start>'":
        "this line is indented differently from the lines before it (a key too far in or out?)",
    "expected <block end>, but found '-'": "a list item (-) where a key was expected: check the indentation",
    "mapping values are not allowed here": "a ':' where none can be: quote the text or check the indentation",
    "found character '\\t' that cannot start any token": "a tab character: YAML indents with spaces only",
}  # fmt: skip


def _plain(e: yaml.MarkedYAMLError) -> str:
    """PyYAML's message in a technician's words where we know them; PyYAML's own otherwise."""
    problem = e.problem or ""
    for jargon, plain in _PLAIN.items():
        if problem.startswith(jargon):
            return plain
    return " ".join(part for part in (e.context, e.problem) if part)


def parse(text: str) -> tuple[Any, Lines, list[YamlProblem]]:
    """The data of one YAML document, its line map, and problems (syntax errors, duplicate keys).

    On a syntax error the data is ``None`` and the one problem names the line where YAML gave up.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else None
        return None, Lines(), [YamlProblem((), line, f"YAML syntax: {_plain(e)}")]
    except yaml.YAMLError as e:
        return None, Lines(), [YamlProblem((), None, f"YAML syntax: {e}")]
    if node is None:
        return None, Lines(), [YamlProblem((), 1, "the file is empty")]
    builder = _Builder()
    builder.lines.by_path[()] = node.start_mark.line + 1
    try:
        data = builder.build(node, ())
    except yaml.constructor.ConstructorError as e:
        line = e.problem_mark.line + 1 if e.problem_mark is not None else None
        return None, Lines(), [YamlProblem((), line, f"YAML: {e.problem}")]
    return data, builder.lines, builder.problems
