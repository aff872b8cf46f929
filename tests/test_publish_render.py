"""The Substack and LessWrong renderings: same notes, same numbers, as the site."""

from __future__ import annotations

import json
import re

import pytest
from conftest import REPO, SHARED, post
from graphql import build_schema, parse, validate
from lxml import html as lxml_html
from markdown_it import MarkdownIt
from mdit_py_plugins.footnote import footnote_plugin
from servers.lesswrong import SCHEMA_SDL
from servers.substack import validate_prosemirror

from toolkit import pipeline
from toolkit.publish import lesswrong as lwclient
from toolkit.render import html as htmlrender
from toolkit.render import lesswrong, substack


def documents():
    checked = pipeline.run(REPO)
    return [checked.document(p) for p in checked.project.posts]


POSTS = {  # slug -> number of notes, as the files in posts/ have them
    "o3-mini-post-mitigation-evals": 2,
    "paris-frameworks-compared": 17,
    "preparedness-page-redirects": 3,
    "weight-security-notes": 4,
}


def test_the_parametrized_documents_are_the_repositorys_posts():
    """The tests parametrized over `documents()` would pass vacuously on an empty list."""
    docs = documents()
    assert docs, "documents() found no posts"
    assert {d.post.slug: len(d.notes) for d in docs} == POSTS
    assert sorted(p.stem for p in (REPO / "posts").glob("*.md")) == sorted(POSTS)


def site_notes(doc) -> list[str]:
    """Each note's words as the site shows them (the HTML renderer, parsed)."""
    page = lxml_html.fromstring(htmlrender.render(doc, "https://example.org/").full())
    return [
        " ".join(li.text_content().replace("↩", "").split())
        for li in page.xpath("//section[@class='notes']/ol/li")
    ]


def words(text: str) -> str:
    return " ".join(text.replace("\u21a9\ufe0e", "").replace("\u21a9", "").split())


@pytest.mark.parametrize("doc", documents(), ids=lambda d: d.post.slug)
def test_substack_document_uses_only_known_nodes_and_numbers_notes_like_the_site(doc):
    prosemirror = substack.render(doc)
    assert validate_prosemirror(prosemirror) == []
    anchors = [n["attrs"]["number"] for n in _walk(prosemirror) if n["type"] == "footnoteAnchor"]
    blocks = [n for n in prosemirror["content"] if n["type"] == "footnote"]
    assert anchors == [n.number for n in doc.notes] == [b["attrs"]["number"] for b in blocks]
    first = len(prosemirror["content"]) - len(blocks)
    assert prosemirror["content"][first:] == blocks  # all at the end, in order
    assert [words(_text(b)) for b in blocks] == site_notes(doc)


@pytest.mark.parametrize("doc", documents(), ids=lambda d: d.post.slug)
def test_lesswrong_markdown_renders_with_the_same_footnotes_as_the_site(doc):
    markdown = lesswrong.render(doc)
    md = MarkdownIt("commonmark").use(footnote_plugin).enable("table")
    rendered = lxml_html.fromstring(f"<div>{md.render(markdown)}</div>")
    refs = [a.text_content() for a in rendered.xpath("//sup[@class='footnote-ref']/a")]
    assert refs == [f"[{n.number}]" for n in doc.notes]
    items = rendered.xpath("//section[@class='footnotes']/ol/li")
    assert [words(li.text_content()) for li in items] == site_notes(doc)
    # Nothing of ours leaks through as literal syntax.
    text = rendered.text_content()
    assert "[@" not in text and "{claim}" not in text and "[^" not in text


def test_claim_quote_is_a_blockquote_with_its_attribution_in_both():
    (doc,) = [d for d in documents() if d.post.slug == "paris-frameworks-compared"]
    markdown = lesswrong.render(doc)
    assert "> We intend to choose the benchmarks" in markdown
    assert re.search(
        r"^> — xAI, “xAI Risk Management Framework \(Draft\)”\[\^\d+\]$", markdown, re.M
    )
    prosemirror = substack.render(doc)
    quote_at = next(i for i, n in enumerate(prosemirror["content"]) if n["type"] == "blockquote")
    attribution = prosemirror["content"][quote_at + 1]
    assert _text(attribution).startswith("— xAI, “xAI Risk Management Framework (Draft)”")
    assert any(n["type"] == "footnoteAnchor" for n in attribution["content"])


