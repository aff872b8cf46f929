"""LessWrong's Markdown extensions, as mistune plugins: the syntax its editor reads.

ForumMagnum renders Markdown with markdown-it and these plugins (see the reference on its
editor), so a writer who posts there writes them; each becomes a token of its own, which
every renderer shows in its target's form:

- `$…$` is `inline_math` (`attrs.display` False), `$$…$$` inside a line is `inline_math`
  with `display` True, and `$$…$$` from the start of a line is `block_math` (as
  dollarmath reads it); `raw` is the TeX (for `block_math`, all between the `$$`s,
  line breaks included, so that it can be written back exactly).
  As in markdown-it's dollarmath (and LessWrong's MathJax plugin), `$` is not math when a
  space follows the opening `$` or precedes the closing one, or a digit follows it:
  `$5 and $10` stays text.
- `^sup^` and `~sub~` are `superscript` and `subscript` (no unescaped space inside;
  their content is text, as markdown-it's sub and sup plugins read it).
- `^[text]` is an inline note: a `footnote_ref` to a `FootnoteDef` of its own.
- A block quote whose every line starts `>!` is a `spoiler` (block children).
- `+++ Title` … `+++` is a `collapsible` (`attrs.title`, block children); sections nest.
"""

from __future__ import annotations

import re
from typing import Any

# `$$…$$` inside a line, `$…$` (markdown-it dollarmath's rules, allow_space and
# allow_digits off).
INLINE_MATH = (
    r"\$\$(?P<math_display>(?:[^$\\\n]|\\.)+?)\$\$"
    r"|\$(?![\s$])(?P<math_inline>(?:[^$\\\n]|\\.)*?(?:[^$\s\\]|\\.))\$(?!\d)"
)
# A line that starts with `$$` may open display math (see `_parse_block_math`).
BLOCK_MATH = r"^ {0,3}\$\$"
INLINE_NOTE = r"\^\["
COLLAPSIBLE_OPEN = r"^ {0,3}(?P<collapse_marker>\+{3,})[ \t]*(?P<collapse_title>[^\n+][^\n]*)$"
_COLLAPSIBLE_LINE = re.compile(r"^ {0,3}(\+{3,})[ \t]*([^\n]*?)[ \t]*$", re.M)
_SPOILER_TEXT = re.compile(r"^( {0,3}![^\n]*\n)+$")
_SPOILER_MARK = re.compile(r"^ {0,3}! ?", re.M)


def _parse_inline_math(inline: Any, m: re.Match, state: Any) -> int:
    display = m.group("math_display")
    raw = display if display is not None else m.group("math_inline")
    state.append_token(
        {"type": "inline_math", "raw": raw, "attrs": {"display": display is not None}}
    )
    return m.end()


def _parse_block_math(block: Any, m: re.Match, state: Any) -> int | None:
    """Display math as markdown-it's dollarmath reads it: `$$` starts a line; the math
    ends at the end of the first line that ends with `$$` (that line itself when it is
    longer than `$$x`), before any blank line. A line with `$$` inside it but not at its
    end is text (inline math), not the start of a block."""
    src = state.src
    first_end = state.find_line_end_at(m.start())
    first = src[m.end() : first_end].rstrip("\n")
    if len(first.strip()) > 1 and first.rstrip().endswith("$$"):
        raw, end = first.rstrip()[:-2], first_end
    elif "$$" in first:
        return None
    else:
        lines = [first]
        pos = first_end
        while True:
            if pos >= state.cursor_max:
                return None
            line_end = state.find_line_end_at(pos)
            line = src[pos:line_end].rstrip("\n")
            if not line.strip():
                return None  # no blank line inside display math
            pos = line_end
            if line.rstrip().endswith("$$"):
                lines.append(line.rstrip()[:-2])
                break
            lines.append(line)
        raw, end = "\n".join(lines), pos
    state.append_token({"type": "block_math", "raw": raw})
    return end


