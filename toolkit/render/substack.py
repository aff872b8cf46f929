"""Substack: the document as a ProseMirror doc, the way Substack's editor stores it.

Node and mark names follow python-substack 0.10 (the most widely shipped client): the
older ProseMirror spellings (`bullet_list`, `strong`, `em`) that Substack's editor maps onto
its own, plus `codeBlock` and the footnote nodes. Footnotes are verified by the clients
the reference cites: a `footnoteAnchor {number}` in the text where the superscript goes,
and one `footnote {number}` block per anchor at the end of the doc, numbered 1..n in
document order. Substack pairs anchors and blocks one to one, so a second reference to
the same note is written as a plain superscript number, never a second anchor.

A note inside a note cannot be a footnote there (no footnote may reference another, and
every block needs its own anchor in the text), so it is written at the end of the footnote
it belongs to, as a paragraph that starts with its number in superscript, and the
reference to it is that superscript number: the reader sees the same numbers as on the
site. Notes that are not footnotes come after all the footnotes in the numbering, so the
footnotes keep their numbers.

A `{claim}` is a blockquote followed by its attribution line. Math is Substack's own
`latex` (inline) and `latex_block` nodes; `^sup^` and `~sub~` its superscript and
subscript marks. What Substack has no node for gets the fallback `check` names (P015,
from `toolkit.target_check`): a table is one paragraph per row, its cells separated by
" | " and the header row in bold (never cells run together, and the note anchors in it
kept); a spoiler or a collapsible section is its title in bold, then its content, shown
openly.

An image that stands on its own (alone in its paragraph, or cut out of one, possibly inside
a link) is a `captionedImage` holding an `image2` (its alt text as `alt`, a link around it
as `href`) and, when the image has a title, a `caption` with it: python-substack makes
the title the caption. Its `src` is what `uploaded` maps the image's URL to (`publish`
uploads local files first), else the URL itself: the copy on the site for a local file
(drafts/ is made without network), the writer's URL for a remote image. An image inside
a line of text has no node (Substack's images are blocks): it stays a link (P015). A
block that may hold only paragraphs (a quote, a footnote) gets the image as a link too.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from ..document import Document, Note
from ..markdown import Token, plain_text

Node = dict[str, Any]
Nodes = list[Node]  # (`list` inside the class below is a method)
Tokens = list[Token]


def _text(text: str, marks: list[dict]) -> list[Node]:
    if not text:
        return []  # ProseMirror has no empty text nodes
    node: Node = {"type": "text", "text": text}
    if marks:
        node["marks"] = [dict(m) for m in marks]
    return [node]


# Substack's image hosts name a file `<uuid>_<W>x<H>.<ext>` ([CB] reads its size from that).
_CDN_HOSTS = ("substack-post-media.s3.amazonaws.com", "substackcdn.com")
_CDN_NAME = re.compile(r"_(\d+)x(\d+)\.(png|jpe?g|gif|webp)$", re.IGNORECASE)


def image_attrs(src: str, alt: str, title: str | None, href: str | None) -> Node:
    """`image2`'s attributes (reference section 3), with the size when the host gives it."""
    attrs: Node = {
        "src": src,
        "alt": alt or None,
        "title": title or None,
        "href": href,
        "fullscreen": False,
        "imageSize": "normal",
        "belowTheFold": False,
        "topImage": False,
        "isProcessing": False,
    }
    parts = urlsplit(src)
    host = parts.hostname or ""
    size = _CDN_NAME.search(parts.path)
    if size and any(host == h or host.endswith("." + h) for h in _CDN_HOSTS):
        ext = size.group(3).lower().replace("jpg", "jpeg")
        attrs.update(width=int(size.group(1)), height=int(size.group(2)), type=f"image/{ext}")
    return attrs


def standalone_image(tok: Token) -> tuple[Token, str | None] | None:
    """An image token, or a link around nothing but one: the image and the link's URL."""
    if tok["type"] == "image":
        return tok, None
    if tok["type"] == "link" and tok["attrs"].get("role") != "archive":
        kids = [k for k in tok.get("children", []) if not blank(k)]
        if len(kids) == 1 and kids[0]["type"] == "image":
            return kids[0], tok["attrs"].get("url")
    return None


def blank(tok: Token) -> bool:
    return tok["type"] == "softbreak" or (tok["type"] == "text" and not tok["raw"].strip())


