"""LessWrong's own Markdown (math, `^sup^`, `~sub~`, `>!` spoilers, `+++` sections, `^[notes]`)
through every renderer, each output read back by a parser that is not ours: markdown-it-py
with mdit-py-plugins for LessWrong's Markdown, html5lib for the site, the reference's node
table (`validate_prosemirror`) for Substack."""

from __future__ import annotations

import html5lib
import pytest
from conftest import Project, post
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.subscript import sub_plugin
from mdit_py_plugins.superscript import superscript_plugin
from servers.substack import validate_prosemirror

from toolkit import document, markdown
from toolkit.render import html as htmlrender
from toolkit.render import lesswrong, substack

MATHML = "{http://www.w3.org/1998/Math/MathML}math"
XHTML = "{http://www.w3.org/1999/xhtml}"

BODY = r"""Odds of $p(\text{doom}) > 0.1$ for 2^10^ runs of H~2~O,^[An inline note, with
[a link](https://example.com/x).] and $5 or $10 is money.

$$
\sum_{i=1}^{n} x_i
$$

>! The twist: it was
>! never tested.[^a]

+++ Details of the test
Inside the section: $\alpha$.^[A second inline note.]

- a list item
+++

[^a]: The author's note, with $$E=mc^2$$ in it.
"""


def forum_markdown_parser() -> MarkdownIt:
    """LessWrong's markdown-it set-up as far as mdit-py-plugins has it: footnotes,
    dollar math with its rules, sub/superscript, and `+++ Title` sections read as a
    container with `+` as its marker."""
    return (
        MarkdownIt("commonmark")
        .use(footnote_plugin)
        .use(dollarmath_plugin, allow_space=False, allow_digits=False, double_inline=True)
        .use(sub_plugin)
        .use(superscript_plugin)
        .use(
            container_plugin,
            name="collapsible",
            marker="+",
            validate=lambda params, *args: bool(params.strip()),
        )
    )


@pytest.fixture
def doc(project: Project):
    path = project.write(
        "posts/syntax.md", post("title: Syntax\ntargets: [substack, lesswrong]", BODY)
    )
    checked = project.run()
    loaded = next(p for p in checked.project.posts if p.path.endswith("syntax.md"))
    assert loaded is not None and path.exists()
    return checked.document(loaded)


def inline_tokens(tokens):
    for tok in tokens:
        yield tok
        yield from inline_tokens(tok.children or [])


def test_inline_notes_are_ordinary_notes_in_document_order(doc):
    texts = [" ".join(markdown.plain_text(n.children).split()) for n in doc.notes]
    assert len(texts) == 3
    assert texts[0] == "An inline note, with a link."
    assert texts[1] == "The author's note, with E=mc^2 in it."
    assert texts[2] == "A second inline note."


def test_lesswrong_gets_the_writers_syntax_verbatim(doc):
    out = lesswrong.render(doc)
    tokens = forum_markdown_parser().parse(out)
    flat = list(inline_tokens(tokens))
    maths = [t.content.strip() for t in flat if t.type.startswith("math")]
    assert maths == [r"p(\text{doom}) > 0.1", r"\sum_{i=1}^{n} x_i", r"\alpha", "E=mc^2"]
    assert [t.type for t in flat if t.type in ("sup_open", "sub_open")] == ["sup_open", "sub_open"]
    assert "$5 or $10" not in out and r"\$5 or \$10" in out  # money stays text
    section = [t for t in tokens if t.type == "container_collapsible_open"]
    assert [t.info.strip() for t in section] == ["Details of the test"]
    refs = [t for t in flat if t.type == "footnote_ref"]
    assert [t.meta["id"] for t in refs] == [0, 1, 2]  # three notes, numbered in order
    assert len([t for t in tokens if t.type == "footnote_open"]) == len(doc.notes) == 3
    # The spoiler is LessWrong's `>!` block: every line of it starts so.
    spoiler = [line for line in out.splitlines() if "twist" in line or "never tested" in line]
    assert spoiler and all(line.startswith(">! ") for line in spoiler)
    assert "> !" not in out and "^[" not in out


def test_the_site_shows_mathml_details_and_scripts(doc):
    rendered = htmlrender.render(doc, "https://example.org/").full()
    tree = html5lib.parse(f"<!doctype html><body>{rendered}</body>")
    maths = tree.findall(f".//{MATHML}")
    assert len(maths) == 4
    assert [m.get("display") for m in maths] == ["inline", "block", "inline", "block"]
    details = tree.findall(f".//{XHTML}details")
    summaries = ["".join(d.find(f"{XHTML}summary").itertext()) for d in details]
    assert summaries == ["Spoiler", "Details of the test"]
    assert "".join(tree.find(f".//{XHTML}sup").itertext()) == "10"
    assert "".join(tree.find(f".//{XHTML}sub").itertext()) == "2"
    notes = tree.findall(f".//{XHTML}section/{XHTML}ol/{XHTML}li")
    assert len(notes) == 3
    assert "$" not in "".join(details[1].itertext())  # math, not its TeX