def _closing_bracket(src: str, pos: int) -> int | None:
    """Where the `]` that closes a `[` opened just before `pos` is (brackets nest, a
    backslash escapes), or None."""
    depth = 1
    i = pos
    while i < len(src):
        c = src[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def _parse_inline_note(inline: Any, m: re.Match, state: Any) -> int | None:
    from .markdown import FootnoteDef

    close = _closing_bracket(state.src, m.end())
    if close is None or state.depth >= inline.max_nested_level:
        return None
    text = state.src[m.end() : close]
    if not text.strip():
        return None
    child = state.copy()
    child.src = text.strip()
    children = inline.render(child)
    counter = state.env.setdefault("inline_notes", [0])
    counter[0] += 1
    # A key with a space: no `[^label]` can have one, so the two never meet.
    key = f"inline note {counter[0]}"
    state.env.setdefault("footnote_defs", []).append(
        FootnoteDef(
            key,
            "^[" + " ".join(text.split())[:40] + "]",
            text,
            -1,
            [{"type": "paragraph", "children": children}],
            inline=True,
        )
    )
    state.append_token(
        {
            "type": "footnote_ref",
            "raw": m.group(0) + text + "]",
            "attrs": {"key": key, "label": key},
        }
    )
    return close + 1


_UNESCAPE = re.compile(r"\\([ !-/:-@\[-`{-~])")


def _parse_script(kind: str) -> Any:
    # Text only, as markdown-it-sub and -sup read it: LessWrong shows nothing else there.
    def parse(inline: Any, m: re.Match, state: Any) -> int:
        raw = _UNESCAPE.sub(r"\1", m.group(0)[1:-1])
        state.append_token({"type": kind, "children": [{"type": "text", "raw": raw}]})
        return m.end()

    return parse


def _child_rules(block: Any, state: Any, rules: list[str]) -> list[str]:
    # At the nesting limit stop descending into containers, as mistune's block quote does.
    if state.depth() >= block.max_nested_level - 1:
        return [r for r in rules if r not in ("block_quote", "list", "collapsible")]
    return rules


def _parse_quote_or_spoiler(block: Any, m: re.Match, state: Any) -> int:
    """mistune's block quote, except that a quote whose every line is `>!` is a spoiler."""
    text, end_pos, lazy_line_starts = block.extract_block_quote(m, state)
    if not text.endswith("\n"):
        text += "\n"
    kind = "block_quote"
    if _SPOILER_TEXT.match(text):
        text = _SPOILER_MARK.sub("", text)
        kind = "spoiler"
    child = state.child_state(text, lazy_line_starts=lazy_line_starts)
    block.parse(child, _child_rules(block, state, block.block_quote_rules))
    token = {"type": kind, "children": child.tokens}
    if end_pos:
        state.prepend_token(token)
        return end_pos
    state.append_token(token)
    return state.cursor


def _parse_collapsible(block: Any, m: re.Match, state: Any) -> int | None:
    """`+++ Title`, blocks, `+++`: the closing line is the first marker line without a
    title at the same depth (one at least as long as the opening marker)."""
    marker = m.group("collapse_marker")
    depth = 1
    start = state.find_line_end_at(m.start())
    for line in _COLLAPSIBLE_LINE.finditer(state.src, start, state.cursor_max):
        if line.group(2):
            depth += 1
        elif len(line.group(1)) >= len(marker) or depth > 1:
            depth -= 1
            if depth == 0:
                break
    else:
        return None  # never closed: the line is text
    child = state.child_state(state.src[start : line.start()])
    block.parse(child, _child_rules(block, state, list(block.rules)))
    state.append_token(
        {
            "type": "collapsible",
            "attrs": {"title": m.group("collapse_title").strip()},
            "children": child.tokens,
        }
    )
    return state.find_line_end_at(line.start())


def register(md: Any) -> None:
    md.inline.register(
        "inline_note", INLINE_NOTE, _parse_inline_note, before="link", start_chars="^"
    )
    md.inline.register(
        "inline_math", INLINE_MATH, _parse_inline_math, before="codespan", start_chars="$"
    )
    md.inline.register(
        "superscript",
        r"\^(?:\\\^|\\ |[^\s^\\]|\\[^ ^])+?\^",
        _parse_script("superscript"),
        before="linebreak",
        start_chars="^",
    )
    md.inline.register(
        "subscript",
        r"~(?:\\~|\\ |[^\s~\\]|\\[^ ~])+?~",
        _parse_script("subscript"),
        before="linebreak",
        start_chars="~",
    )
    md.block.register("block_math", BLOCK_MATH, _parse_block_math, before="list")
    md.block.register("collapsible", COLLAPSIBLE_OPEN, _parse_collapsible, before="list")
    md.block.register("block_quote", None, _parse_quote_or_spoiler)
    for rules in (md.block.block_quote_rules, md.block.list_rules):
        for name in ("block_math", "collapsible"):
            if name not in rules:
                md.block.insert_rule(rules, name, before="list")
