"""Tags that differ only in case are one tag; no two outputs ever claim one path (15.8)."""

from __future__ import annotations

import feedparser
import html5lib
import pytest
from conftest import NOW, post

from toolkit import build as buildlib
from toolkit.output import Entry


def _posts(project) -> None:
    for name, tags in [("one", "[AI, evals]"), ("two", "[ai]"), ("three", "[AI]")]:
        project.write(
            f"posts/{name}.md",
            post(
                f"title: Post {name}\nstatus: published\ndate: 2025-02-1{len(name)}\n"
                f"tags: {tags}\n",
                f"Body of {name}.\n",
            ),
        )


def test_one_tag_spelled_two_ways_is_one_page_and_one_feed_with_a_warning(project):
    _posts(project)
    report = buildlib.build(project.root, at=NOW)
    assert report.ok
    warned = [d for d in report.diagnostics if d.code == "P016"]
    assert [(d.path, d.line) for d in warned] == [("posts/two.md", 5)]
    assert "`ai` is spelled `AI` elsewhere" in warned[0].message

    site = project.root / "site"
    assert sorted(p.name for p in (site / "tags").iterdir()) == ["ai", "evals", "index.html"]
    page = html5lib.parse((site / "tags/ai/index.html").read_bytes(), namespaceHTMLElements=False)
    titles = {"".join(a.itertext()) for a in page.iter("a")}
    assert {"Post one", "Post two", "Post three"} <= titles
    assert "AI" in "".join(page.find(".//h1").itertext())

    feeds = sorted(p.name for p in (project.root / "feeds/tags").iterdir())
    assert feeds == ["ai.xml", "evals.xml"]
    feed = feedparser.parse((project.root / "feeds/tags/ai.xml").read_bytes())
    assert not feed.bozo
    assert sorted(e.title for e in feed.entries) == ["Post one", "Post three", "Post two"]


def test_the_writer_refuses_two_outputs_for_one_path():
    files: dict[str, Entry] = {}
    owners: dict[str, str] = {}
    buildlib._claim(files, owners, {"tags/ai/index.html": Entry.of(b"1")}, "the tag:AI page")
    with pytest.raises(buildlib.PathClash) as e:
        buildlib._claim(files, owners, {"tags/ai/index.html": Entry.of(b"2")}, "the tag:ai page")
    assert "by the tag:AI page and by the tag:ai page" in str(e.value)
    assert files["tags/ai/index.html"].data == b"1"
