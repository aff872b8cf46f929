"""YAML that remembers where every key came from.

PyYAML's composer keeps a mark (line, column) on every node; the usual `safe_load` throws
them away. We compose with libyaml when it is there (fast), then build plain Python values
and a side table of positions, so a problem is reported at the line of the offending key.

Anchors and aliases are read, but an alias is a copy of its node in the values we build:
nine levels of `&a [*a, *a, ...]` are a few lines that expand to 9^9 values (the "billion
laughs"). So aliases may add at most `MAX_ALIASED` values to a file, nothing may nest deeper
than `MAX_DEPTH`, and an alias may not sit inside its own anchor; past that the file is
F002 at the alias that broke the limit. `expansion_problem` applies the same limits to YAML read
elsewhere (published.yaml, with ruamel) before it is loaded.
"""

from __future__ import annotations

import datetime as dt
import re
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


# Any control character at all: not in a name (a key, a URL), which becomes a path or
# terminal output. (Text fields allow tab and line breaks: see fields.CONTROL_RE.)
CONTROL_IN_NAME = re.compile(r"[\x00-\x1f\x7f]")

MAX_DEPTH = 100  # levels of nesting; front matter uses three or four
MAX_ALIASED = 10_000  # values that aliases may add to one file, in all


class _TooComplex(Exception):
    def __init__(self, node: yaml.Node, message: str):
        super().__init__(message)
        self.node, self.message = node, message


_SCALARS = SafeConstructor.yaml_constructors
_STR = "tag:yaml.org,2002:str"


def load(text: str, path: str, line_offset: int = 0) -> Loaded:
    """Parse one YAML document. `line_offset` is the number of file lines before `text`."""
    # Only an alias can expand; reading the events first names the alias that does.
    if "*" in text and (expanded := expansion_problem(text)) is not None:
        line, col, msg = expanded
        return Loaded(None, {}, [dg.make("F002", path, line + line_offset, msg, col)])
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
    except RecursionError:  # the pure-Python composer, on nesting libyaml would refuse
        msg = f"YAML nested too deeply to read (more than {MAX_DEPTH} levels); flatten it"
        return Loaded(None, {}, [dg.make("F002", path, line_offset + 1, msg)])
    loaded = Loaded(None)
    if node is None:
        return loaded
    builder = _Builder(path, line_offset, loaded)
    try:
        loaded.value = builder.build(node, ())
    except _TooComplex as e:
        line, col = builder.pos(e.node)
        return Loaded(None, {}, [dg.make("F002", path, line, e.message, col)])
    return loaded


def expansion_problem(text: str) -> tuple[int, int, str] | None:
    """(line, column, message) when `text` breaks the limits that `load` keeps (aliases
    adding more than MAX_ALIASED values, nesting deeper than MAX_DEPTH, an alias inside its
    own anchor), else None. Reads libyaml's events, which expand nothing; for YAML loaded
    by other means. Text that does not parse is left for its loader to report."""
    sizes: dict[str, int] = {}  # anchor -> how many values its node holds, expanded
    stack: list[list] = [[0, None]]  # open collections: [values so far, anchor]
    aliased = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            mark = event.start_mark
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                stack.append([1, event.anchor])
                if len(stack) - 1 > MAX_DEPTH:
                    return mark.line + 1, mark.column + 1, _too_deep()
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                size, anchor = stack.pop()
                if anchor is not None:
                    sizes[anchor] = size
                stack[-1][0] += size
            elif isinstance(event, yaml.ScalarEvent):
                if event.anchor is not None:
                    sizes[event.anchor] = 1
                stack[-1][0] += 1
            elif isinstance(event, yaml.AliasEvent):
                if any(anchor == event.anchor for _, anchor in stack):
                    return mark.line + 1, mark.column + 1, _inside_itself(event.anchor)
                if event.anchor not in sizes:
                    return None  # an undefined alias: the loader says so
                aliased += sizes[event.anchor]
                stack[-1][0] += sizes[event.anchor]
                if aliased > MAX_ALIASED:
                    return mark.line + 1, mark.column + 1, _too_many(event.anchor)
    except yaml.YAMLError:
        return None
    return None


def _too_deep() -> str:
    return f"YAML nested more than {MAX_DEPTH} levels deep; flatten it"


def _too_many(anchor: str) -> str:
    return (
        f"the alias `*{anchor}` makes this YAML expand to more than {MAX_ALIASED:,} values "
        "(anchors that repeat aliases multiply); write the values out instead"
    )


def _inside_itself(anchor: str) -> str:
    return (
        f"the alias `*{anchor}` is inside its own anchor, so it never ends; "
        "write the values out instead"
    )


