"""HTML to the toolkit's Markdown, for imported posts that come only as HTML.

markdownify does the general conversion; what it cannot know is added here: footnotes
(LessWrong's `footnote-reference` / `footnote-item` markup and Substack's
`footnote-anchor` / `footnote` markup become `[^n]` references and `[^n]:` definitions),
math (LessWrong's `math-tex` spans become `$...$`, as its Markdown writes them) and
spoilers (`div.spoilers` becomes `>!` lines). Substack's subscribe widgets and buttons
are page furniture, not the post, and are dropped.
"""

from __future__ import annotations

import re
from typing import Any

from bs4 import BeautifulSoup, Tag
from markdownify import MarkdownConverter

_DROP = ("subscription-widget-wrap", "subscribe-widget", "button-wrapper", "share-dialog")


def _classes(el: Tag) -> set[str]:
    value: Any = el.get("class") or []
    return set(value.split() if isinstance(value, str) else value)


def _number(el: Tag, fallback: int) -> str:
    index = el.get("data-footnote-index")
    if isinstance(index, str) and index.isdigit():
        return index
    digits = re.sub(r"\D", "", el.get_text())
    return digits or str(fallback)


class _Converter(MarkdownConverter):
    def __init__(self, **options):
        options.setdefault("heading_style", "atx")
        options.setdefault("bullets", "-")
        super().__init__(**options)

    def convert_span(self, el, text, parent_tags):
        classes = _classes(el)
        if "footnote-reference" in classes:
            return f"[^{_number(el, 1)}]"
        if "math-tex" in classes:
            return _math(el.get_text())
        return text

    def convert_a(self, el, text, parent_tags):
        if "footnote-anchor" in _classes(el):
            return f"[^{_number(el, 1)}]"
        return super().convert_a(el, text, parent_tags)

    def convert_div(self, el, text, parent_tags):
        classes = _classes(el)
        if "spoilers" in classes:
            lines = text.strip("\n").splitlines()
            return "\n\n" + "\n".join(f">! {line}".rstrip() for line in lines) + "\n\n"
        return super().convert_div(el, text, parent_tags)


def _math(tex: str) -> str:
    tex = tex.strip()
    if tex.startswith("\\(") and tex.endswith("\\)"):
        return f"${tex[2:-2].strip()}$"
    if tex.startswith("\\[") and tex.endswith("\\]"):
        return f"$${tex[2:-2].strip()}$$"
    return f"${tex}$"


def _definition(converter: _Converter, item: Tag) -> str:
    """A footnote's text, without its back link or number."""
    for back in item.select(
        ".footnote-back-link, .footnote-backref, a.footnote-number, a[href^='#fnref']"
    ):
        back.decompose()
    content = item.select_one(".footnote-content") or item
    return converter.convert_soup(content).strip()


def to_markdown(markup: str) -> str:
    """Markdown for `markup` (an HTML fragment), its notes as `[^n]` definitions at the end."""
    soup = BeautifulSoup(markup, "html.parser")
    for el in soup.find_all(True):
        if el.decomposed:
            continue
        if _classes(el) & set(_DROP):
            el.decompose()
    converter = _Converter()
    notes: list[tuple[str, str]] = []
    # LessWrong: <ol class="footnote-section footnotes"><li class="footnote-item">...
    for section in soup.select("ol.footnote-section, ol.footnotes, section.footnotes"):
        for n, item in enumerate(section.select("li"), 1):
            notes.append((_number(item, n), _definition(converter, item)))
        section.decompose()
    # Substack: <div class="footnote"><a class="footnote-number">1</a><div class=
    # "footnote-content">...</div></div>
    for n, item in enumerate(soup.select("div.footnote"), 1):
        number = item.select_one("a.footnote-number")
        label = _number(number, n) if number is not None else str(n)
        notes.append((label, _definition(converter, item)))
        item.decompose()
    body = converter.convert_soup(soup).strip()
    body = re.sub(r"\n{3,}", "\n\n", body)
    out = [body]
    for label, text in notes:
        first, _, rest = text.partition("\n")
        note = f"[^{label}]: {first}"
        if rest:
            note += "\n" + "\n".join(
                f"    {line}" if line.strip() else "" for line in rest.split("\n")
            )
        out.append(note)
    return "\n\n".join(part for part in out if part) + "\n"
