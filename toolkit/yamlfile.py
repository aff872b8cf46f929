"""YAML that remembers where every key came from.

PyYAML's composer keeps a mark (line, column) on every node; the usual `safe_load` throws
them away. We compose with libyaml when it is there (fast), then build plain Python values
and a side table of positions, so a problem is reported at the line of the offending key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from . import diagnostics as dg

try:  # libyaml is ~10x faster; the pure-Python loader gives the same nodes and marks.
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

Path = tuple  # a key path: ("source", "url") or ("claims", 2)


class _Invalid:
    """A value that failed to construct; its diagnostic has already been made."""

    def __repr__(self) -> str:
        return "<invalid>"


INVALID = _Invalid()


@dataclass
class Loaded:
    value: Any
    positions: dict[Path, tuple[int, int]] = field(default_factory=dict)
    diagnostics: list[dg.Diagnostic] = field(default_factory=list)

    def line(self, path: Path, default: int = 1) -> int:
        """The line of a key (or its nearest recorded parent)."""
        while path:
            if path in self.positions:
                return self.positions[path][0]
            path = path[:-1]
        return self.positions.get((), (default, 1))[0]

    def at(self, path: Path) -> tuple[int, int]:
        """(line, column) of a key or item; its parent's line when it has none."""
        if path in self.positions:
            return self.positions[path]
        return self.line(path), 1


_SCALARS = SafeConstructor.yaml_constructors


def load(text: str, path: str, line_offset: int = 0) -> Loaded:
    """Parse one YAML document. `line_offset` is the number of file lines before `text`."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = (mark.line + 1 + line_offset) if mark else line_offset + 1
        col = (mark.column + 1) if mark else 1
        problem = e.problem or str(e)
        context = f" ({e.context})" if e.context else ""
        msg = f"YAML does not parse: {problem}{context}; check quoting and indentation"
        return Loaded(None, {}, [dg.make("F002", path, line, msg, col)])
    except yaml.YAMLError as e:  # pragma: no cover - unmarked errors are rare
        msg = f"YAML does not parse: {e}"
        return Loaded(None, {}, [dg.make("F002", path, line_offset + 1, msg)])
    loaded = Loaded(None)
    if node is None:
        return loaded
    builder = _Builder(path, line_offset, loaded)
    loaded.value = builder.build(node, ())
    return loaded


class _Builder:
    def __init__(self, path: str, offset: int, out: Loaded):
        self.path, self.offset, self.out = path, offset, out
        self.constructor = SafeConstructor()

    def pos(self, node: yaml.Node) -> tuple[int, int]:
        return node.start_mark.line + 1 + self.offset, node.start_mark.column + 1

    def build(self, node: yaml.Node, at: Path) -> Any:
        if at == ():
            self.out.positions[()] = self.pos(node)
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, at)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for i, item in enumerate(node.value):
                self.out.positions[at + (i,)] = self.pos(item)
                items.append(self.build(item, at + (i,)))
            return items
        return self.scalar(node)

    def mapping(self, node: yaml.MappingNode, at: Path) -> dict:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<:` merges are rare in front matter; ignore rather than guess
            key = self.scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if key is None or key is INVALID:
                line, col = self.pos(key_node)
                self.out.diagnostics.append(
                    dg.make("F004", self.path, line, "a mapping key must be plain text", col)
                )
                continue
            key = str(key)
            line, col = self.pos(key_node)
            if key in result:
                self.out.diagnostics.append(
                    dg.make("F009", self.path, line, f"`{key}` appears twice here; "
                            "the later value is used; delete one of them", col)
                )
            self.out.positions[at + (key,)] = (line, col)
            result[key] = self.build(value_node, at + (key,))
        return result

    def scalar(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            return INVALID
        build = _SCALARS.get(node.tag)
        if build is None:
            return node.value
        try:
            return build(self.constructor, node)
        except (ValueError, ConstructorError, OverflowError) as e:
            line, col = self.pos(node)
            if node.tag.endswith(":timestamp"):
                msg = (f"`{node.value}` is not a real date ({e}); "
                       "write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS+00:00")
                self.out.diagnostics.append(dg.make("F007", self.path, line, msg, col))
            else:
                self.out.diagnostics.append(
                    dg.make("F004", self.path, line, f"`{node.value}` cannot be read: {e}", col)
                )
            return INVALID