def test_substack_gets_latex_nodes_and_a_readable_spoiler(doc):
    pm = substack.render(doc)
    assert validate_prosemirror(pm) == []
    nodes = list(_walk(pm))
    assert [n["attrs"]["expression"] for n in nodes if n["type"] == "latex"] == [
        r"p(\text{doom}) > 0.1",
        r"\alpha",
        "E=mc^2",
    ]
    assert [n["attrs"]["persistentExpression"] for n in nodes if n["type"] == "latex_block"] == [
        r"\sum_{i=1}^{n} x_i"
    ]
    marks = {m["type"] for n in nodes for m in n.get("marks", [])}
    assert {"superscript", "subscript"} <= marks
    words = " ".join(n["text"] for n in nodes if n["type"] == "text")
    assert "Spoiler" in words and "never tested." in words and "Details of the test" in words
    anchors = [n["attrs"]["number"] for n in nodes if n["type"] == "footnoteAnchor"]
    assert anchors == [1, 2, 3]


def test_malformed_or_hostile_tex_is_shown_as_text_never_as_markup():
    assert htmlrender.mathml(r"\begin{matrix}", False).startswith('<code class="math-tex">')
    hostile = htmlrender.mathml(r"\text{<script>x</script>} \href{javascript:x}{y}", False)
    tree = html5lib.parse(f"<body>{hostile}</body>")
    assert tree.find(f".//{XHTML}script") is None
    assert "javascript" not in hostile
    assert "<script>" in "".join(tree.find(f".//{MATHML}").itertext())


def _walk(node):
    yield node
    for child in node.get("content", []):
        yield from _walk(child)


BITS = st.sampled_from(
    [
        "$x$",
        "$$y$$",
        "$",
        "$$\n",
        "\n$$\nz\n$$\n",
        "^a^",
        "^",
        "~b~",
        "~",
        "^[",
        "^[inline]",
        "^[n [@openai-prep]]",
        "]",
        "[^a]",
        "\n>! ",
        "\n>!\n",
        "\n> ",
        "\n+++ T\n",
        "\n+++\n",
        "+++",
        "\n|a|b|\n|-|-|\n|$1$|^[c]|\n",
        "\n- ",
        "\n\n",
        " ",
        "word",
        "\\",
        "`",
        "*",
        r"\frac{",
        "![i](x.png)",
    ]
)


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,  # the same examples every run: CI's verdict is reproducible
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# Notes inside notes are another change's subject: the one definition comes last.
@given(body=st.lists(BITS, max_size=25).map(lambda bits: "".join(bits) + "\n\n[^a]: def\n"))
def test_any_mix_of_these_constructs_renders_everywhere_without_raising(tmp_path_factory, body):
    project = Project(tmp_path_factory.mktemp("p"))
    project.write("posts/any.md", post("title: Any\ntargets: [substack, lesswrong]", body))
    checked = project.run()
    for p in checked.project.posts:
        doc = document.build(p, checked.parsed[p.path], checked.project)
        rendered = htmlrender.render(doc, "https://example.org/", checked.project).full()
        html5lib.parse(rendered)
        pm = substack.render(doc)
        assert validate_prosemirror(pm) == []
        anchors = [n for n in _walk(pm) if n["type"] == "footnoteAnchor"]
        assert len(anchors) == len([n for n in pm["content"] if n["type"] == "footnote"])
        out = lesswrong.render(doc)
        # A blank first line changes nothing in Markdown, and keeps mdit-py-plugins'
        # dollarmath from looking at the text's LAST character when it asks whether a
        # `$` at position 0 is escaped (its is_escaped reads src[-1]): a body that ends
        # in a backslash made it skip our math there.
        tokens = forum_markdown_parser().parse("\n" + out)
        defined = [t for t in tokens if t.type == "footnote_open"]
        assert len(defined) == len(doc.notes)


def test_inline_notes_parse_to_footnote_tokens():
    parsed = markdown.parse("A^[one [nested] bracket] and^[two].\n")
    refs = [t for t in markdown.walk(parsed.tokens) if t["type"] == "footnote_ref"]
    assert len(refs) == 2 and {d.key for d in parsed.definitions} == {
        r["attrs"]["key"] for r in refs
    }
    assert markdown.plain_text(parsed.definitions[0].children) == "one [nested] bracket"
