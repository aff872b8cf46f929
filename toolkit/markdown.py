"""Parsing a post body once into mistune's AST, with our three syntaxes added.

Plugins (each does one thing):
- footnotes: `[^label]` references and `[^label]: text` definitions. Unlike mistune's own
  plugin, an undefined reference stays a `footnote_ref` token and duplicate definitions are
  all kept, so the checks can see them.
- citations: `[@id]`, `[@a; @b]`, `[@id, p. 4]` become `citation` tokens.
- claim: the MyST-style fenced directive ```` ```{claim} id ```` becomes a `claim` token.

Tokens are mistune's dicts (`{"type": ..., "children"|"raw": ..., "attrs": ...}`); see
`toolkit.document` for how they are resolved into numbered notes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import mistune
from mistune.directives import DirectivePlugin, FencedDirective
from mistune.plugins.footnotes import INLINE_FOOTNOTE, REF_FOOTNOTE

Token = dict[str, Any]

_KEY = r"[A-Za-z0-9_](?:[A-Za-z0-9_.:/-]*[A-Za-z0-9_])?"
_ITEM = r"@" + _KEY + r"(?:[ \t]*,[^;\]\n]+)?"
# Not followed by `(` or `[`: `[@handle](url)` stays a link.
CITATION = r"\[" + _ITEM + r"(?:\s*;\s*" + _ITEM + r")*\](?![(\[])"
_ITEM_RE = re.compile(r"@(" + _KEY + r")(?:[ \t]*,[ \t]*([^;\]\n]+?))?[ \t]*$")


@dataclass
class FootnoteDef:
    key: str  # normalised: case-folded
    label: str  # as written
    text: str
    offset: int  # character offset in the body, or -1 when nested
    children: list[Token] = field(default_factory=list)


@dataclass
class Parsed:
    """One post body, parsed: the block tokens and every footnote definition in order."""

    tokens: list[Token]
    definitions: list[FootnoteDef]


def footnote_key(label: str) -> str:
    return " ".join(label.split()).casefold()


def _parse_footnote_ref(inline: Any, m: re.Match, state: Any) -> int:
    label = m.group("footnote_key")
    state.append_token({"type": "footnote_ref", "raw": m.group(0),
                        "attrs": {"key": footnote_key(label), "label": label}})
    return m.end()


def _parse_footnote_def(block: Any, m: re.Match, state: Any) -> int:
    label = m.group("footnote_key")
    offset = m.start() if state.parent is None else -1
    state.env.setdefault("footnote_defs", []).append(
        FootnoteDef(footnote_key(label), label, m.group("footnote_text"), offset)
    )
    return m.end()


def _parse_citation(inline: Any, m: re.Match, state: Any) -> int:
    items = []
    for part in m.group(0)[1:-1].split(";"):
        item = _ITEM_RE.match(part.strip())
        if item:  # the pattern above guarantees a match; keep the guard for safety
            items.append({"id": item.group(1), "locator": (item.group(2) or "").strip() or None})
    state.append_token({"type": "citation", "raw": m.group(0), "attrs": {"items": items}})
    return m.end()


class Claim(DirectivePlugin):
    """```` ```{claim} snippet-id ```` quotes a snippet as an attributed block."""

    def parse(self, block: Any, m: re.Match, state: Any) -> Token:
        snippet_id = self.parse_title(m).strip()
        return {"type": "claim", "attrs": {"id": snippet_id}}

    def __call__(self, directive: Any, md: Any) -> None:
        directive.register("claim", self.parse)


def _plugins(md: mistune.Markdown) -> None:
    md.inline.register("footnote", INLINE_FOOTNOTE, _parse_footnote_ref, before="link",
                       start_chars="[")
    md.inline.register("citation", CITATION, _parse_citation, before="link", start_chars="[")
    md.block.register("ref_footnote", REF_FOOTNOTE, _parse_footnote_def, before="ref_link")


def _make() -> mistune.Markdown:
    return mistune.create_markdown(
        renderer=None,
        plugins=["strikethrough", "table", "url", _plugins, FencedDirective([Claim()])],
    )


_MD = _make()


def _dedent_definition(text: str) -> str:
    """A footnote definition's continuation lines, unindented (as mistune's plugin does)."""
    lines = text.splitlines()
    second = next((line for line in lines[1:] if line.strip()), None)
    if second is None:
        return text.strip()
    spaces = len(second) - len(second.lstrip())
    return re.sub(r"^ {" + str(spaces) + r",}", "", text, flags=re.M).strip()


def parse(body: str) -> Parsed:
    """Parse a post body. Never raises on any input text."""
    tokens, state = _MD.parse(body)
    definitions: list[FootnoteDef] = state.env.get("footnote_defs", [])
    for d in definitions:
        d.children = _clean(_MD.parse(_dedent_definition(d.text) + "\n")[0])
    return Parsed(_clean(tokens), definitions)


def _clean(tokens: Any) -> list[Token]:
    """Drop blank lines; they carry nothing any renderer needs."""
    result = []
    for tok in tokens:
        if tok.get("type") == "blank_line":
            continue
        if "children" in tok:
            tok["children"] = _clean(tok["children"])
        result.append(tok)
    return result


def walk(tokens: list[Token]):
    """Every token, depth first, in document order."""
    for tok in tokens:
        yield tok
        if "children" in tok:
            yield from walk(tok["children"])


def plain_text(tokens: list[Token]) -> str:
    """The text of some tokens, without markup (for summaries and titles)."""
    parts = []
    for tok in walk(tokens):
        kind = tok["type"]
        if kind in ("text", "codespan") and "children" not in tok:
            parts.append(tok.get("raw", ""))
        elif kind in ("softbreak", "linebreak"):
            parts.append(" ")
    return "".join(parts)


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
# A code span never crosses a blank line; this keeps one stray backtick from masking a page.
_CODE_SPAN = re.compile(r"(`+)(?!`)(?:(?!\n[ \t]*\n).)+?(?<!`)\1(?!`)", re.S)


def _mask_code(body: str) -> str:
    """The body with code blanked out (same length, same line breaks)."""
    lines = body.split("\n")
    fence: str | None = None  # the open fence's marker, while inside one
    directive = False
    for i, line in enumerate(lines):
        m = _FENCE.match(line)
        if fence is None:
            if m:
                fence, directive = m.group(1), m.group(2).lstrip().startswith("{")
                # Hide the fence's backticks from the code-span pass below.
                lines[i] = line.replace("`", "\0").replace("~", "\0")
        elif m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) \
                and not m.group(2).strip():
            fence = None
            lines[i] = " " * len(line)
        elif not directive:
            lines[i] = " " * len(line)
    masked = _CODE_SPAN.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), "\n".join(lines))
    return masked.replace("\0", " ")


class Locator:
    """Finds where a piece of source text sits in a post, for diagnostics.

    mistune's tokens carry no positions, so we search the body for each raw string in
    order, with code blocks and spans blanked out so that examples in code never match.
    """

    def __init__(self, body: str, first_line: int):
        self.text = _mask_code(body)
        self.first_line = first_line
        self.cursors: dict[str, int] = {}

    def position(self, offset: int) -> tuple[int, int]:
        line = self.first_line + self.text.count("\n", 0, offset)
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return line, column

    def find(self, needle: str) -> tuple[int, int]:
        """Position of the next occurrence of `needle`; the body's start if not found."""
        start = self.cursors.get(needle, 0)
        offset = self.text.find(needle, start)
        if offset < 0:
            offset = self.text.find(needle)
            if offset < 0:
                return self.first_line, 1
        self.cursors[needle] = offset + len(needle)
        return self.position(offset)
