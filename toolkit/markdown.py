"""Parsing a post body once into mistune's AST, with our syntaxes and LessWrong's added.

Plugins (each does one thing):
- footnotes: `[^label]` references and `[^label]: text` definitions. Unlike mistune's own
  plugin, an undefined reference stays a `footnote_ref` token and duplicate definitions are
  all kept, so the checks can see them.
- inline notes: `^[text]` is a `footnote_ref` to a definition of its own (`inline=True`),
  so it is numbered with the other notes and every target sees an ordinary note.
- citations: `[@id]`, `[@a; @b]`, `[@id, p. 4]` become `citation` tokens.
- claim: the MyST-style fenced directive ```` ```{claim} id ```` becomes a `claim` token.
- LessWrong's own Markdown (its editor reads these; see `toolkit.syntax`): `$…$` and
  `$$…$$` math, `^sup^`, `~sub~`, `>!` spoilers, `+++ Title` … `+++` collapsible sections.

Tokens are mistune's dicts (`{"type": ..., "children"|"raw": ..., "attrs": ...}`); see
`toolkit.document` for how they are resolved into numbered notes.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

Token = dict[str, Any]

# mistune is imported when the first post is parsed (see `_make`): a rebuild that finds
# every post in the cache never pays for it.

# A snippet or document id: letters (any script: `[@café]`), digits and `_`, with `.:/-`
# inside. Ids are file names, so they may be in any language a slug may (see slugify).
_KEY = r"\w(?:[\w.:/-]*\w)?"
_ITEM = r"@" + _KEY + r"(?:[ \t]*,[^;\]\n]+)?"
# Not followed by `(` or `[`: `[@handle](url)` stays a link.
# Not followed by `(` or `[`, which would make it a link's text (`[@x](url)`, `[@x][ref]`),
# except a footnote reference right after it (`[@x][^1]`), as writers type.
CITATION = r"\[" + _ITEM + r"(?:\s*;\s*" + _ITEM + r")*\](?!\(|\[(?!\^))"
_ITEM_RE = re.compile(r"@(" + _KEY + r")(?:[ \t]*,[ \t]*([^;\]\n]+?))?[ \t]*$")


@dataclass
class FootnoteDef:
    key: str  # normalised: case-folded
    label: str  # as written
    text: str
    offset: int  # character offset in the body, or -1 when nested
    children: list[Token] = field(default_factory=list)
    inline: bool = False  # written in place as `^[text]`; its children are already parsed


@dataclass
class Parsed:
    """One post body, parsed: the block tokens and every footnote definition in order."""

    tokens: list[Token]
    definitions: list[FootnoteDef]
    # `every_token`'s answer, once asked: a parse is never changed after it is made, and
    # the checks and the build ask for it several times per post.
    # A tuple: it is shared by every caller, so none may add to it.
    flat: tuple[Token, ...] | None = field(default=None, repr=False, compare=False)
    # The post's `updates:` texts, parsed in the same pass (see `parse`), in their order.
    updates: tuple[Parsed, ...] = ()

    def every_token(self) -> tuple[Token, ...]:
        """Every token of the body, then of each footnote definition, depth first."""
        if self.flat is None:
            found = list(walk(self.tokens))
            for d in self.definitions:
                found += walk(d.children)
            self.flat = tuple(found)
        return self.flat


def footnote_key(label: str) -> str:
    return " ".join(label.split()).casefold()


def _parse_footnote_ref(inline: Any, m: re.Match, state: Any) -> int:
    label = m.group("footnote_key")
    state.append_token(
        {
            "type": "footnote_ref",
            "raw": m.group(0),
            "attrs": {"key": footnote_key(label), "label": label},
        }
    )
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


def _parse_claim(directive: Any, block: Any, m: re.Match, state: Any) -> Token:
    """```` ```{claim} snippet-id ```` quotes a snippet as an attributed block."""
    return {"type": "claim", "attrs": {"id": directive.parse_title(m).strip()}}


def _plugins(md: Any) -> None:
    from mistune.plugins.footnotes import INLINE_FOOTNOTE, REF_FOOTNOTE

    from . import syntax

    md.inline.register(
        "footnote", INLINE_FOOTNOTE, _parse_footnote_ref, before="link", start_chars="["
    )
    syntax.register(md)
    md.inline.register("citation", CITATION, _parse_citation, before="link", start_chars="[")
    md.block.register("ref_footnote", REF_FOOTNOTE, _parse_footnote_def, before="ref_link")


_MD: Any = None


def _make() -> Any:
    import mistune
    from mistune.directives import DirectivePlugin, FencedDirective

    class Claim(DirectivePlugin):
        def __call__(self, directive: Any, md: Any) -> None:
            directive.register("claim", lambda block, m, state: _parse_claim(self, block, m, state))

    # Bare URLs are linked after parsing (see `_autolink`), not by mistune's `url` plugin:
    # the plugin makes the inline scanner stop at every "h" and doubles the parse time.
    return mistune.create_markdown(
        renderer=None,
        plugins=["strikethrough", "table", _plugins, FencedDirective([Claim()])],
    )


def _dedent_definition(text: str) -> str:
    """A footnote definition's continuation lines, unindented (as mistune's plugin does)."""
    lines = text.splitlines()
    second = next((line for line in lines[1:] if line.strip()), None)
    if second is None:
        return text.strip()
    spaces = len(second) - len(second.lstrip())
    return re.sub(r"^ {" + str(spaces) + r",}", "", text, flags=re.M).strip()


def parse(body: str, updates: Iterable[str] = ()) -> Parsed:
    """Parse a post body, and the texts of its updates (kept as `updates`, so every
    check and renderer uses one parse of each). Never raises on any input text."""
    parsed = _parse(body)
    parsed.updates = tuple(_parse(text) for text in updates)
    return parsed


class _Texted(Protocol):
    @property
    def text(self) -> str: ...


T = TypeVar("T", bound=_Texted)


def update_parses(updates: Sequence[T], parsed: Parsed) -> list[tuple[T, Parsed]]:
    """Each update with its parse: the one made with the body (made here only if
    `parsed` was made without them)."""
    if len(parsed.updates) != len(updates):
        return [(u, _parse(u.text)) for u in updates]
    return list(zip(updates, parsed.updates, strict=True))


def _parse(body: str) -> Parsed:
    global _MD
    if _MD is None:
        _MD = _make()
    tokens, state = _MD.parse(body)
    definitions: list[FootnoteDef] = state.env.get("footnote_defs", [])
    counter = state.env.get("inline_notes", [0])
    i = 0
    while i < len(definitions):  # an inline note in a definition adds one to the list
        d = definitions[i]
        i += 1
        if d.inline:
            d.children = _clean(d.children)
            continue
        sub = _MD.block.state_cls()
        sub.env["inline_notes"] = counter  # inline notes' keys stay unique in the post
        d.children = _clean(_MD.parse(_dedent_definition(d.text) + "\n", sub)[0])
        definitions += [n for n in sub.env.get("footnote_defs", []) if n.inline]
    return Parsed(_clean(tokens), definitions)


def _clean(tokens: Any) -> list[Token]:
    """Drop blank lines (they carry nothing any renderer needs), decode character
    references in text, and link bare URLs."""
    result = []
    for tok in tokens:
        kind = tok.get("type")
        if kind == "blank_line":
            continue
        if kind == "text" and "&" in tok.get("raw", ""):
            tok["raw"] = decode_references(tok["raw"])
        elif kind == "link" and "&" in ((tok.get("attrs") or {}).get("title") or ""):
            tok["attrs"]["title"] = decode_references(tok["attrs"]["title"])
        if "children" in tok:
            tok["children"] = (
                _clean(tok["children"])
                if kind not in ("link", "image")
                else _decode_text(tok["children"])
            )
        result.append(tok)
    return _autolink(result)


# A character reference as CommonMark reads one: a name, or a decimal or hex number, always
# closed by `;` (HTML's legacy `&amp` without one is text).
_REFERENCE = re.compile(r"&(?:#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6})|([A-Za-z][A-Za-z0-9]{0,31}));")


def _reference(m: re.Match) -> str:
    if m.group(3) is not None:
        from html.entities import html5

        return html5.get(m.group(3) + ";", m.group(0))  # an unknown name stays as written
    number = int(m.group(1), 10) if m.group(1) is not None else int(m.group(2), 16)
    # CommonMark turns NUL and what is not a character into U+FFFD; so do we with the
    # control characters no page or feed can carry (`&#12;` is a form feed).
    if (
        number > 0x10FFFF
        or 0xD800 <= number <= 0xDFFF
        or (number < 0x20 and number not in (0x09, 0x0A, 0x0D))
    ):
        return "\ufffd"
    return chr(number)