class ProseMirror:
    def __init__(self, doc: Document, uploaded: dict[str, str] | None = None):
        self.doc = doc
        self.uploaded = uploaded or {}
        # Notes that are Substack footnotes: those first referenced from the body's text.
        self.footnotes = {n.number for n in doc.notes if n.parent is None and n.section == "body"}
        by_number = {n.number: n for n in doc.notes}
        # The other notes, by the footnote whose block carries them (see the module's doc).
        self.carried: dict[int, list[Note]] = {}
        for note in doc.notes:
            host = note
            while host.parent is not None and host.parent in by_number:
                host = by_number[host.parent]
            if host is not note and host.number in self.footnotes:
                self.carried.setdefault(host.number, []).append(note)

    # inline -----------------------------------------------------------------------------

    def inline(self, tokens: list[Token], marks: list[dict] | None = None) -> list[Node]:
        marks = marks or []
        out: list[Node] = []
        for tok in tokens:
            kind = tok["type"]
            if kind in ("text", "inline_html", "block_html"):
                out += _text(tok.get("raw", ""), marks)
            elif kind == "softbreak":
                out += _text(" ", marks)
            elif kind == "linebreak":
                out.append({"type": "hard_break"})
            elif kind == "emphasis":
                out += self.inline(tok["children"], marks + [{"type": "em"}])
            elif kind == "strong":
                out += self.inline(tok["children"], marks + [{"type": "strong"}])
            elif kind == "strikethrough":
                out += self.inline(tok["children"], marks + [{"type": "strikethrough"}])
            elif kind == "codespan":
                out += _text(tok["raw"], marks + [{"type": "code"}])
            elif kind == "link":
                href = tok["attrs"]["url"]
                out += self.inline(
                    tok["children"], marks + [{"type": "link", "attrs": {"href": href}}]
                )
            elif kind == "image":  # inside a line of text: a link (see the module's doc)
                url = self.uploaded.get(tok["attrs"]["url"], tok["attrs"]["url"])
                alt = plain_text(tok.get("children", [])) or url
                out += _text(alt, marks + [{"type": "link", "attrs": {"href": url}}])
            elif kind == "superscript":
                out += self.inline(tok["children"], marks + [{"type": "superscript"}])
            elif kind == "subscript":
                out += self.inline(tok["children"], marks + [{"type": "subscript"}])
            elif kind == "inline_math":
                out.append(
                    {
                        "type": "latex",
                        "attrs": {"expression": tok["raw"], "persistentExpression": tok["raw"]},
                    }
                )
            elif kind == "note_ref":
                out += self.note_ref(
                    tok["attrs"]["number"], tok["attrs"].get("occurrence", 1), marks
                )
            elif "children" in tok:
                out += self.inline(tok["children"], marks)
            elif "raw" in tok:
                out += _text(tok["raw"], marks)
        return _merge(out)

    def note_ref(self, number: int, occurrence: int, marks: list[dict]) -> list[Node]:
        if occurrence == 1 and number in self.footnotes:
            return [{"type": "footnoteAnchor", "attrs": {"number": number}}]
        return _text(str(number), marks + [{"type": "superscript"}])

    # blocks -----------------------------------------------------------------------------

    def blocks(self, tokens: list[Token]) -> list[Node]:
        out: list[Node] = []
        for tok in tokens:
            out += self.block(tok)
        return out

    def block(self, tok: Token) -> list[Node]:
        kind = tok["type"]
        if kind in ("paragraph", "block_text"):
            return self.paragraph(tok.get("children", []))
        if kind == "heading":
            return [
                {
                    "type": "heading",
                    "attrs": {"level": tok["attrs"]["level"]},
                    "content": self.inline(tok["children"]),
                }
            ]
        if kind == "block_quote":
            content = _paragraphs_only(self.blocks(tok["children"])) or [{"type": "paragraph"}]
            return [{"type": "blockquote", "content": content}]
        if kind == "list":
            return [self.list(tok)]
        if kind == "block_code":
            code = tok.get("raw", "").rstrip("\n")
            language = (tok.get("attrs", {}).get("info") or "").split(" ")[0] or None
            node: Node = {"type": "codeBlock", "attrs": {"language": language}}
            if code:
                node["content"] = [{"type": "text", "text": code}]
            return [node]
        if kind == "thematic_break":
            return [{"type": "horizontal_rule"}]
        if kind == "claim":
            # The attribution (with the note's anchor) follows the quote as a top-level
            # paragraph: anchors inside blockquotes are not verified in Substack's editor.
            quote = self.blocks(tok["children"])
            attribution = self.inline(tok["attrs"]["attribution"])
            return [
                {"type": "blockquote", "content": quote},
                {"type": "paragraph", "content": attribution},
            ]
        if kind == "table":
            return self.table(tok)
        if kind == "block_math":
            return [
                {
                    "type": "latex_block",
                    "attrs": {"persistentExpression": tok["raw"].strip(), "dirty": True},
                }
            ]
        if kind in ("spoiler", "collapsible"):
            title = "Spoiler" if kind == "spoiler" else tok["attrs"].get("title") or "Details"
            heading = {"type": "paragraph", "content": _text(title, [{"type": "strong"}])}
            return [heading] + self.blocks(tok["children"])
        if kind in ("block_html", "block_error"):
            return [{"type": "paragraph", "content": _text(tok.get("raw", "").strip(), [])}]
        if "children" in tok:
            return self.blocks(tok["children"])
        return []

    def paragraph(self, children: Tokens) -> Nodes:
        """A paragraph; an image alone in it is a captionedImage, and one in a line of
        text stays a link (Substack has no inline image)."""
        found = [standalone_image(t) for t in children]
        if not any(found) or not all(f or blank(t) for f, t in zip(found, children, strict=True)):
            content = self.inline(children)
            return [{"type": "paragraph", "content": content}] if content else []
        return [self.captioned(*f) for f in found if f]

    def captioned(self, image: Token, href: str | None) -> Node:
        url = image["attrs"]["url"]
        title = image["attrs"].get("title")
        alt = plain_text(image.get("children", []))
        attrs = image_attrs(self.uploaded.get(url, url), alt, title, href)
        content: Nodes = [{"type": "image2", "attrs": attrs}]
        if title:
            content.append({"type": "caption", "content": _text(title, [])})
        return {"type": "captionedImage", "content": content}

    def table(self, tok: Token) -> list[Node]:
        """One paragraph per row, cells separated by " | ", header cells in bold."""
        out: list[Node] = []
        for section in tok["children"]:
            head = section["type"] == "table_head"
            rows = [section] if head else section.get("children", [])
            for row in rows:
                content: list[Node] = []
                for i, cell in enumerate(row.get("children", [])):
                    if i:
                        content += _text(" | ", [])
                    cell_marks = [{"type": "strong"}] if head else []
                    content += self.inline(cell.get("children", []), cell_marks) or _text(
                        "–", cell_marks
                    )
                if content:
                    out.append({"type": "paragraph", "content": _merge(content)})
        return out

    def list(self, tok: Token) -> Node:
        items = []
        for item in tok["children"]:
            content = self.blocks(item.get("children", []))
            if not content or content[0]["type"] != "paragraph":
                content.insert(0, {"type": "paragraph"})  # a list item starts with a paragraph
            items.append({"type": "list_item", "content": content})
        if tok["attrs"].get("ordered"):
            return {
                "type": "ordered_list",
                "attrs": {"order": tok["attrs"].get("start") or 1},
                "content": items,
            }
        return {"type": "bullet_list", "content": items}

    # the document ---------------------------------------------------------------------

    def paragraphs(self, note: Note) -> Nodes:
        """A note's text as paragraphs (all a footnote may hold): the words of anything
        else are kept as a paragraph."""
        return self.paragraphs_of(note.children)

    def footnote(self, note: Note) -> Node:
        paragraphs = self.paragraphs(note)
        for inner in self.carried.get(note.number, []):
            paragraphs += self.numbered(inner)
        return {
            "type": "footnote",
            "attrs": {"number": note.number},
            "content": paragraphs or [{"type": "paragraph"}],
        }

    def numbered(self, note: Note) -> Nodes:
        """A note written out in place: its paragraphs, the first led by its number."""
        paragraphs = self.paragraphs(note) or [{"type": "paragraph", "content": []}]
        lead = _text(str(note.number), [{"type": "superscript"}]) + _text(" ", [])
        first = paragraphs[0]
        paragraphs[0] = dict(first, content=_merge(lead + first.get("content", [])))
        return paragraphs

    def updates(self) -> Nodes:
        """The dated updates, as one blockquote at the top. Substack numbers footnotes by
        position, so an anchor up here would renumber the post: references here are
        superscript numbers, and the updates' own notes are written out at the end of
        the quote, led by their number."""
        if not self.doc.updates:
            return []
        content: Nodes = []
        for update in self.doc.updates:
            content += self.paragraphs_of(update.blocks)
        for note in self.doc.notes:
            if note.section == "update":
                content += self.numbered(note)
        return [{"type": "blockquote", "content": content}]

    def paragraphs_of(self, tokens: Tokens) -> Nodes:
        """Blocks as paragraphs (all a footnote or an update box holds), keeping their
        links, marks, math and anchors: a list or a quote is not flattened to words."""
        return _paragraphs_only(self.blocks(tokens))

    def link_post(self) -> Nodes:
        """A link post's page, first: Substack has no link posts of its own."""
        link = self.doc.post.link
        if not link:
            return []
        marks = [{"type": "link", "attrs": {"href": link}}]
        return [{"type": "paragraph", "content": _text("Link post: ", []) + _text(link, marks)}]

    def render(self) -> Node:
        content = self.link_post() + self.updates() + self.blocks(self.doc.body)
        content += [self.footnote(n) for n in self.doc.notes if n.number in self.footnotes]
        return {"type": "doc", "content": content}


