"""The document: one post, parsed once and resolved, ready for any renderer.

A `Document` is what every output (HTML page, feeds, Substack, LessWrong) is rendered
from, so they all show the same notes with the same numbers.

Shape
-----
`Document.body` is a list of mistune block tokens (dicts: `type`, and `children` or
`raw`, and `attrs`) in which our own syntaxes have been resolved:

- `{"type": "note_ref", "attrs": {"number": n, "occurrence": k}}` (inline) replaces every
  `[^label]` and `[@id]`. `number` indexes `Document.notes` (1-based); `occurrence` is 1
  for the first reference to that note, 2 for the second, and so on.
- `{"type": "claim", "children": [paragraph...], "attrs": {"snippet": id, "number": n,
  "attribution": [inline tokens]}}` (block) is a `{claim}` quote; `number` is its note.
- `{"type": "link", "attrs": {"url", "title"?, "archive"?, "archive_date"?, "role"?}}`:
  a link with an archived copy carries `archive` (snapshot URL) and `archive_date`
  (ISO 8601, may be None); the visible link to the copy follows it as its own link token
  with `role: "archive"` and `original`.
- `{"type": "image", "attrs": {"url", "title"?, "media"?}}`: a local image that names a
  file carries `media`, the percent-encoded path of its copy under the site's root
  (`media/<digest>-<name>`), and `url` becomes that copy's absolute URL under base_url.

`Document.notes` lists every note, numbered 1..n by first reference: first the body's
references in order, then references inside notes' texts, in the order of the notes
holding them (a note's `parent` names the note that first referenced it). A note's
`children` are block tokens: an author footnote's own text, or, for a citation, a
paragraph naming the source (company, linked title, date, locator, linked archived
copy; a source cited before in the post gets the short form: company, short title,
locator). Citations inside an author footnote's sentences are written there in
brackets, `(Company, “Title”, date, archived DATE)`, never as a note of their own.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from . import media, urls
from .markdown import FootnoteDef, Parsed, Token, plain_text, update_parses
from .markdown import parse as parse_markdown
from .model import CompanyDocument, LocalImage, Post, Project, Snippet

if TYPE_CHECKING:
    from .neighbours import Neighbours

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass
class Note:
    number: int
    kind: str  # "footnote" | "citation"
    children: list[Token]
    label: str | None = None  # the author's footnote label
    snippets: tuple[str, ...] = ()  # cited snippet ids, for citations and claims
    refs: int = 0  # how many references point at this note
    # The note whose text first referenced this one (a note inside a note), or None.
    parent: int | None = None
    # "body", or "update" for notes first referenced from an update (numbered after all
    # of the body's, so adding an update never renumbers).
    section: str = "body"
    # Snippets this note cites again, in the short form (the first citation was full).
    repeats: tuple[str, ...] = ()


@dataclass
class UpdateBlock:
    """A dated update, resolved: block tokens whose first paragraph opens with
    "Update, 3 March 2025:" in bold. Its notes have `section == "update"`."""

    date: dt.date
    blocks: list[Token]


@dataclass
class Document:
    post: Post
    body: list[Token]
    notes: list[Note]
    claims: list[str]  # snippets the post relies on: cited (in order), then listed-only
    path: str  # URL path of the post's page relative to the site root, e.g. "posts/x/"
    summary: str = ""
    extra: dict = field(default_factory=dict)
    updates: list[UpdateBlock] = field(default_factory=list)  # oldest first
    documents: list[str] = field(default_factory=list)  # ids cited whole, `[@doc-id]`
    # The posts shown before and after it (its page links to them); None: not on a page.
    neighbours: Neighbours | None = None


class _Placed(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def slug(self) -> str: ...


def page_path(post: _Placed) -> str:
    return f"{'shortform' if post.kind == 'shortform' else 'posts'}/{post.slug}/"


def human_date(value: dt.date | None) -> str:
    if value is None:
        return ""
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def text(raw: str) -> Token:
    return {"type": "text", "raw": raw}


def link_attrs(url: str, archive: str | None, wayback: str) -> dict:
    attrs: dict = {"url": url}
    if archive:
        snap = urls.try_snapshot(archive, wayback)
        attrs["archive"] = archive
        attrs["archive_date"] = snap.date_iso if snap else None
    return attrs


def archive_link(original: str, archive: str, date_iso: str | None, label: str) -> Token:
    return {
        "type": "link",
        "children": [text(label)],
        "attrs": {
            "url": archive,
            "role": "archive",
            "original": original,
            "archive_date": date_iso,
        },
    }


def short_title(title: str) -> str:
    """A title's first words, as a short note names it (Chicago's short title): up to the
    first colon, comma or bracket, and at most four words."""
    head = re.split(r"[:;,(\[—–]| - ", title, maxsplit=1)[0].strip() or title
    words = head.split()
    return " ".join(words[:4]) if len(words) > 4 else head


def citation_tokens(
    snippet: Snippet | None,
    snippet_id: str,
    locator: str | None,
    project: Project,
    short: bool = False,
    inline: bool = False,
) -> list[Token]:
    """Inline tokens naming one cited source: company, linked title, date, copy. `short`
    (a source cited before in the post) gives company, short title and locator only.
    `inline` (inside a sentence of a note, in brackets) writes the copy as `, archived
    DATE` so that brackets never nest."""
    if snippet is None:
        doc = project.documents.get(snippet_id)
        if doc is None:
            return [text(f"[unknown snippet: {snippet_id}]")]
        return document_tokens(doc, locator, project, short, inline)
    return _source_tokens(
        snippet.lab,
        snippet.source_url,
        snippet.source_title or snippet.title,
        snippet.published,
        locator or snippet.locator,
        snippet.archive,
        project,
        short,
        inline,
    )


def document_tokens(
    doc: CompanyDocument,
    locator: str | None,
    project: Project,
    short: bool = False,
    inline: bool = False,
) -> list[Token]:
    """Inline tokens naming a company document, cited whole (`[@doc-id]`)."""
    return _source_tokens(
        doc.lab, doc.url, doc.title, doc.published, locator, doc.archive, project, short, inline
    )


def _source_tokens(
    lab_key: str | None,
    url: str | None,
    title: str,
    published: dt.date | None,
    locator: str | None,
    archive: str | None,
    project: Project,
    short: bool,
    inline: bool,
) -> list[Token]:
    company = project.company(lab_key)
    if short:
        title = short_title(title)
    wayback = project.config.wayback_url
    out: list[Token] = [text(f"{company}, " if company else "")]
    if url:
        attrs = link_attrs(url, archive, wayback)
        attrs["archive_shown"] = not short  # the copy is linked explicitly just below
        out += [text("“"), {"type": "link", "children": [text(title)], "attrs": attrs}, text("”")]
    else:
        out.append(text(f"“{title}”"))
    if published and not short:
        out.append(text(f", {human_date(published)}"))
    if locator:
        out.append(text(f", {locator}"))
    if archive and url and not short:
        snap = urls.try_snapshot(archive, wayback)
        when = f" {human_date(snap.time.date())}" if snap and snap.time else ""
        copy = archive_link(url, archive, snap.date_iso if snap else None, "archived")
        if inline:
            out += [text(", "), copy, text(when)]
        else:
            out += [text(" ("), copy, text(f"{when})")]
    return [t for t in out if t.get("raw") != ""]


def citation_paragraph(
    items: list[dict], project: Project, repeats: frozenset[str] = frozenset()
) -> list[Token]:
    """A note's paragraph naming the cited sources (`repeats`: ids cited before in the
    post, named in the short form). Tokens are never mutated once made, so the same
    paragraph is shared by every citation of the same sources."""
    return _memo(items, project, repeats, inline=False)


def inline_citation(
    items: list[dict], project: Project, repeats: frozenset[str] = frozenset()
) -> list[Token]:
    """A citation inside a note's sentence: the sources in brackets, `(Company, “Title”,
    date, archived DATE)`, with no full stop of its own."""
    return _memo(items, project, repeats, inline=True)


def _memo(items: list[dict], project: Project, repeats: frozenset[str], inline: bool) -> list:
    memo = project.derived.citations
    key = (
        tuple((i["id"], i.get("locator"), i["id"] in repeats) for i in items),
        inline,
    )
    if key not in memo:
        memo[key] = _citation_paragraph(items, project, repeats, inline)
    return memo[key]


def _citation_paragraph(
    items: list[dict], project: Project, repeats: frozenset[str], inline: bool
) -> list[Token]:
    children: list[Token] = []
    seen: set[tuple] = set()
    for item in items:
        snippet = project.snippets.get(item["id"])
        doc = project.documents.get(item["id"]) if snippet is None else None
        # Two snippets from the same document, cited together, name it once.
        url = snippet.source_url if snippet else (doc.url if doc else None)
        source = (url or item["id"], item.get("locator"))
        if source in seen:
            continue
        if seen:
            children.append(text("; "))
        seen.add(source)
        children += citation_tokens(
            snippet,
            item["id"],
            item.get("locator"),
            project,
            short=item["id"] in repeats,
            inline=inline,
        )
    if inline:
        return [text("(")] + children + [text(")")]
    children.append(text("."))
    return [{"type": "paragraph", "children": children}]


def _quote_paragraphs(quote: str) -> list[Token]:
    paragraphs = [p.strip() for p in quote.strip().split("\n\n") if p.strip()]
    return [{"type": "paragraph", "children": [text(" ".join(p.split()))]} for p in paragraphs]


class _Resolver:
    """Resolves parsed tokens into the document's. It never changes the tokens it is
    given (the parse may be cached or shared); changed tokens are new dicts.

    Numbering: references in the text are numbered as they come; a reference inside a
    note's text waits (`pending`) until the text is done, and `drain` then numbers those
    in the order of the notes holding them. That is the order markdown-it (LessWrong)
    numbers a Markdown document whose notes follow its text, so every target agrees."""

    def __init__(self, definitions: list[FootnoteDef], project: Project):
        self.project = project
        self.wayback = project.config.wayback_url
        self.own_host = urls.host(project.config.base_url)
        self.archives = project.archive_index()
        self.defs: dict[str, FootnoteDef] = {}
        for d in definitions:
            self.defs.setdefault(d.key, d)  # the first definition wins, as in mistune
        self.notes: list[Note] = []
        self.by_label: dict[str, Note] = {}
        self.cited: list[str] = []
        self.section = "body"
        self.images: dict[str, LocalImage] = {}  # the post's local images, by URL
        # (the reference token to fill in, its definition, the note holding it)
        self.pending: list[tuple[Token, FootnoteDef, Note | None]] = []
        self.holder: Note | None = None  # the note whose text is being resolved

    def new_note(self, kind: str, children: list[Token], **kw) -> Note:
        note = Note(len(self.notes) + 1, kind, children, section=self.section, **kw)
        self.notes.append(note)
        return note

    def ref(self, note: Note) -> Token:
        note.refs += 1
        return {"type": "note_ref", "attrs": {"number": note.number, "occurrence": note.refs}}

    def cite(self, ids: list[str]) -> frozenset[str]:
        """Record the ids as cited; return those cited before (to be named short)."""
        repeats = frozenset(i for i in ids if i in self.cited and i in self.project.snippets)
        for snippet_id in ids:
            if snippet_id not in self.cited:
                self.cited.append(snippet_id)
        return repeats

    def blocks(self, tokens: list[Token], in_note: bool = False) -> list[Token]:
        out = []
        for tok in tokens:
            if tok["type"] == "claim":
                out.append(self.claim(tok, in_note))
                continue
            tok = dict(tok)
            if "children" in tok:
                tok["children"] = self.children(tok, in_note)
            out.append(tok)
        return out

    def children(self, tok: Token, in_note: bool) -> list[Token]:
        kids = tok["children"]
        if kids and kids[0].get("type") in _BLOCK_TYPES:
            return self.blocks(kids, in_note)
        return self.inline(kids, in_note)

    def inline(self, tokens: list[Token], in_note: bool) -> list[Token]:
        out: list[Token] = []
        space_after = False  # a bracketed citation was just written: keep it off the next word
        if not in_note:
            tokens = _notes_after_punctuation(tokens)
        for tok in tokens:
            kind = tok["type"]
            if space_after:
                space_after = False
                if kind != "softbreak" and not (
                    kind == "text" and tok["raw"][:1] in _NO_SPACE_BEFORE
                ):
                    out.append(text(" "))
            if kind == "footnote_ref":
                out.append(self.footnote_ref(tok, in_note))
            elif kind == "citation":
                items = tok["attrs"]["items"]
                repeats = self.cite([i["id"] for i in items])
                if in_note and _alone(tokens, tok):
                    # A note that is only a citation names its sources as a sentence.
                    return list(citation_paragraph(items, self.project, repeats)[0]["children"])
                elif in_note:
                    # Inside a sentence: `(Company, “Title”, date, archived)`, a space on
                    # either side, the sentence's own punctuation kept where it was.
                    if out and not _ends_open(out[-1]):
                        out.append(text(" "))
                    out += inline_citation(items, self.project, repeats)
                    space_after = True
                else:
                    note = self.new_note(
                        "citation",
                        citation_paragraph(items, self.project, repeats),
                        snippets=tuple(i["id"] for i in items),
                        repeats=tuple(sorted(repeats)),
                    )
                    _strip_trailing_space(out)
                    out.append(self.ref(note))
            elif kind == "link":
                out += self.link(tok, in_note)
            elif kind == "image":
                out.append(self.image(tok))
            else:
                if "children" in tok:
                    tok = dict(tok, children=self.inline(tok["children"], in_note))
                out.append(tok)
        return [t for t in out if not (t["type"] == "text" and t.get("raw") == "")]

    def footnote_ref(self, tok: Token, in_note: bool) -> Token:
        key = tok["attrs"]["key"]
        definition = self.defs.get(key)
        if definition is None:
            return text(tok["raw"])  # undefined (reported by check): keep as written
        if in_note:
            # Numbered once the text holding it is done (see the class's doc).
            placeholder: Token = {"type": "note_ref", "attrs": {"number": 0, "occurrence": 0}}
            self.pending.append((placeholder, definition, self.holder))
            return placeholder
        return self.ref(self.footnote(definition, None))

    def footnote(self, definition: FootnoteDef, parent: Note | None) -> Note:
        note = self.by_label.get(definition.key)
        if note is None:
            note = self.new_note(
                "footnote",
                [],
                label=definition.label,
                parent=parent.number if parent else None,
            )
            self.by_label[definition.key] = note
            # Resolve the note's own text now, so its citations come in reading order.
            holder, self.holder = self.holder, note
            note.children = self.blocks(definition.children, in_note=True)
            self.holder = holder
        return note

    def drain(self) -> None:
        """Number the references made inside notes, in the order of the notes holding
        them; a note they bring in may hold more, which follow."""
        while self.pending:
            placeholder, definition, holder = self.pending.pop(0)
            note = self.footnote(definition, holder)
            placeholder["attrs"] = self.ref(note)["attrs"]

    def link(self, tok: Token, in_note: bool) -> list[Token]:
        tok = dict(
            tok,
            children=self.inline(tok.get("children", []), in_note),
            attrs=dict(tok.get("attrs", {})),
        )
        url = tok["attrs"].get("url", "")
        if urls.scheme(url) not in ("http", "https") or urls.host(url) == self.own_host:
            return [tok]
        entry = self.archives.get(url)
        if entry is None or not entry.archive:
            return [tok]
        attrs = link_attrs(url, entry.archive, self.wayback)
        tok["attrs"].update(attrs)
        return [
            tok,
            text(" ("),
            archive_link(url, entry.archive, attrs.get("archive_date"), "archived"),
            text(")"),
        ]

    def image(self, tok: Token) -> Token:
        """A local image points at its copy on the site: `media` is its path under the
        site's root, `url` the absolute URL (what feeds and the forums get)."""
        image = self.images.get(tok["attrs"].get("url", ""))
        if image is None or image.digest is None:
            return tok
        path = media.url_path(image)
        attrs = dict(tok["attrs"], url=self.project.config.site_url + path, media=path)
        return dict(tok, attrs=attrs)

    def claim(self, tok: Token, in_note: bool) -> Token:
        snippet_id = tok["attrs"]["id"]
        snippet = self.project.snippets.get(snippet_id)
        repeats = self.cite([snippet_id])
        if snippet is None or not snippet.quote:
            why = "unknown snippet" if snippet is None else "snippet has no quote"
            return {"type": "paragraph", "children": [text(f"[{why}: {snippet_id}]")]}
        attribution: list[Token] = [text("— " + self.project.company(snippet.lab))]
        if in_note:
            attribution += [text(": ")] + citation_paragraph(
                [{"id": snippet_id}], self.project, repeats
            )[0]["children"]
            number = None
        else:
            title = snippet.source_title or snippet.title
            attribution.append(text(f", “{title}”"))
            note = self.new_note(
                "citation",
                citation_paragraph([{"id": snippet_id}], self.project, repeats),
                snippets=(snippet_id,),
                repeats=tuple(repeats),
            )
            attribution.append(self.ref(note))
            number = note.number
        return {
            "type": "claim",
            "children": _quote_paragraphs(snippet.quote),
            "attrs": {"snippet": snippet_id, "number": number, "attribution": attribution},
        }


# No space between a bracketed citation and what follows it when that is punctuation.
_NO_SPACE_BEFORE = frozenset(" \t\n.,;:!?)]}”’\"'…—–")


def _ends_open(tok: Token) -> bool:
    """Whether a citation may follow `tok` with no space: after a space or an opening
    bracket or quote."""
    if tok["type"] == "softbreak":
        return True
    return tok["type"] == "text" and (tok["raw"][-1:].isspace() or tok["raw"][-1:] in "([{“‘")


def _alone(tokens: list[Token], tok: Token) -> bool:
    """Whether `tok` is all the line holds (but spaces and a full stop)."""
    return all(
        t is tok
        or (t["type"] == "text" and t["raw"].strip(" \t\n.") == "")
        or t["type"] == "softbreak"
        for t in tokens
    )


def _strip_trailing_space(out: list[Token]) -> None:
    """`text [@id]` puts the note number right after the word, as footnotes are set
    (also when the citation starts a new source line)."""
    while out and out[-1]["type"] in ("softbreak", "text"):
        if out[-1]["type"] == "softbreak":
            out.pop()
            continue
        stripped = out[-1]["raw"].rstrip(" \t\n")
        if stripped:
            out[-1] = dict(out[-1], raw=stripped)
            return
        out.pop()


_PUNCTUATION = (".", ",", ";", ":", "!", "?")


def _notes_after_punctuation(tokens: list[Token]) -> list[Token]:
    """`abilities [@x], so` reads as `abilities,¹ so`: a citation moves after the
    punctuation that follows it (pandoc's notes-after-punctuation)."""
    if not any(t["type"] == "citation" for t in tokens):
        return tokens
    out: list[Token] = []
    pending = list(tokens)
    while pending:
        tok = pending.pop(0)
        nxt = pending[0] if pending else None
        if (
            tok["type"] == "citation"
            and nxt is not None
            and nxt["type"] == "text"
            and nxt["raw"].startswith(_PUNCTUATION)
        ):
            _strip_trailing_space(out)
            out.append(dict(nxt, raw=nxt["raw"][0]))
            pending[0] = dict(nxt, raw=nxt["raw"][1:])
        out.append(tok)
    return [t for t in out if not (t["type"] == "text" and t.get("raw") == "")]


_BLOCK_TYPES = frozenset(
    {
        "paragraph",
        "heading",
        "block_quote",
        "list",
        "list_item",
        "block_text",
        "block_code",
        "thematic_break",
        "block_html",
        "claim",
        "table",
        "table_head",
        "table_body",
        "table_row",
        "table_cell",
        "block_error",
        "block_math",
        "spoiler",
        "collapsible",
    }
)


def summarize(post: Post, tokens: list[Token], limit: int = 280) -> str:
    """The front matter's summary, else the first paragraph's words (from the parsed
    tokens, before notes and archive links are added), cut at a word near `limit`."""
    if post.summary:
        return post.summary
    for tok in tokens:
        if tok["type"] == "paragraph":
            summary = re.sub(r"\s+([.,;:!?])", r"\1", " ".join(plain_text([tok]).split()))
            if len(summary) > limit:
                summary = summary[:limit].rsplit(" ", 1)[0] + "…"
            return summary
    return ""


def parse_post(post: Post) -> Parsed:
    """The post's body and its updates, parsed once for every check and renderer."""
    return parse_markdown(post.body, [u.text for u in post.updates])


def build(
    post: Post, parsed: Parsed, project: Project, neighbours: Neighbours | None = None
) -> Document:
    """Resolve a parsed post against the project's snippets, labs and archives; with
    `neighbours`, the posts its page links to."""
    resolver = _Resolver(parsed.definitions, project)
    resolver.images = media.images_of(project.root, post, parsed)
    body = resolver.blocks(parsed.tokens)
    resolver.drain()
    # Updates come after the body in the numbering (oldest first), so adding one never
    # renumbers a note; they are shown at the top of the post.
    resolver.section = "update"
    updates = []
    for update, update_parse in update_parses(post.updates, parsed):
        for d in update_parse.definitions:
            resolver.defs.setdefault(d.key, d)
        blocks = resolver.blocks(update_parse.tokens)
        resolver.drain()
        updates.append(UpdateBlock(update.date, _labelled(update.date, blocks)))
    claims = [c for c in resolver.cited if c in project.snippets]
    claims += [c for c in post.claims if c in project.snippets and c not in claims]
    return Document(
        post=post,
        body=body,
        notes=resolver.notes,
        claims=claims,
        path=page_path(post),
        summary=summarize(post, parsed.tokens),
        updates=updates,
        documents=[c for c in resolver.cited if c in project.documents],
        neighbours=neighbours,
    )


def _labelled(date: dt.date, blocks: list[Token]) -> list[Token]:
    label: list[Token] = [
        {"type": "strong", "children": [text(f"Update, {human_date(date)}:")]},
        text(" "),
    ]
    if blocks and blocks[0]["type"] == "paragraph":
        return [dict(blocks[0], children=label + blocks[0]["children"])] + blocks[1:]
    return [{"type": "paragraph", "children": label[:1]}] + blocks


def build_fragment(
    tokens: list[Token], project: Project, images: dict[str, LocalImage] | None = None
) -> list[Token]:
    """Resolve Markdown that is not a post (a snippet's commentary): citations are written
    out inline and nothing becomes a note; local `images` point at their copies."""
    resolver = _Resolver([], project)
    resolver.images = images or {}
    return resolver.blocks(tokens, in_note=True)
