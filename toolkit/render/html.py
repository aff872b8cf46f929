"""HTML for a document's body and its notes, shared by the site and the feeds.

Note ids carry the post's slug (`<slug>-fn-1`, `<slug>-fnref-1`), so a page or a feed
reader that shows several posts never sees the same id twice. Every fragment link is
written as `href="#..."`; `absolute_fragments` turns them into links to the post's own
page for feeds, where a bare `#fn` would resolve against the feed's URL.

Links with an archived copy carry the Robust Links attributes (`data-originalurl`,
`data-versionurl`, `data-versiondate`); the visible link to the copy carries
`data-originalurl` and `data-versiondate`, as the Robust Links spec describes for a link
whose href is the snapshot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import mistune
from mistune.core import BlockState
from mistune.plugins import formatting, table

from ..document import Document, Note
from ..markdown import Token


class HtmlRenderer(mistune.HTMLRenderer):
    """mistune's HTML renderer, plus our tokens (note refs, claims, archived links)."""

    def __init__(self, prefix: str, site_url: str):
        # Raw HTML in posts is escaped: it would reach feeds and other sites unchecked.
        super().__init__(escape=True)
        self.prefix = prefix
        self.site_url = site_url
        for name, fn in (("table", table.render_table), ("table_head", table.render_table_head),
                         ("table_body", table.render_table_body),
                         ("table_row", table.render_table_row),
                         ("table_cell", table.render_table_cell),
                         ("strikethrough", formatting.render_strikethrough)):
            self.register(name, fn)

    # Ids -----------------------------------------------------------------------------

    def note_id(self, number: int) -> str:
        return f"{self.prefix}-fn-{number}"

    def ref_id(self, number: int, occurrence: int = 1) -> str:
        suffix = f"-{occurrence}" if occurrence > 1 else ""
        return f"{self.prefix}-fnref-{number}{suffix}"

    # Tokens --------------------------------------------------------------------------

    def render_token(self, token: Token, state: BlockState) -> str:
        if token["type"] == "claim":
            return self.claim(token, state)
        return super().render_token(token, state)

    def note_ref(self, number: int, occurrence: int = 1) -> str:
        return (f'<sup class="note-ref" id="{self.ref_id(number, occurrence)}">'
                f'<a href="#{self.note_id(number)}" role="doc-noteref">{number}</a></sup>')

    def claim(self, token: Token, state: BlockState) -> str:
        attrs = token["attrs"]
        quote = self.render_tokens(token["children"], state)
        attribution = self.render_tokens(attrs["attribution"], state)
        snippet = self.escape_attribute(attrs["snippet"])
        return (f'<figure class="claim" data-snippet="{snippet}">\n'
                f"<blockquote>\n{quote}</blockquote>\n"
                f"<figcaption>{attribution}</figcaption>\n</figure>\n")

    def link(self, text: str, url: str, title: str | None = None, **extra: Any) -> str:
        href = self.absolute(url)
        attrs: dict[str, object] = {"href": self.sanitize_url(href)}
        if title:
            attrs["title"] = title
        if extra.get("role") == "archive":
            attrs.update({"class": "archived", "data-originalurl": extra.get("original"),
                          "data-versiondate": extra.get("archive_date")})
        elif extra.get("archive"):
            version = extra["archive"]
            if extra.get("archive_date"):
                version += " " + extra["archive_date"]
            attrs.update({"data-originalurl": href, "data-versionurl": version,
                          "data-versiondate": extra.get("archive_date")})
        return "<a" + self.render_attrs(attrs) + ">" + text + "</a>"

    def image(self, text: str, url: str, title: str | None = None) -> str:
        return super().image(text, self.absolute(url), title)

    def absolute(self, url: str) -> str:
        """Writer-written relative links point into the site; make them absolute so the
        same HTML works on any page and in feeds. Fragments stay as they are."""
        if not url or url.startswith("#") or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url):
            return url
        return urljoin(self.site_url, url.lstrip("/") if url.startswith("/") else url)

    # Notes ---------------------------------------------------------------------------

    def notes(self, notes: list[Note], state: BlockState) -> str:
        if not notes:
            return ""
        items = "".join(self.note_item(n, state) for n in notes)
        return (f'<section class="notes" role="doc-endnotes" aria-label="Notes">\n'
                f"<ol>\n{items}</ol>\n</section>\n")

    def note_item(self, note: Note, state: BlockState) -> str:
        text = self.render_tokens(note.children, state).rstrip()
        backs = " ".join(
            f'<a href="#{self.ref_id(note.number, k)}" class="backref" role="doc-backlink" '
            f'aria-label="Back to reference {note.number}{"" if k == 1 else f" ({k})"}">'
            f'↩{"" if k == 1 else f"<sup>{k}</sup>"}</a>'
            for k in range(1, max(note.refs, 1) + 1))
        if text.endswith("</p>"):
            text = text[:-4] + " " + backs + "</p>"
        else:
            text += "\n" + backs
        return (f'<li id="{self.note_id(note.number)}" class="note note-{note.kind}" '
                f'value="{note.number}">{text}</li>\n')


@dataclass
class RenderedHtml:
    body: str  # the post's blocks, with note references
    notes: str  # the notes section (empty when there are none)

    def full(self) -> str:
        return self.body + self.notes


def render(doc: Document, site_url: str) -> RenderedHtml:
    renderer = HtmlRenderer(doc.post.slug, site_url)
    state = BlockState()
    return RenderedHtml(renderer.render_tokens(doc.body, state),
                        renderer.notes(doc.notes, state))


def render_inline(tokens: list[Token], prefix: str, site_url: str) -> str:
    return HtmlRenderer(prefix, site_url).render_tokens(tokens, BlockState())


_FRAGMENT_HREF = re.compile(r'href="#')


def absolute_fragments(html: str, page_url: str) -> str:
    """Point `#fragment` links at the post's own page (for feeds)."""
    return _FRAGMENT_HREF.sub(f'href="{page_url}#', html)