def _paragraphs_only(blocks: list[Node]) -> list[Node]:
    """Blocks as the paragraphs a blockquote may hold (Substack's schema allows nothing
    else there), every inline node kept, note anchors and math included: a list item is
    its paragraphs, the first marked "• " or "n. "; display math is an inline `latex`."""
    out: list[Node] = []
    for block in blocks:
        kind = block["type"]
        if kind == "paragraph":
            out.append(block)
        elif kind == "latex_block":
            expression = block["attrs"]["persistentExpression"]
            latex = {
                "type": "latex",
                "attrs": {"expression": expression, "persistentExpression": expression},
            }
            out.append({"type": "paragraph", "content": [latex]})
        elif kind in ("bullet_list", "ordered_list"):
            number = block.get("attrs", {}).get("order", 1)
            for i, item in enumerate(block.get("content", [])):
                inner = _paragraphs_only(item.get("content", []))
                mark = f"{number + i}. " if kind == "ordered_list" else "• "
                if inner:
                    inner[0] = dict(
                        inner[0], content=_merge(_text(mark, []) + inner[0].get("content", []))
                    )
                out += inner
        elif kind in ("heading", "codeBlock") and block.get("content"):
            out.append({"type": "paragraph", "content": block["content"]})
        elif kind == "captionedImage":
            out.append(_image_link(block))
        elif kind == "blockquote" or block.get("content"):
            out += _paragraphs_only(block.get("content", []))
    return [p for p in out if p.get("content")]


