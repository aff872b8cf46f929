"""A quick take has no title: the site and feeds show its opening words, LessWrong gets
none (quick takes never had one), Substack gets the opening words as its title."""

from __future__ import annotations

import feedparser
import html5lib
from conftest import post

from toolkit.build import build
from toolkit.content import opening_words
from toolkit.render import lesswrong, substack

XHTML = "{http://www.w3.org/1999/xhtml}"
BODY = (
    "Quick take: *nobody* reads the [audit](https://www.lesswrong.com/a) report, and the board "
    "meets once a year.[^1]\n\n[^1]: A note.\n"
)
TITLE = "Quick take: nobody reads the audit report, and the board…"


def test_opening_words_are_plain_text_cut_at_a_word():
    assert opening_words(BODY) == TITLE
    assert opening_words("\n\nShort one [@x].\n\nSecond paragraph.\n") == "Short one."
    assert opening_words("- a list item\n- another\n") == "a list item another"


def test_a_shortform_without_title_is_clean_and_titled_by_its_opening_words(project):
    front = "kind: shortform\nstatus: published\ndate: 2025-02-14\ntargets: [substack, lesswrong]\n"
    project.write("posts/take.md", post(front, BODY))
    checked = project.run()
    assert [d for d in checked.diagnostics if d.path == "posts/take.md"] == []
    (p,) = [p for p in checked.project.posts if p.slug == "take"]
    doc = checked.document(p)

    assert substack.draft_request(doc, None)["draft_title"] == TITLE
    request = lesswrong.request(doc)
    assert request["operationName"] == "CreateQuickTake"
    assert "title" not in request["variables"]["data"]


def test_the_site_and_the_feeds_show_the_opening_words(project):
    front = "kind: shortform\nstatus: published\ndate: 2025-02-14\n"
    project.write("posts/take.md", post(front, BODY))
    result = build(project.root)
    assert result.ok, [d.format() for d in result.diagnostics]
    page = html5lib.parse((project.root / "site/shortform/take/index.html").read_bytes())
    assert "".join(page.find(f".//{XHTML}h1").itertext()) == TITLE
    for name in ("atom.xml", "rss.xml", "shortform.xml"):
        feed = feedparser.parse((project.root / "feeds" / name).read_bytes())
        assert [e.title for e in feed.entries if "take" in e.link] == [TITLE], name


def test_a_post_without_title_is_an_error_at_its_front_matter(project):
    project.write("posts/untitled.md", post("status: draft\n", "Body.\n"))
    found = [(d.code, d.line) for d in project.diagnostics() if d.path == "posts/untitled.md"]
    assert found == [("F005", 2)]
