"""The document: one parse, notes numbered 1..n by first appearance."""

from __future__ import annotations

from conftest import SNIPPET, post

from toolkit.markdown import plain_text, walk


def doc_of(project, body, claims="[openai-prep, xai-thresholds]"):
    project.write(
        "snippets/xai/xai-thresholds.md",
        SNIPPET.replace("lab: openai", "lab: xai").replace(
            "We will run evaluations.", "Thresholds to reduce performance to."
        ),
    )
    project.write(
        "posts/a-post.md",
        post(f"title: T\nstatus: published\ndate: 2025-02-14\nclaims: {claims}\n", body),
    )
    result = project.run()
    (p,) = [p for p in result.project.posts if p.slug == "a-post"]
    return result.document(p), result


def refs(doc):
    return [
        (t["attrs"]["number"], t["attrs"]["occurrence"])
        for t in walk(doc.body)
        if t["type"] == "note_ref"
    ]


def test_footnotes_and_citations_share_one_numbering_by_first_appearance(project):
    doc, _ = doc_of(
        project,
        """\
First.[^b] Then a source.[@xai-thresholds] Again[^b] and another [@openai-prep; @xai-thresholds].

[^a]: Never cited.
[^b]: Author note B.
""",
    )
    assert refs(doc) == [(1, 1), (2, 1), (1, 2), (3, 1)]
    assert [(n.number, n.kind) for n in doc.notes] == [
        (1, "footnote"),
        (2, "citation"),
        (3, "citation"),
    ]
    assert doc.notes[0].label == "b" and doc.notes[0].refs == 2
    assert doc.notes[2].snippets == ("openai-prep", "xai-thresholds")
    assert plain_text(doc.notes[0].children) == "Author note B."


def test_citation_note_names_company_title_date_source_and_archive(project):
    doc, _ = doc_of(project, "A claim [@openai-prep, p. 4].\n")
    note = doc.notes[0]
    assert plain_text(note.children) == (
        "OpenAI, “Preparedness”, 18 December 2023, p. 4 (archived 3 June 2024)."
    )
    links = [t["attrs"] for t in walk(note.children) if t["type"] == "link"]
    assert links[0]["url"] == "https://openai.com/preparedness/"
    assert links[0]["archive"].startswith("https://web.archive.org/web/20240603125126/")
    assert links[1]["role"] == "archive" and links[1]["archive_date"] == "2024-06-03T12:51:26Z"


def test_claim_directive_becomes_an_attributed_quote_with_its_own_note(project):
    doc, _ = doc_of(project, "Intro.[^n]\n\n```{claim} xai-thresholds\n```\n\n[^n]: Note.\n")
    (claim,) = [t for t in doc.body if t["type"] == "claim"]
    assert plain_text(claim["children"]) == "Thresholds to reduce performance to."
    assert claim["attrs"]["number"] == 2
    assert plain_text(claim["attrs"]["attribution"]) == "— xAI, “Preparedness”"
    assert doc.notes[1].snippets == ("xai-thresholds",)


def test_citation_inside_a_footnote_is_written_inline_not_nested(project):
    body = "Text.[^n] Then [@openai-prep].\n\n[^n]: As xAI says [@xai-thresholds].\n"
    doc, _ = doc_of(project, body)
    assert len(doc.notes) == 2
    assert "xAI, “Preparedness”" in plain_text(doc.notes[0].children)
    assert doc.notes[1].kind == "citation"


def test_claims_lists_cited_first_then_listed_only(project):
    doc, _ = doc_of(project, "Only xAI here [@xai-thresholds].\n")
    assert doc.claims == ["xai-thresholds", "openai-prep"]


def test_plain_link_with_archive_entry_carries_the_copy(project):
    project.write(
        "archives.yaml",
        "https://metr.org/rsp-key-components/:\n"
        "  archive: https://web.archive.org/web/20250101000000/https://metr.org/rsp-key-components/\n",
    )
    doc, result = doc_of(project, "See [METR](https://metr.org/rsp-key-components).\n")
    assert result.diagnostics == []
    links = [t["attrs"] for t in walk(doc.body) if t["type"] == "link"]
    assert links[0]["archive"].endswith("/https://metr.org/rsp-key-components/")
    assert links[1]["role"] == "archive"


def test_parsing_a_post_twice_gives_equal_documents(project):
    first, result = doc_of(project, "A [@openai-prep] b.[^x]\n\n[^x]: y\n")
    post_ = first.post
    second = result.document(post_)
    assert first.body == second.body and first.notes == second.notes


def test_note_numbers_sit_after_the_word_and_its_punctuation(project):
    body = "Meta starts from harms [@openai-prep], so it is. End [@xai-thresholds].\n"
    doc, _ = doc_of(project, body)
    assert plain_text(doc.body) == "Meta starts from harms, so it is. End."
    kinds = [t["type"] for t in doc.body[0]["children"]]
    assert kinds == ["text", "text", "note_ref", "text", "text", "note_ref"]
    assert doc.body[0]["children"][1]["raw"] == ","


def test_citations_may_wrap_across_source_lines(project):
    body = "One claim\n[@openai-prep], and two [@openai-prep;\n@xai-thresholds].\n"
    doc, result = doc_of(project, body)
    assert [d.format() for d in result.diagnostics] == []
    assert plain_text(doc.body) == "One claim, and two."
    assert [n.snippets for n in doc.notes] == [("openai-prep",), ("openai-prep", "xai-thresholds")]