def test_text_that_looks_like_syntax_stays_text_on_lesswrong(project):
    project.write(
        "posts/odd.md", post("title: Odd\n", "It costs $10 or $20; x^2 ~ y; a [^note] literal.\n")
    )
    checked = project.run()
    (p,) = [p for p in checked.project.posts if p.slug == "odd"]
    markdown = lesswrong.render(checked.document(p))
    rendered = MarkdownIt("commonmark").use(footnote_plugin).render(markdown)
    assert "It costs $10 or $20; x^2 ~ y; a [^note] literal." in rendered


def test_a_second_reference_to_a_note_is_a_plain_superscript_on_substack(project):
    project.write("posts/twice.md", post("title: Twice\n", "One.[^a] Two.[^a]\n\n[^a]: Note.\n"))
    checked = project.run()
    (p,) = [p for p in checked.project.posts if p.slug == "twice"]
    prosemirror = substack.render(checked.document(p))
    assert validate_prosemirror(prosemirror) == []
    nodes = list(_walk(prosemirror))
    assert [n["attrs"]["number"] for n in nodes if n["type"] == "footnoteAnchor"] == [1]
    assert {"type": "text", "text": "1", "marks": [{"type": "superscript"}]} in nodes


def test_draft_body_is_a_json_string():
    (doc,) = [d for d in documents() if d.post.slug == "paris-frameworks-compared"]
    body = substack.draft_request(doc, 42)
    assert isinstance(body["draft_body"], str)
    prosemirror = json.loads(body["draft_body"])
    assert validate_prosemirror(prosemirror) == []
    assert prosemirror["type"] == "doc"
    content = prosemirror["content"]
    # The structure expected from posts/paris-frameworks-compared.md, written out here.
    first = content[0]
    assert first["type"] == "paragraph"
    assert _text(first).startswith("At the Seoul summit in May 2024, sixteen AI developers")
    assert _text(first).endswith(
        "NVIDIA's document turned up about a week after the summit closed."
    )
    assert first["content"][-1] == {"type": "footnoteAnchor", "attrs": {"number": 1}}
    assert [(n["attrs"]["level"], _text(n)) for n in content if n["type"] == "heading"] == [
        (2, "Thresholds"),
        (2, "Evals"),
        (2, "Responses"),
        (2, "Security"),
        (2, "Accountability"),
        (2, "What I'll be watching"),
    ]
    assert [n["attrs"]["number"] for n in content if n["type"] == "footnote"] == list(range(1, 18))
    last = content[-1]
    assert last["type"] == "footnote"
    assert words(_text(last)) == (
        "OpenAI, “Preparedness Framework (Beta)”, 18 December 2023 (archived 18 December 2023)."
    )
    hrefs = [
        m["attrs"]["href"] for n in _walk(last) for m in n.get("marks", []) if m["type"] == "link"
    ]
    assert hrefs == [
        "https://openai.com/safety/preparedness",
        "https://web.archive.org/web/20231218182454/https://openai.com/safety/preparedness",
    ]
    assert body["draft_title"] == "The Paris frameworks, side by side"
    assert body["draft_subtitle"] == (
        "Five questions for the safety frameworks published around the AI Action Summit"
    )
    assert body["draft_bylines"] == [{"id": 42, "is_guest": False}]


OPERATIONS = [
    lwclient.CURRENT_USER,
    lwclient.GET_POST,
    lwclient.GET_COMMENT,
    lwclient.DRAFT_POSTS,
    lwclient.DRAFT_COMMENTS,
    lesswrong.CREATE_POST,
    lesswrong.UPDATE_POST,
    lesswrong.CREATE_QUICK_TAKE,
    lesswrong.UPDATE_QUICK_TAKE,
]


def test_every_graphql_operation_is_valid_against_our_stand_in_schema():
    schema = build_schema(SCHEMA_SDL)
    for operation in OPERATIONS:
        assert validate(schema, parse(operation)) == [], operation


def test_every_graphql_operation_is_valid_against_lesswrongs_schema():
    path = SHARED / "reference" / "lesswrong-schema.graphql"
    if not path.exists():
        pytest.skip("needs ../shared/reference/lesswrong-schema.graphql (CI has it)")
    schema = build_schema(path.read_text())
    for operation in OPERATIONS:
        assert validate(schema, parse(operation)) == [], operation


def _walk(node):
    yield node
    for child in node.get("content", []):
        yield from _walk(child)


def _text(node) -> str:
    return "".join(n.get("text", "") for n in _walk(node) if n["type"] == "text")