def decode_references(text: str) -> str:
    """Text with its character references (`&amp;`, `&eacute;`, `&#8212;`) decoded, as
    CommonMark says; mistune leaves them in its tokens for its own HTML renderer to
    decode, and every renderer of ours escapes text, so undecoded they showed twice
    escaped (`AT&amp;T` on the page). Code spans and blocks keep theirs, as CommonMark says."""
    return _REFERENCE.sub(_reference, text)


def _decode_text(tokens: list[Token]) -> list[Token]:
    """Character references decoded in the text of a link's or image's children."""
    for tok in walk(tokens):
        if tok.get("type") == "text" and "&" in tok.get("raw", ""):
            tok["raw"] = decode_references(tok["raw"])
    return tokens


def _escape_url(url: str) -> str:
    from mistune.util import escape_url  # mistune's, so bare and written links match

    return escape_url(url)


# mistune's own pattern for bare URLs (plugins/url.py).
_BARE_URL = re.compile(r"""https?:\/\/[^\s<]+[^<.,:;"')\]\s]""")


def _autolink(tokens: list[Token]) -> list[Token]:
    """Turn bare http(s) URLs in text into links, as GitHub and LessWrong do."""
    if not any(t.get("type") == "text" and "http" in t.get("raw", "") for t in tokens):
        return tokens
    merged: list[Token] = []
    for tok in tokens:  # a URL can span text tokens the parser split (at `_`, say)
        if merged and tok.get("type") == "text" and merged[-1].get("type") == "text":
            merged[-1] = {"type": "text", "raw": merged[-1]["raw"] + tok["raw"]}
        else:
            merged.append(tok)
    out: list[Token] = []
    for tok in merged:
        raw = tok.get("raw", "") if tok.get("type") == "text" else ""
        if "http" not in raw:
            out.append(tok)
            continue
        pos = 0
        for m in _BARE_URL.finditer(raw):
            if m.start() > pos:
                out.append({"type": "text", "raw": raw[pos : m.start()]})
            out.append(
                {
                    "type": "link",
                    "children": [{"type": "text", "raw": m.group(0)}],
                    "attrs": {"url": _escape_url(m.group(0))},
                }
            )
            pos = m.end()
        if pos < len(raw):
            out.append({"type": "text", "raw": raw[pos:]})
    return out


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
        if kind in ("text", "codespan", "inline_math") and "children" not in tok:
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
        elif (
            m
            and m.group(1)[0] == fence[0]
            and len(m.group(1)) >= len(fence)
            and not m.group(2).strip()
        ):
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
    Searching is deferred until a position is actually wanted (most posts have no
    problems), but every `find` is counted, so the k-th call for a string still means
    its k-th occurrence.

    Placing every diagnostic of a post is one pass over it: each string's search resumes
    where its previous occurrence was found (a link repeated 20,000 times is not searched
    for from the top 20,000 times), and lines come from a table of line starts.
    """

    def __init__(self, body: str, first_line: int):
        self.body = body
        self.first_line = first_line
        self.counts: dict[str, int] = {}
        self._text: str | None = None
        self._found: dict[str, list[int]] = {}  # each string's occurrences found so far
        self._exhausted: set[str] = set()  # strings whose every occurrence is in _found
        self._line_starts: list[int] | None = None

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = _mask_code(self.body)
        return self._text

    def position(self, offset: int) -> tuple[int, int]:
        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        index = bisect.bisect_right(self._line_starts, offset) - 1
        return self.first_line + index, offset - self._line_starts[index] + 1

    def find(self, *needles: str) -> Spot:
        """The next occurrence of the first of `needles` that the body holds at all
        (resolved only when read): a link's URL as written, say, then its scheme."""
        needle = needles[0]
        if len(needles) > 1:  # choosing searches now; one string is searched when read
            needle = next((n for n in needles if n and self._nth(n, 0) is not None), needle)
        k = self.counts.get(needle, 0)
        self.counts[needle] = k + 1
        return Spot(self, needle, k)

    def _nth(self, needle: str, k: int) -> int | None:
        """Offset of the k-th (0-based) occurrence, searching on from the last one found."""
        found = self._found.setdefault(needle, [])
        while len(found) <= k and needle not in self._exhausted:
            nxt = self.text.find(needle, found[-1] + 1 if found else 0)
            if nxt < 0:
                self._exhausted.add(needle)
            else:
                found.append(nxt)
        return found[k] if k < len(found) else None

    def occurrence(self, needle: str, k: int) -> tuple[int, int]:
        """Position of the k-th (0-based) occurrence; the last one, or the body's start."""
        offset = self._nth(needle, k)
        if offset is None:
            found = self._found.get(needle)
            if not found:
                return self.first_line, 1
            offset = found[-1]
        return self.position(offset)


class Place(Protocol):
    """A (line, column) read as `place[0]`, `place[1]`: a tuple, or a `Spot`."""

    def __getitem__(self, i: int, /) -> int: ...


class Spot:
    """A lazily found (line, column)."""

    __slots__ = ("locator", "needle", "k", "_at")

    def __init__(self, locator: Locator, needle: str, k: int):
        self.locator, self.needle, self.k = locator, needle, k
        self._at: tuple[int, int] | None = None

    def __getitem__(self, i: int) -> int:
        if self._at is None:
            self._at = self.locator.occurrence(self.needle, self.k)
        return self._at[i]
