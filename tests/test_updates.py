"""`updates:` at the top of a post, on every target, never renumbering a note."""

from __future__ import annotations

import html5lib
from conftest import SNIPPET, post
from markdown_it import MarkdownIt
from mdit_py_plugins.footnote import footnote_plugin
from servers.substack import validate_prosemirror

from toolkit.render import html as htmlrender
from toolkit.render import lesswrong, substack

XHTML = "{http://www.w3.org/1999/xhtml}"
BODY = "First claim [@openai-prep]. An aside.[^a] Again [@openai-prep, p. 2].\n\n[^a]: Aside.\n"
UPDATE = (
    "updates:\n"
    "  - date: 2025-03-01\n"
    "    text: |\n"
    "      OpenAI moved the page [@openai-prep].[^u]\n\n"
    "      [^u]: The old one [redirects](https://www.lesswrong.com/x).\n"
)


def document(project, extra: str = ""):
    front = f"title: T\nstatus: published\ndate: 2025-02-14\nclaims: [openai-prep]\n{extra}"
    project.write("posts/p.md", post(front, BODY))
    checked = project.run()
    assert [d.format() for d in checked.diagnostics if d.path == "posts/p.md"] == []
    (p,) = [p for p in checked.project.posts if p.slug == "p"]
    return checked.document(p), checked


def site(doc, checked):
    page = html5lib.parse(htmlrender.render(doc, "https://example.org/", checked.project).full())
    notes = [
        (li.get("value"), li.get("class"))
        for li in page.findall(f".//{XHTML}section/{XHTML}ol/{XHTML}li")
    ]
    return page, notes


def lesswrong_refs(doc) -> list[str]:
    html = MarkdownIt("commonmark").use(footnote_plugin).render(lesswrong.render(doc))
    tree = html5lib.parse(html)
    return [
        "".join(sup.itertext())
        for sup in tree.iter(f"{XHTML}sup")
        if sup.get("class") == "footnote-ref"
    ]


def anchors(prosemirror) -> list[int]:
    def walk(node):
        yield node
        for child in node.get("content", []):
            yield from walk(child)

    return [n["attrs"]["number"] for n in walk(prosemirror) if n["type"] == "footnoteAnchor"]


def test_an_update_renumbers_no_note_on_any_target(project):
    before, checked = document(project)
    after, checked_after = document(project, UPDATE)
    body_notes = [(n.number, n.kind, n.children) for n in before.notes]
    assert [(n.number, n.kind, n.children) for n in after.notes][:3] == body_notes
    assert [(n.number, n.section) for n in after.notes[3:]] == [(4, "update"), (5, "update")]

    _, site_before = site(before, checked)
    page, site_after = site(after, checked_after)
    assert site_after[:3] == site_before and [v for v, _ in site_after] == list("12345")
    aside = page.find(f".//{XHTML}aside")
    assert aside.get("class") == "updates"
    assert "".join(aside.itertext()).strip().replace("\u2060", "") == (
        "Update, 1 March 2025: OpenAI moved the page.45"
    )

    # markdown-it numbers by first reference: the update's references are not footnotes
    # there, or they would take number 1.
    assert lesswrong_refs(after) == lesswrong_refs(before) == ["[1]", "[2]", "[3]"]
    markdown = lesswrong.render(after)
    assert markdown.startswith("> **Update, 1 March 2025:** OpenAI moved the page.\\[4\\]\\[5\\]")
    assert "> \\[5\\] The old one [redirects](https://www.lesswrong.com/x)." in markdown

    prosemirror = substack.render(after)
    assert validate_prosemirror(prosemirror) == []
    assert anchors(prosemirror) == anchors(substack.render(before)) == [1, 2, 3]
    top = prosemirror["content"][0]
    assert top["type"] == "blockquote"
    texts = ["".join(n.get("text", "") for n in p["content"]) for p in top["content"]]
    assert texts[0] == "Update, 1 March 2025: OpenAI moved the page.45"
    assert texts[2] == "5 The old one redirects."


def test_a_second_update_keeps_the_first_updates_numbers(project):
    one, _ = document(project, UPDATE)
    two_updates = UPDATE + "  - date: 2025-04-01\n    text: Later [@openai-prep, p. 9].\n"
    two, _ = document(project, two_updates)
    assert [n.children for n in two.notes][:5] == [n.children for n in one.notes]
    assert [u.date.isoformat() for u in two.updates] == ["2025-03-01", "2025-04-01"]


def test_a_bad_update_is_reported_at_its_line(project):
    front = "title: T\nupdates:\n  - {date: soon, text: x}\n  - text: 'Cites [@nope].'\n"
    project.write("posts/p.md", post(front, "Body.\n"))
    found = [(d.code, d.line) for d in project.diagnostics() if d.path == "posts/p.md"]
    assert ("F007", 4) in found and ("F005", 5) in found


def test_an_unknown_snippet_in_an_update_is_reported_at_its_line(project):
    project.write("snippets/openai/openai-prep.md", SNIPPET)
    front = "title: T\nupdates:\n  - date: 2025-03-01\n    text: 'Cites [@nope].'\n"
    project.write("posts/p.md", post(front, "Body.\n"))
    found = [(d.code, d.line) for d in project.diagnostics() if d.path == "posts/p.md"]
    assert found == [("P003", 5)]


def test_a_posts_body_and_updates_are_each_parsed_once_per_build(project, monkeypatch):
    """The checks (citations, images, targets) and the renderers share one parse of each
    update, made with the body's."""
    from toolkit import build, markdown

    second = UPDATE + "  - date: 2025-04-01\n    text: And again ![a chart](chart.png).\n"
    project.write(
        "posts/p.md",
        post(
            f"title: T\nstatus: published\ndate: 2025-02-14\ntargets: [lesswrong]\n{second}", BODY
        ),
    )
    parsed: list[str] = []
    real = markdown._parse
    monkeypatch.setattr(markdown, "_parse", lambda text: parsed.append(text) or real(text))
    build.build(project.root, use_cache=False)
    post_texts = [t for t in parsed if "OpenAI moved the page" in t or "And again" in t]
    assert len(post_texts) == 2, post_texts  # each update once
    assert len([t for t in parsed if t.startswith("First claim")]) == 1
