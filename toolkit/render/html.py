"""HTML for a document's body and its notes, shared by the site and the feeds.

Note ids carry the post's slug (`<slug>-fn-1`, `<slug>-fnref-1`), so a page or a feed
reader that shows several posts never sees the same id twice. Every fragment link is
written as `href="#..."`; `absolute_fragments` turns them into links to the post's own
page for feeds, where a bare `#fn` would resolve against the feed's URL.

Links with an archived copy carry the Robust Links attributes (`data-originalurl`,
`data-versionurl` holding the snapshot's URL alone, `data-versiondate` its date); the
visible link to the copy carries `data-originalurl` and `data-versiondate`, as the Robust
Links spec describes for a link whose href is the snapshot.

Given the project, a citation note also shows the words it cites (the snippet's quote,
shortened) or, where the post already quotes them in a `{claim}` block, a link to the
claim's entry on the claims page; and it says so when a source has no archived copy.
Every note reference carries the note's opening words in `data-preview` (the stylesheet
shows them on hover and keyboard focus, no script) and points at the note with
`aria-describedby`. A word joiner keeps a reference on the line of the word before it,
and a no-break space keeps "↩" with the note's last word.

The renderer is a small class of its own rather than mistune's HTMLRenderer: it knows
exactly the token types the document holds, and renders a post in a fraction of the time
(a build renders thousands). Raw HTML in posts is escaped, never passed through.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urljoin

from ..document import Document, Note
from ..markdown import Token, plain_text
from ..model import Project

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_SAFE_SCHEMES = ("http:", "https:", "mailto:")
WORD_JOINER = "&#8288;"  # no line break on either side: a note number stays with its word
QUOTE_LIMIT = 240  # characters of a snippet's quote shown in a note
PREVIEW_LIMIT = 300  # characters of a note shown in its reference's preview


def escape(text: str) -> str:
    # Chained replace beats str.translate and html.escape for short strings.
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


class HtmlRenderer:
    # Token type -> method (the dispatch tables are filled in below the class).
    _block: dict = {}
    _inline: dict = {}

    def __init__(self, prefix: str, site_url: str, project: Project | None = None):
        self.prefix = prefix
        self.site_url = site_url
        self.project = project
        # Unique on a page that shows several posts' notes (the shortform page), as
        # landmarks' names must be.
        self.notes_label = "Notes"
        self.by_number: dict[int, Note] = {}  # the notes references may preview
        self.previews: dict[int, str] = {}  # note number -> its preview text, once made
        self.quoted: set[int] = set()  # notes of `{claim}` blocks: the body shows the quote

    # Ids -----------------------------------------------------------------------------

    def note_id(self, number: int) -> str:
        return f"{self.prefix}-fn-{number}"

    def ref_id(self, number: int, occurrence: int = 1) -> str:
        suffix = f"-{occurrence}" if occurrence > 1 else ""
        return f"{self.prefix}-fnref-{number}{suffix}"

    # Dispatch ------------------------------------------------------------------------

    def blocks(self, tokens: list[Token]) -> str:
        out = []
        for tok in tokens:
            render = self._block.get(tok["type"])
            if render is not None:
                out.append(render(self, tok))
            elif "children" in tok:  # anything else that holds inline content
                out.append(self.inline(tok["children"]))
        return "".join(out)

    def inline(self, tokens: list[Token]) -> str:
        out = []
        for tok in tokens:
            render = self._inline.get(tok["type"])
            if render is not None:
                out.append(render(self, tok))
            elif "children" in tok:
                out.append(self.inline(tok["children"]))
            elif "raw" in tok:
                out.append(escape(tok["raw"]))
        return "".join(out)

    # Inline --------------------------------------------------------------------------

    def text(self, tok: Token) -> str:
        return escape(tok["raw"])

    def emphasis(self, tok: Token) -> str:
        return f"<em>{self.inline(tok['children'])}</em>"

    def strong(self, tok: Token) -> str:
        return f"<strong>{self.inline(tok['children'])}</strong>"

    def strikethrough(self, tok: Token) -> str:
        return f"<del>{self.inline(tok['children'])}</del>"

    def codespan(self, tok: Token) -> str:
        return f"<code>{escape(tok['raw'])}</code>"

    def linebreak(self, tok: Token) -> str:
        return "<br>\n"

    def softbreak(self, tok: Token) -> str:
        return "\n"

    def note_ref(self, tok: Token) -> str:
        number = tok["attrs"]["number"]
        preview = self.previews.get(number)
        if preview is None and number in self.by_number:
            preview = self.previews[number] = self.preview(self.by_number[number])
        preview_attr = f' data-preview="{escape(preview)}"' if preview else ""
        described = f' aria-describedby="{self.note_id(number)}"' if preview else ""
        return (
            f'{WORD_JOINER}<sup class="note-ref" '
            f'id="{self.ref_id(number, tok["attrs"]["occurrence"])}"{preview_attr}>'
            f'<a href="#{self.note_id(number)}" role="doc-noteref"{described}>{number}</a></sup>'
        )

    def link(self, tok: Token) -> str:
        attrs = tok["attrs"]
        href = self.url(attrs["url"])
        out = [f'<a href="{escape(href)}"']
        if attrs.get("title"):
            out.append(f' title="{escape(attrs["title"])}"')
        if attrs.get("role") == "archive":
            out.append(' class="archived"')
            if attrs.get("original"):
                out.append(f' data-originalurl="{escape(attrs["original"])}"')
            if attrs.get("archive_date"):
                out.append(f' data-versiondate="{attrs["archive_date"]}"')
        elif attrs.get("archive"):
            version = attrs["archive"]
            out.append(f' data-originalurl="{escape(href)}" data-versionurl="{escape(version)}"')
            if attrs.get("archive_date"):
                out.append(f' data-versiondate="{attrs["archive_date"]}"')
        return "".join(out) + ">" + self.inline(tok.get("children", [])) + "</a>"

    def image(self, tok: Token) -> str:
        alt = escape(plain_text(tok.get("children", [])))
        title = tok["attrs"].get("title")
        title_attr = f' title="{escape(title)}"' if title else ""
        copy = tok["attrs"].get("media")
        src = MEDIA_FROM_POST + copy if copy else self.url(tok["attrs"]["url"])
        return f'<img src="{escape(src)}" alt="{alt}"{title_attr}>'

    def url(self, url: str) -> str:
        """Writer-written relative links point into the site: made absolute so the same
        HTML works on any page and in feeds. Fragments stay; unsafe schemes are dropped
        (the check reports them; a preview still renders)."""
        if not url or url.startswith("#"):
            return url
        if _SCHEME.match(url):
            return url if url.lower().startswith(_SAFE_SCHEMES) else "#unsafe-link"
        return urljoin(self.site_url, url.lstrip("/") if url.startswith("/") else url)

    def superscript(self, tok: Token) -> str:
        return f"<sup>{self.inline(tok['children'])}</sup>"

    def subscript(self, tok: Token) -> str:
        return f"<sub>{self.inline(tok['children'])}</sub>"

    def inline_math(self, tok: Token) -> str:
        return mathml(tok["raw"], display=tok.get("attrs", {}).get("display", False))

    # Blocks --------------------------------------------------------------------------

    def block_math(self, tok: Token) -> str:
        return f'<div class="math">{mathml(tok["raw"].strip(), display=True)}</div>\n'

    def spoiler(self, tok: Token) -> str:
        # A spoiler is hidden until asked for: `<details>` does that without a script,
        # in a page and in a feed reader.
        return (
            '<details class="spoiler">\n<summary>Spoiler</summary>\n'
            f"{self.blocks(tok['children'])}</details>\n"
        )

    def collapsible(self, tok: Token) -> str:
        title = escape(tok["attrs"].get("title") or "Details")
        return (
            f'<details class="collapsible">\n<summary>{title}</summary>\n'
            f"{self.blocks(tok['children'])}</details>\n"
        )

    def paragraph(self, tok: Token) -> str:
        return f"<p>{self.inline(tok['children'])}</p>\n"

    def block_text(self, tok: Token) -> str:
        return self.inline(tok["children"])

    def heading(self, tok: Token) -> str:
        level = tok["attrs"]["level"]
        return f"<h{level}>{self.inline(tok['children'])}</h{level}>\n"

    def block_quote(self, tok: Token) -> str:
        return f"<blockquote>\n{self.blocks(tok['children'])}</blockquote>\n"

    def list(self, tok: Token) -> str:
        items = self.blocks(tok["children"])
        if tok["attrs"].get("ordered"):
            start = tok["attrs"].get("start")
            start_attr = f' start="{start}"' if start not in (None, 1) else ""
            return f"<ol{start_attr}>\n{items}</ol>\n"
        return f"<ul>\n{items}</ul>\n"

    def list_item(self, tok: Token) -> str:
        return f"<li>{self.blocks(tok['children'])}</li>\n"

    def block_code(self, tok: Token) -> str:
        info = (tok.get("attrs", {}).get("info") or "").split()
        lang = f' class="language-{escape(info[0])}"' if info else ""
        return f"<pre><code{lang}>{escape(tok.get('raw', ''))}</code></pre>\n"

    def thematic_break(self, tok: Token) -> str:
        return "<hr>\n"

    def block_html(self, tok: Token) -> str:
        return f"<p>{escape(tok.get('raw', '').strip())}</p>\n"

    def claim(self, tok: Token) -> str:
        attrs = tok["attrs"]
        if attrs.get("number"):
            self.quoted.add(attrs["number"])
        return (
            f'<figure class="claim" data-snippet="{escape(attrs["snippet"])}">\n'
            f"<blockquote>\n{self.blocks(tok['children'])}</blockquote>\n"
            f"<figcaption>{self.inline(attrs['attribution'])}</figcaption>\n</figure>\n"
        )

    def table(self, tok: Token) -> str:
        out = ["<table>\n"]
        for section in tok["children"]:
            tag = "thead" if section["type"] == "table_head" else "tbody"
            rows = [section] if section["type"] == "table_head" else section["children"]
            out.append(f"<{tag}>\n")
            for row in rows:
                cell_tag = "th" if tag == "thead" else "td"
                cells = "".join(
                    f"<{cell_tag}{_align(cell)}>{self.inline(cell['children'])}</{cell_tag}>"
                    for cell in row["children"]
                )
                out.append(f"<tr>{cells}</tr>\n")
            out.append(f"</{tag}>\n")
        return "".join(out) + "</table>\n"

    # Notes ---------------------------------------------------------------------------

    def notes(self, notes: Sequence[Note]) -> str:  # `list` is a method of this class
        if not notes:
            return ""
        items = "".join(self.note_item(n) for n in notes)
        return (
            f'<section class="notes" role="doc-endnotes" aria-label="{escape(self.notes_label)}">\n'
            f"<ol>\n{items}</ol>\n</section>\n"
        )

    def note_item(self, note: Note) -> str:
        text = self.blocks(note.children).rstrip()
        if note.kind == "citation" and self.project is not None:
            text = self.cited_words(note, text)
        backs = "&nbsp;".join(
            f'<a href="#{self.ref_id(note.number, k)}" class="backref" role="doc-backlink" '
            f'aria-label="Back to reference {note.number}{"" if k == 1 else f" ({k})"}">'
            f"↩{'' if k == 1 else f'<sup>{k}</sup>'}</a>"
            for k in range(1, max(note.refs, 1) + 1)
        )
        if text.endswith("</p>"):
            text = text[:-4] + "&nbsp;" + backs + "</p>"
        else:
            text += "\n" + backs
        return (
            f'<li id="{self.note_id(note.number)}" class="note note-{note.kind}" '
            f'value="{note.number}">{text}</li>\n'
        )

    def cited_words(self, note: Note, text: str) -> str:
        """A citation note's source paragraph, then what it cites: the quote, or (when
        the body quotes it already, or there is none) a link to the claim's entry."""
        assert self.project is not None
        # A source cited before in the post has its quote and copy in that first note.
        cited = [
            s
            for s in (self.project.snippets.get(i) for i in note.snippets)
            if s and s.id not in note.repeats
        ]
        missing = [s for s in cited if not s.archive]
        if missing and text.endswith("</p>"):
            if len(cited) == 1:
                plain = "No archived copy yet."
            else:
                titles = ", ".join(f"“{escape(s.source_title or s.title)}”" for s in missing)
                plain = f"No archived copy yet of {titles}."
            text = text[:-4] + f' <span class="no-archive">{plain}</span></p>'
        out = [text]
        companies = [self.company(s) for s in cited]
        for s, company in zip(cited, companies, strict=True):
            if s.quote and note.number not in self.quoted:
                # Quotes from several companies each name theirs, in the sources' order.
                who = f"{escape(company)}: " if len(set(companies)) > 1 else ""
                quote = escape(shorten(s.quote, QUOTE_LIMIT))
                out.append(f'<p class="note-quote">{who}“{quote}”</p>')
            elif s.lab in self.project.labs:
                href = f"{self.site_url}claims/{s.lab}/#{s.id}"
                out.append(
                    f'<p class="note-claim">The claim: <a href="{escape(href)}">'
                    f"{escape(s.title)}</a></p>"
                )
        return "\n".join(out)

    def company(self, snippet) -> str:
        assert self.project is not None
        return self.project.company(snippet.lab)

    def note_words(self, note: Note) -> str:
        """A note's text on one line. A citation's paragraph is one shared list for every
        post citing the same sources (document.citation_paragraph), so its words are
        worked out once per project: remembered with the list itself, and used only for
        that very list."""
        if self.project is None or note.kind != "citation":
            return " ".join(plain_text(note.children).split())
        known = self.project.derived.note_words.get(id(note.children))
        if known is not None and known[0] is note.children:
            return known[1]
        words = " ".join(plain_text(note.children).split())
        self.project.derived.note_words[id(note.children)] = (note.children, words)
        return words

    def preview(self, note: Note) -> str:
        """What a reference shows of its note on hover or focus: the quote first, if any."""
        words = self.note_words(note)
        if note.kind == "citation" and self.project is not None:
            cited = [
                s
                for s in (self.project.snippets.get(i) for i in note.snippets)
                if s and s.id not in note.repeats
            ]
            if any(not s.archive for s in cited):
                words += " No archived copy yet."
            quotes = [f"“{shorten(s.quote, QUOTE_LIMIT)}”" for s in cited if s.quote]
            if quotes and note.number not in self.quoted:
                words = " ".join(quotes) + " — " + words
        return shorten(words, PREVIEW_LIMIT)


