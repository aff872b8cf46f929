"""LessWrong: the document as the Markdown LessWrong's server renders.

LessWrong converts Markdown with markdown-it (linkify on, raw HTML escaped) plus footnote,
sub/superscript, spoiler, collapsible-section and MathJax plugins. So notes are written as
`[^n]` references with `[^n]: ...` definitions, numbered as on the site (an inline
`^[note]` among them), and text is escaped for those extra syntaxes too: `$` (math), `^`
and `~` (super/subscript), besides CommonMark's own. What the writer wrote in those
syntaxes (`$…$`, `$$…$$`, `^sup^`, `~sub~`, `>!` spoilers, `+++ Title` sections) goes
back out as written, for LessWrong's editor to read the same way.
"""

from __future__ import annotations

import re
from textwrap import indent
from typing import Any

from mistune.core import BlockState
from mistune.renderers.markdown import MarkdownRenderer

from ..document import Document
from ..markdown import Token

# CommonMark's inline markers, plus LessWrong's extras: $ math, ^ superscript, ~ subscript.
# `!` and `&` only matter before `[` (an image) and in an entity (`&amp;`).
_ESCAPE = re.compile(r"([\\`*_\[\]<$^~|]|!(?=\[)|&(?=#?\w+;))")


class LessWrongMarkdown(MarkdownRenderer):
    """mistune's Markdown renderer, plus note references, claims and notes."""

    def text(self, token: Token, state: BlockState) -> str:
        # `+++` opens a collapsible section on LessWrong: a run of them in text is escaped.
        return _ESCAPE.sub(r"\\\1", token["raw"]).replace("+++", "\\+++")

    def inline_html(self, token: Token, state: BlockState) -> str:
        return self.text(token, state)  # raw HTML was escaped on the site too

    def block_html(self, token: Token, state: BlockState) -> str:
        return self.text({"raw": token["raw"].strip()}, state) + "\n\n"

    def note_ref(self, token: Token, state: BlockState) -> str:
        if state.env.get("plain_refs"):
            return f"\\[{token['attrs']['number']}\\]"
        return f"[^{token['attrs']['number']}]"

    def link(self, token: Token, state: BlockState) -> str:
        text = self.render_children(token, state)
        url = token["attrs"]["url"].replace("(", "%28").replace(")", "%29").replace(" ", "%20")
        title = token["attrs"].get("title")
        if title:  # an image's caption on the site: kept, as CommonMark writes it
            escaped = title.replace("\\", "\\\\").replace('"', '\\"')
            return f'[{text}]({url} "{escaped}")'
        return f"[{text}]({url})"

    def claim(self, token: Token, state: BlockState) -> str:
        quote = self.render_tokens(token["children"], state).rstrip("\n")
        attribution = self.render_tokens(token["attrs"]["attribution"], state)
        return indent(quote + "\n\n" + attribution, "> ", lambda _: True) + "\n\n"

    def inline_math(self, token: Token, state: BlockState) -> str:
        marks = "$$" if token.get("attrs", {}).get("display") else "$"
        return marks + token["raw"] + marks

    def block_math(self, token: Token, state: BlockState) -> str:
        # `raw` is all between the two `$$`, line breaks included: written back as it
        # was, LessWrong reads the block where the writer's source had it.
        return "$$" + token["raw"] + "$$\n\n"

    def superscript(self, token: Token, state: BlockState) -> str:
        # Inside `^…^` a space must be escaped, or the marks are read as text.
        return "^" + self.render_children(token, state).replace(" ", "\\ ") + "^"

    def subscript(self, token: Token, state: BlockState) -> str:
        return "~" + self.render_children(token, state).replace(" ", "\\ ") + "~"

    def spoiler(self, token: Token, state: BlockState) -> str:
        text = self.render_children(token, state).rstrip("\n")
        lines = [(">! " + line) if line.strip() else ">!" for line in text.split("\n")]
        return "\n".join(lines) + "\n\n"

    def collapsible(self, token: Token, state: BlockState) -> str:
        title = " ".join((token["attrs"].get("title") or "Details").split())
        inner = self.render_children(token, state).rstrip("\n")
        return f"+++ {title}\n{inner}\n+++\n\n"

    def strikethrough(self, token: Token, state: BlockState) -> str:
        return "~~" + self.render_children(token, state) + "~~"

    # GFM tables (mistune's Markdown renderer has none).
    def table(self, token: Token, state: BlockState) -> str:
        rows: list[list[str]] = []
        for section in token["children"]:
            for row in section["children"] if section["type"] == "table_body" else [section]:
                rows.append(
                    [
                        self.render_children(cell, state).replace("\n", " ")
                        for cell in row["children"]
                    ]
                )
        if not rows:
            return ""
        width = len(rows[0])
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * width]
        lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        return "\n".join(lines) + "\n\n"

    def updates(self, doc: Document, state: BlockState) -> str:
        """The dated updates, as a quote at the top. markdown-it numbers footnotes by
        first reference, so a `[^n]` up here would take number 1 and renumber the post:
        references here are the plain `\\[n\\]` LessWrong shows for a note, and the
        updates' own notes are written out below them, led by their number."""
        if not doc.updates:
            return ""
        state.env["plain_refs"] = True
        parts = [self.render_tokens(u.blocks, state).strip("\n") for u in doc.updates]
        for note in doc.notes:
            if note.section == "update":
                body = self.render_tokens(note.children, state).strip("\n")
                parts.append(f"\\[{note.number}\\] {body}")
        state.env["plain_refs"] = False
        return indent("\n\n".join(parts), "> ", lambda _: True) + "\n\n"

    def notes(self, doc: Document, state: BlockState) -> str:
        out = []
        for note in doc.notes:
            if note.section != "body":
                continue  # written out with the updates
            body = self.render_tokens(note.children, state).strip("\n")
            first, _, rest = body.partition("\n")
            text = f"[^{note.number}]: {first}"
            if rest:
                text += "\n" + indent(rest, "    ", lambda line: bool(line.strip()))
            out.append(text)
        return "\n\n".join(out) + "\n" if out else ""