def _image_link(node: Node) -> Node:
    """A captionedImage as a paragraph holding a link to the image, for the blocks that
    may hold only paragraphs."""
    attrs = node["content"][0]["attrs"]
    label = attrs.get("alt") or attrs.get("title") or attrs["src"]
    link = {"type": "link", "attrs": {"href": attrs["src"]}}
    return {"type": "paragraph", "content": _text(label, [link])}


def _merge(nodes: list[Node]) -> list[Node]:
    """Join neighbouring text nodes with the same marks (what the editor itself stores)."""
    out: list[Node] = []
    for node in nodes:
        last = out[-1] if out else None
        if (
            last
            and node["type"] == "text"
            and last["type"] == "text"
            and last.get("marks") == node.get("marks")
        ):
            out[-1] = dict(last, text=last["text"] + node["text"])
        else:
            out.append(node)
    return out


def render(doc: Document, uploaded: dict[str, str] | None = None) -> Node:
    """`uploaded`: an image's URL in the document -> its copy on Substack."""
    return ProseMirror(doc, uploaded).render()


def draft_request(doc: Document, byline: int | None) -> dict:
    return draft_body(doc.post.title, doc.post.subtitle, render(doc), byline)


def draft_body(title: str, subtitle: str | None, prosemirror: Node, byline: int | None) -> dict:
    """The exact body of `POST /api/v1/drafts` (and, without `type`, of `PUT`):
    `draft_body` is the ProseMirror doc as a JSON string, as the API wants."""
    body: dict[str, Any] = {
        "draft_title": title,
        "draft_subtitle": subtitle or "",
        "draft_body": json.dumps(prosemirror, ensure_ascii=False, separators=(",", ":")),
        "audience": "everyone",
        "type": "newsletter",
    }
    if byline is not None:
        body["draft_bylines"] = [{"id": byline, "is_guest": False}]
    return body