def shorten(text: str, limit: int) -> str:
    """`text` on one line, cut at a word before `limit` characters, with "…" if cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


HtmlRenderer._block = {
    "paragraph": HtmlRenderer.paragraph,
    "heading": HtmlRenderer.heading,
    "block_quote": HtmlRenderer.block_quote,
    "list": HtmlRenderer.list,
    "list_item": HtmlRenderer.list_item,
    "block_text": HtmlRenderer.block_text,
    "block_code": HtmlRenderer.block_code,
    "thematic_break": HtmlRenderer.thematic_break,
    "block_html": HtmlRenderer.block_html,
    "block_error": HtmlRenderer.block_html,
    "claim": HtmlRenderer.claim,
    "table": HtmlRenderer.table,
    "block_math": HtmlRenderer.block_math,
    "spoiler": HtmlRenderer.spoiler,
    "collapsible": HtmlRenderer.collapsible,
}
HtmlRenderer._inline = {
    "text": HtmlRenderer.text,
    "emphasis": HtmlRenderer.emphasis,
    "strong": HtmlRenderer.strong,
    "codespan": HtmlRenderer.codespan,
    "link": HtmlRenderer.link,
    "image": HtmlRenderer.image,
    "linebreak": HtmlRenderer.linebreak,
    "softbreak": HtmlRenderer.softbreak,
    "inline_html": HtmlRenderer.text,
    "strikethrough": HtmlRenderer.strikethrough,
    "note_ref": HtmlRenderer.note_ref,
    "superscript": HtmlRenderer.superscript,
    "subscript": HtmlRenderer.subscript,
    "inline_math": HtmlRenderer.inline_math,
}


def mathml(tex: str, display: bool) -> str:
    """TeX as MathML, made at build time so pages and feeds need no script. TeX that
    latex2mathml cannot read is shown as written, in code, rather than failing a build."""
    from latex2mathml.converter import convert_to_element  # loaded by posts with math

    try:
        element = convert_to_element(tex, display="block" if display else "inline")
    except Exception:  # the library raises many kinds on malformed TeX; none may escape
        marks = "$$" if display else "$"
        return f'<code class="math-tex">{escape(marks + tex + marks)}</code>'
    return "".join(_mathml_parts(element))


# latex2mathml's own serialisation unescapes everything it wrote, so `\text{<b>}` came out
# as markup and `\href{javascript:...}` as a live link. We write its tree ourselves: text
# escaped (the character references it puts in text kept as references), and attributes
# only from this list.
_MATHML_ATTRIBUTES = frozenset(
    [
        "xmlns",
        "display",
        "mathvariant",
        "stretchy",
        "fence",
        "separator",
        "lspace",
        "rspace",
        "accent",
        "accentunder",
        "columnalign",
        "columnlines",
        "columnspacing",
        "rowspacing",
        "rowlines",
        "frame",
        "framespacing",
        "displaystyle",
        "scriptlevel",
        "linethickness",
        "width",
        "height",
        "depth",
        "minsize",
        "maxsize",
        "movablelimits",
        "largeop",
        "symmetric",
        "notation",
        "open",
        "close",
    ]
)
_CHAR_REF = re.compile(r"&amp;#x([0-9A-Fa-f]{1,6});")


def _char_ref(m: re.Match) -> str:
    code = int(m.group(1), 16)
    # Only references to characters a page and a feed can hold stay references.
    if code < 0x20 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        return m.group(0)
    return f"&#x{m.group(1)};"


def _mathml_text(text: str) -> str:
    return _CHAR_REF.sub(_char_ref, escape(text))


def _mathml_parts(element) -> list[str]:
    attrs = "".join(
        f' {name}="{escape(str(value))}"'
        for name, value in element.attrib.items()
        if name in _MATHML_ATTRIBUTES
    )
    out = [f"<{element.tag}{attrs}>"]
    if element.text:
        out.append(_mathml_text(element.text))
    for child in element:
        out += _mathml_parts(child)
        if child.tail:
            out.append(_mathml_text(child.tail))
    out.append(f"</{element.tag}>")
    return out


def _align(cell: Token) -> str:
    align = cell.get("attrs", {}).get("align")
    return f' style="text-align:{align}"' if align else ""


@dataclass
class RenderedHtml:
    body: str  # the post's blocks, with note references
    notes: str  # the notes section (empty when there are none)

    def full(self) -> str:
        return self.body + self.notes


def render(doc: Document, site_url: str, project: Project | None = None) -> RenderedHtml:
    """The post's body and notes. With `project`, citation notes show what they cite
    (see the module's doc); without it, the notes as the document has them."""
    renderer = HtmlRenderer(doc.post.slug, site_url, project)
    renderer.notes_label = f"Notes to “{doc.post.title}”"
    if project is not None:
        renderer.by_number = {n.number: n for n in doc.notes}
    return RenderedHtml(
        updates(renderer, doc) + renderer.blocks(doc.body), renderer.notes(doc.notes)
    )


def updates(renderer: HtmlRenderer, doc: Document) -> str:
    """The post's dated updates, at its top (their notes are in the post's notes)."""
    if not doc.updates:
        return ""
    blocks = "".join(
        f'<div class="update" data-date="{u.date.isoformat()}">\n'
        f"{renderer.blocks(u.blocks)}</div>\n"
        for u in doc.updates
    )
    return f'<aside class="updates" aria-label="Updates">\n{blocks}</aside>\n'


def render_inline(tokens: list[Token], prefix: str, site_url: str) -> str:
    renderer = HtmlRenderer(prefix, site_url)
    if tokens and tokens[0]["type"] in renderer._block:
        return renderer.blocks(tokens)
    return renderer.inline(tokens)


_FRAGMENT_HREF = re.compile(r'href="#')
# A local image's copy, from a post's own page: two folders deep (posts/<slug>/), so the
# HTML works from site/ as files, under `serve` and at any base path. Pages at another
# depth, the feeds and the paste page rebase it (`rebase_media`).
MEDIA_FROM_POST = "../../"
_MEDIA_SRC = re.compile(r'src="\.\./\.\./media/')


def absolute_fragments(html: str, page_url: str) -> str:
    """Point `#fragment` links at the post's own page (for feeds)."""
    return _FRAGMENT_HREF.sub(f'href="{page_url}#', html)


def rebase_media(html: str, root: str) -> str:
    """Point local images' `src` at `root`'s media/ (a relative root, or the site's URL).
    Only the renderer writes `src="` (text and raw HTML are escaped), so only images match."""
    return _MEDIA_SRC.sub(f'src="{root}media/', html)
