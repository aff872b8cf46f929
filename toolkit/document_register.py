"""Editing documents.yaml byte-exactly: a new entry, a missing `archive:`, a new version.

The register is the writer's file: comments, key order, quoting and line endings are
theirs. Every edit here inserts (or fills in) lines and leaves every other byte as it was,
like `toolkit archive` does to snippets and archives.yaml; the file is replaced
atomically.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from .yamledit import Text, fill_archive, scalar

HEADER = (
    "# yaml-language-server: $schema=schemas/documents.schema.json\n"
    "# Company documents: id -> {lab, title, url, published, archive, kind, versions}.\n"
    "# Cite one whole as [@id], or name it in a snippet as `source: <id>`.\n"
    "# `toolkit watch --archive` appends to `versions:`; edit freely.\n"
)


class CannotEdit(Exception):
    """The entry is in a form these edits do not touch (a flow mapping, say)."""


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


@dataclass
class _Entry:
    lines: list[str]
    key: int  # index of the `id:` line
    end: int  # index after its last non-blank line
    indent: str  # of its keys


def _entry(lines: list[str], doc_id: str) -> _Entry:
    key_re = re.compile(r"^(['\"]?)" + re.escape(doc_id) + r"\1:\s*(#.*)?$")
    i = next((n for n, line in enumerate(lines) if key_re.match(line)), None)
    if i is None:
        raise CannotEdit(f"`{doc_id}:` is not a line of its own in documents.yaml")
    end, last = i + 1, i + 1
    while end < len(lines) and (lines[end][:1] in (" ", "\t") or not lines[end].strip()):
        end += 1
        if lines[end - 1].strip() and not lines[end - 1].lstrip().startswith("#"):
            last = end
    children = [x for x in lines[i + 1 : last] if x.strip() and not x.lstrip().startswith("#")]
    if not children:
        raise CannotEdit(f"`{doc_id}` has no keys to edit beside")
    return _Entry(lines, i, last, " " * _indent(children[0]))


def append_entry(path: Path, doc_id: str, values: dict[str, str]) -> None:
    """`doc_id:` and its keys at the end of the file (created with a header if new)."""
    file = Text.read(path, HEADER)
    text, nl = file.text, file.newline
    m = re.search(r"^([ \t]+)(?:lab|title|url):", text, re.M)
    indent = m.group(1) if m else "  "
    if text and not text.endswith(("\n", "\r\n")):
        text += nl
    body = "".join(f"{indent}{k}: {scalar(v)}{nl}" for k, v in values.items() if v)
    file.write(path, text + f"{doc_id}:{nl}{body}")


def set_archive(path: Path, doc_id: str, snapshot: str) -> None:
    """Give the entry its `archive:`: an empty one is filled in, else a line goes after
    `url:` (or at the end of the entry)."""
    file = Text.read(path, HEADER)
    lines = file.lines()
    entry = _entry(lines, doc_id)
    own = entry.indent
    for i in range(entry.key + 1, entry.end):
        if fill_archive(lines, i, snapshot, own):
            break
    else:
        at = entry.end
        for i in range(entry.key + 1, entry.end):
            if lines[i].startswith(f"{own}url:"):
                at = i + 1
                break
        lines.insert(at, f"{own}archive: {scalar(snapshot)}")
    file.write(path, lines)


def append_version(
    path: Path, doc_id: str, seen: dt.date, archive: str | None, digest: str, summary: str
) -> None:
    """A new item at the end of the entry's `versions:` (the key is added if missing)."""
    file = Text.read(path, HEADER)
    lines = file.lines()
    entry = _entry(lines, doc_id)
    own = entry.indent
    fields = [("seen", seen.isoformat()), ("archive", archive), ("digest", digest)]
    fields.append(("summary", summary))
    shown = [(k, scalar(v)) for k, v in fields if v]
    at = None
    for i in range(entry.key + 1, entry.end):
        if re.match(rf"^{own}versions:\s*(\[\s*\])?\s*(#.*)?$", lines[i]):
            at = i
            break
    if at is None:
        lines.insert(entry.end, f"{own}versions:")
        at = entry.end
    elif lines[at].rstrip().endswith("]") or "[" in lines[at].split("#")[0]:
        lines[at] = f"{own}versions:"  # `versions: []` becomes a block list
    # The list runs on while lines are deeper than the key, or `- ` items at its depth.
    end, last = at + 1, at + 1
    item_indent = None
    while end < entry.end:
        line = lines[end]
        if line.strip() and (
            _indent(line) > len(own) or (_indent(line) == len(own) and line.lstrip()[:2] == "- ")
        ):
            if line.lstrip().startswith("- ") and item_indent is None:
                item_indent = line[: _indent(line)]
            last = end + 1
        elif line.strip():
            break
        end += 1
    dash = item_indent if item_indent is not None else own + "  "
    item = [f"{dash}- {shown[0][0]}: {shown[0][1]}"]
    item += [f"{dash}  {k}: {v}" for k, v in shown[1:]]
    lines[last:last] = item
    file.write(path, lines)
