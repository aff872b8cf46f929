"""Whatever a writer types, `check` diagnoses; it never raises."""

from __future__ import annotations

import datetime as dt

import yaml
from conftest import Project
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit import diagnostics as dg
from toolkit import document

MARKDOWN_BITS = st.sampled_from(
    [
        "[^a]",
        "[^a]: note\n",
        "[@openai-prep]",
        "[@x; @y, p. 4]",
        "[@",
        "]",
        "[",
        "(",
        ")",
        "```{claim} openai-prep\n```\n",
        "```{claim}\n```\n",
        "```\n",
        "`",
        "*",
        "_",
        "> ",
        "- ",
        "1. ",
        "# ",
        "\n",
        "\n\n",
        "    ",
        "<b>",
        "https://x.com/a",
        "[t](javascript:x)",
        "[t](https://metr.org/)",
        "![i](data:x)",
        "|a|b|\n|-|-|\n",
        "---\n",
        "\\",
        "é",
        "\t",
    ]
)

body_text = st.lists(st.one_of(MARKDOWN_BITS, st.text(max_size=20)), max_size=30).map("".join)

scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.dates(),
    st.datetimes(),
)
yaml_value = st.recursive(
    scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
keys = st.sampled_from(
    [
        "title",
        "date",
        "kind",
        "status",
        "slug",
        "tags",
        "claims",
        "targets",
        "summary",
        "updated",
        "subtitle",
        "x",
    ]
)
front_matter = st.one_of(
    st.dictionaries(keys, yaml_value, max_size=8).map(
        lambda d: yaml.safe_dump(d, allow_unicode=True)
    ),
    st.text(max_size=80),  # not even YAML
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(fm=front_matter, body=body_text)
def test_any_post_is_diagnosed_never_raised(tmp_path_factory, fm, body):
    project = Project(tmp_path_factory.mktemp("p"))
    project.write("posts/any.md", f"---\n{fm}\n---\n{body}")
    result = project.run(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    for d in result.diagnostics:
        assert d.code in dg.CODES and d.line >= 1 and d.column >= 1
    for p in result.project.posts:  # and every post still resolves into a document
        doc = document.build(p, result.parsed[p.path], result.project)
        assert [n.number for n in doc.notes] == list(range(1, len(doc.notes) + 1))


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(fm=front_matter, body=st.text(max_size=60))
def test_any_snippet_is_diagnosed_never_raised(tmp_path_factory, fm, body):
    project = Project(tmp_path_factory.mktemp("s"))
    project.write("snippets/openai/any.md", f"---\n{fm}\n---\n{body}")
    project.write("archives.yaml", fm)
    result = project.run()
    assert all(d.code in dg.CODES for d in result.diagnostics)