def render(doc: Document) -> str:
    renderer = LessWrongMarkdown()
    state = BlockState()
    state.env["ref_links"] = {}
    body = renderer.updates(doc, state)
    if doc.post.link and doc.post.kind == "shortform":
        # A quick take cannot be a link post (a post sends `url`: see request_for).
        body = f"Link post: <{doc.post.link}>\n\n" + body
    body += renderer.render_tokens(doc.body, state).rstrip("\n") + "\n"
    notes = renderer.notes(doc, state)
    return body + ("\n" + notes if notes else "")


CREATE_POST = (
    "mutation CreateDraft($data: CreatePostDataInput!) { createPost(data: $data) { data { "
    "_id slug title draft pageUrl modifiedAt contents { _id version hasFootnotes markdown "
    "} } } }"
)
UPDATE_POST = (
    "mutation UpdateDraft($id: String!, $data: UpdatePostDataInput!) { "
    "updatePost(selector: {_id: $id}, data: $data) { data { _id slug title draft pageUrl "
    "modifiedAt contents { _id version hasFootnotes markdown } } } }"
)
CREATE_QUICK_TAKE = (
    "mutation CreateQuickTake($data: CreateCommentDataInput!) { createComment(data: $data) "
    "{ data { _id postId shortform draft pageUrl contents { _id version hasFootnotes "
    "markdown } } } }"
)
UPDATE_QUICK_TAKE = (
    "mutation UpdateQuickTake($id: String!, $data: UpdateCommentDataInput!) { "
    "updateComment(selector: {_id: $id}, data: $data) { data { _id postId shortform draft "
    "pageUrl contents { _id version hasFootnotes markdown } } } }"
)


def contents(markdown: str) -> dict[str, Any]:
    return {"originalContents": {"type": "markdown", "data": markdown}}


def request(
    doc: Document,
    remote_id: str | None = None,
    feed_id: str | None = None,
    parent: tuple[str, str] | None = None,
) -> dict:
    post = doc.post
    return request_for(post.kind, post.title, render(doc), remote_id, feed_id, parent, post.link)


def request_for(
    kind: str,
    title: str,
    markdown: str,
    remote_id: str | None = None,
    feed_id: str | None = None,
    parent: tuple[str, str] | None = None,
    link: str | None = None,
) -> dict:
    """The exact GraphQL request `toolkit publish` sends next for a post: a create (always
    `draft: true`: leaving it out publishes) or an update of the draft `remote_id` (which
    never sends `draft`, so it stays a draft). Shortform becomes a quick take, or, with
    `parent` (the thread's post id and the comment answered), a reply in that thread."""
    if kind == "shortform" and parent and not remote_id:
        return {
            "operationName": "CreateQuickTake",
            "query": CREATE_QUICK_TAKE,
            "variables": {
                "data": {
                    "postId": parent[0],
                    "parentCommentId": parent[1],
                    "draft": True,
                    "contents": contents(markdown),
                }
            },
        }
    if kind == "shortform":
        if remote_id:
            return {
                "operationName": "UpdateQuickTake",
                "query": UPDATE_QUICK_TAKE,
                "variables": {"id": remote_id, "data": {"contents": contents(markdown)}},
            }
        data: dict[str, Any] = {
            "shortform": True,
            "shortformFrontpage": True,
            "draft": True,
            "contents": contents(markdown),
        }
        if feed_id:
            data["postId"] = feed_id
        return {
            "operationName": "CreateQuickTake",
            "query": CREATE_QUICK_TAKE,
            "variables": {"data": data},
        }
    # A link post: the forum shows its page above the text. (A quick take has no `url`:
    # `render` writes its link into the text.)
    linked = {"url": link, "postCategory": "linkpost"} if link else {}
    if remote_id:
        return {
            "operationName": "UpdateDraft",
            "query": UPDATE_POST,
            "variables": {
                "id": remote_id,
                "data": {"title": title, "contents": contents(markdown), **linked},
            },
        }
    return {
        "operationName": "CreateDraft",
        "query": CREATE_POST,
        "variables": {
            "data": {"title": title, "draft": True, "contents": contents(markdown), **linked}
        },
    }