# archives.yaml as `toolkit archive` writes it and people copy it: URL keys, each with
# plain `archive:` and `accessed:` values (see `load_url_map`).
# (A URL may not end in ":" here: YAML would read that colon as a mapping indicator.)
_URL = r"https?://[^\s]*[^\s:]"
_URL_KEY = re.compile(f"({_URL}):")
_URL_FIELD = re.compile(
    f"  (archive): ({_URL})|  (accessed): ([0-9]{{4}})-([0-9]{{2}})-([0-9]{{2}})"
)


def load_url_map(text: str) -> Loaded | None:
    """The same `Loaded` as `load` gives, for a file of only URL keys each with plain
    `archive: <http(s) URL>` and `accessed: YYYY-MM-DD` lines (comment and blank lines
    anywhere); None for anything else, which `load` then reads.

    An archives.yaml of 12,000 links takes libyaml a third of a second (every scalar goes
    through Python's resolver) and this a tenth of that. It accepts only lines whose
    meaning in YAML is certain: no quotes, tabs, carriage returns, comments after values,
    repeated keys, or dates that are not real; any such line sends the file to `load`.
    """
    value: dict[str, dict[str, Any]] = {}
    positions: dict[Path, tuple[int, int]] = {}
    current: dict[str, Any] | None = None
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            if "\t" in line or "\r" in line:
                return None
            continue
        if (m := _URL_KEY.fullmatch(line)) is not None:
            key = m.group(1)
            if key in value or (current is not None and not current):
                return None  # a repeated key, or a key with no fields (null)
            current = value[key] = {}
            positions[(key,)] = (number, 1)
            positions.setdefault((), (number, 1))
            continue
        m = _URL_FIELD.fullmatch(line)
        if m is None or current is None:
            return None
        name = m.group(1) or m.group(3)
        if name in current:
            return None
        if name == "archive":
            current[name] = m.group(2)
        else:
            try:
                current[name] = dt.date(int(m.group(4)), int(m.group(5)), int(m.group(6)))
            except ValueError:
                return None  # not a real date: `load` says so at its line
        positions[(key, name)] = (number, 3)
    if not value or not current:
        return None
    return Loaded(value, positions)


class _Builder:
    def __init__(self, path: str, offset: int, out: Loaded):
        self.path, self.offset, self.out = path, offset, out
        self.constructor = SafeConstructor()
        self.depth = 0  # collections being built: Python's stack is the limit otherwise

    def pos(self, node: yaml.Node) -> tuple[int, int]:
        return node.start_mark.line + 1 + self.offset, node.start_mark.column + 1

    def build(self, node: yaml.Node, at: Path) -> Any:
        if at == ():
            self.out.positions[()] = self.pos(node)
        if not isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            return self.scalar(node)
        if self.depth >= MAX_DEPTH:
            raise _TooComplex(node, _too_deep())
        self.depth += 1
        try:
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, at)
            items = []
            for i, item in enumerate(node.value):
                self.out.positions[at + (i,)] = self.pos(item)
                items.append(self.build(item, at + (i,)))
            return items
        finally:
            self.depth -= 1

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
            if CONTROL_IN_NAME.search(key):
                # A key names things (a lab, a URL) that become paths and terminal
                # output, where a NUL or an escape sequence does harm: never use one.
                shown = CONTROL_IN_NAME.sub(lambda m: f"\\x{ord(m.group()):02x}", key)
                self.out.diagnostics.append(
                    dg.make(
                        "F012",
                        self.path,
                        line,
                        f"the key `{shown}` holds a control character; retype it as plain text",
                        col,
                    )
                )
                continue
            if key in result:
                self.out.diagnostics.append(
                    dg.make(
                        "F009",
                        self.path,
                        line,
                        f"`{key}` appears twice here; the later value is used; delete one of them",
                        col,
                    )
                )
            self.out.positions[at + (key,)] = (line, col)
            result[key] = self.build(value_node, at + (key,))
        return result

    def scalar(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            return INVALID
        if node.tag == _STR:  # most scalars: the constructor would return the text as is
            return node.value
        build = _SCALARS.get(node.tag)
        if build is None:
            return node.value
        try:
            return build(self.constructor, node)
        except (ValueError, ConstructorError, OverflowError) as e:
            line, col = self.pos(node)
            if node.tag.endswith(":timestamp"):
                msg = (
                    f"`{node.value}` is not a real date ({e}); "
                    "write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS+00:00"
                )
                self.out.diagnostics.append(dg.make("F007", self.path, line, msg, col))
            else:
                self.out.diagnostics.append(
                    dg.make("F004", self.path, line, f"`{node.value}` cannot be read: {e}", col)
                )
            return INVALID
