"""The bundled example content: real, complete, and clean apart from missing archives."""

from __future__ import annotations

import re

from conftest import REPO

from toolkit import pipeline
from toolkit.markdown import walk

ARCHIVE_WARNINGS = {"S003", "P012"}  # archive links we could not find (never invented)


def test_examples_have_no_errors_and_only_missing_archive_warnings():
    result = pipeline.run(REPO)
    assert [d.format() for d in result.diagnostics if d.severity == "error"] == []
    # One more warning, on purpose: a list of cited points (the writer's own habit) sent
    # to Substack, whose editor is unverified with note anchors inside list items.
    shows = [d for d in result.diagnostics if d.code == "P015"]
    assert [(d.path, "a note reference inside a list item" in d.message) for d in shows] == [
        ("posts/weight-security-notes.md", True)
    ]
    assert {d.code for d in result.diagnostics} - {"P015"} <= ARCHIVE_WARNINGS


def test_examples_cover_what_a_writer_does():
    result = pipeline.run(REPO)
    project = result.project
    assert {
        "anthropic",
        "openai",
        "google-deepmind",
        "meta",
        "xai",
        "microsoft",
        "amazon",
        "nvidia",
    } <= set(project.labs)
    assert len(project.snippets) >= 10
    assert len({s.lab for s in project.snippets.values()}) >= 5

    published = [p for p in project.posts if p.published]
    newsletters = [p for p in published if p.kind == "post"]
    assert len([p for p in published if p.kind == "shortform"]) >= 2
    assert any(not p.published for p in project.posts)

    def richest(post):
        doc = result.document(post)
        cited = {sid for n in doc.notes if n.kind == "citation" for sid in n.snippets}
        claims = [t for t in walk(doc.body) if t["type"] == "claim"]
        footnotes = [n for n in doc.notes if n.kind == "footnote"]
        return len(cited), len(claims), len(footnotes)

    assert any(c >= 5 and q >= 1 and f >= 1 for c, q, f in map(richest, newsletters))


def test_example_archive_links_are_wayback_snapshots():
    """We only used snapshot URLs seen in real material; all of them are Wayback captures."""
    result = pipeline.run(REPO)
    archived = [s for s in result.project.snippets.values() if s.archive]
    # Which snippet files give an archive, read from the files themselves (not the loader).
    with_archive_line = {
        str(path.relative_to(REPO))
        for path in (REPO / "snippets").rglob("*.md")
        if re.search(r"^archive: *\S", path.read_text(encoding="utf-8").split("\n---\n")[0], re.M)
    }
    assert len(archived) == 15, [s.path for s in archived]
    assert {s.path for s in archived} == with_archive_line
    for s in archived:
        assert s.archive.startswith("https://web.archive.org/web/"), s.path
