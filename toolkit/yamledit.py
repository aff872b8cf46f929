"""Editing the writer's YAML files byte-exactly: read a file as it is, write lines back.

archives.yaml, documents.yaml and snippets' front matter are the writer's files: comments,
key order, quoting, line endings and a byte-order mark are theirs. The editors here
(`toolkit archive`, `toolkit new document`, `toolkit watch --archive`) insert or fill in
lines and leave every other byte as it was; the file is replaced atomically.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .output import write_file

_BOM = "\ufeff"


@dataclass
class Text:
    """A file's text without its byte-order mark, and how it ends its lines."""

    text: str
    newline: str = "\n"
    bom: str = ""

    @classmethod
    def read(cls, path: Path, default: str = "") -> Text:
        """The file as it is (decoded from bytes: reading it as text would turn "\\r\\n"
        into "\\n" and change every line), or `default` if there is none."""
        raw = path.read_bytes().decode("utf-8") if path.exists() else default
        text = raw.removeprefix(_BOM)
        return cls(text, "\r\n" if "\r\n" in text else "\n", _BOM if raw.startswith(_BOM) else "")

    def lines(self) -> list[str]:
        return self.text.split(self.newline)

    def write(self, path: Path, text: str | list[str]) -> None:
        """Replace the file with `text` (or these lines), with the mark it had."""
        joined = self.newline.join(text) if isinstance(text, list) else text
        write_file(path, (self.bom + joined).encode("utf-8"))


def scalar(text: str) -> str:
    """Plain if YAML reads it back as the same string (or, for YYYY-MM-DD, the date
    the field wants), else double-quoted."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return text
    if (
        re.search(r"(: |\s#|^[\s'\"&*!|>%@`{\[\]},?-])|\s$|:$", text)
        or text.lower() in ("null", "true", "false", "yes", "no", "on", "off", "~", "")
        or re.fullmatch(r"[\d.:+-]+", text)
    ):
        return json.dumps(text, ensure_ascii=False)
    return text


# An `archive:` line with no value yet (empty, '', "", ~ or null), and its comment.
_EMPTY_ARCHIVE = re.compile(r"^(\s*)archive:\s*(?:(?:''|\"\"|~|null)\s*)?(#.*)?$")


def fill_archive(lines: list[str], i: int, value: str, indent: str | None = None) -> bool:
    """Fill in lines[i] if it is an empty `archive:` line (at `indent`, when given),
    keeping its indentation and comment; whether it was one."""
    m = _EMPTY_ARCHIVE.match(lines[i])
    if m is None or (indent is not None and m.group(1) != indent):
        return False
    comment = f"  {m.group(2)}" if m.group(2) else ""
    lines[i] = f"{m.group(1)}archive: {scalar(value)}{comment}"
    return True
